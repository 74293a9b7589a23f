"""Blink and compare: two images of the selected patch side by side with linked pan and zoom, or
blinked at a chosen rate: two bands of the coadd, or a band of the coadd and a visit image (one
detector of a visit overlapping the patch) aligned through their WCSs.

Both plots render on the server at screen size over the same ranges (HoloViews shares the axes
of the two ``hv.RGB`` DynamicMaps, so panning or zooming one moves the other), with the page's
stretch and colour map. The visit is resampled onto the coadd's pixel grid
(:mod:`explorer.render.resample`: each displayed cell's centre goes coadd pixel -> sky -> visit
pixel), so both plots share coordinates and a star sits at the same place in both. Blinking shows
A and B in turn in the first plot (a periodic callback of the session flips which), B staying
beside it.
"""
from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from ...render.exposure import render_exposure
from ...render.resample import render_aligned
from ...views.image import empty_image, frame_element
from .patch_panel import PatchPanel
from ..figures import figure_pane


VISIT_OPTIONS = 200  # at most this many overlapping visits offered (cost follows the screen)
B_KINDS = {"a band of the coadd": "band", "a visit (aligned)": "visit"}


class ComparePanel(PatchPanel):
    """Band A beside band B of the selected patch, or beside a visit image aligned through the
    WCSs (linked pan and zoom), or blinked."""

    title = "Blink and compare"
    plot_name = "the comparison"
    no_patch_text, no_patch_css = "no coadd patch with bands to compare", "compare-empty"
    band_a = param.Selector(default=None, objects=[], allow_None=True)
    band_b = param.Selector(default=None, objects=[], allow_None=True)
    b_kind = param.Selector(default="band", objects=B_KINDS, doc="What B shows: a band, or a visit")
    visit = param.Selector(default=None, objects=[], allow_None=True,
                           doc="The visit shown as B (one overlapping the patch)")
    detector = param.Selector(default=None, objects=[], allow_None=True,
                              doc="The visit's detector shown as B (one overlapping the patch)")
    blink = param.Boolean(default=False, doc="Blink A and B in one plot")
    rate = param.Number(default=1.0, bounds=(0.2, 5.0), step=0.1, doc="Blinks per second")
    showing_b = param.Boolean(default=False, doc="While blinking: the first plot shows band B")

    def __init__(self, **params):
        super().__init__(**params)
        self._memo: dict = {}
        self._callback = None
        self._overlap: dict[int, list[int]] = {}
        self.subscribe(self._on_selection, ["tract", "patch", "repo_root", "collection"])
        self._band_b_widget = pn.widgets.Select.from_param(self.param.band_b, name="band B", width=90,
                                                           css_classes=["w-cmp-b"])
        self._visit_widgets = pn.Row(
            pn.widgets.Select.from_param(self.param.visit, name="visit", width=200, css_classes=["w-cmp-visit"]),
            pn.widgets.Select.from_param(self.param.detector, name="detector", width=100,
                                         css_classes=["w-cmp-detector"]))
        self._on_b_kind()
        widgets = pn.Column(
            pn.Row(pn.widgets.Select.from_param(self.param.band_a, name="band A", width=90, css_classes=["w-cmp-a"]),
                   pn.widgets.Select.from_param(self.param.b_kind, name="B shows", width=200,  # longest option whole
                                                css_classes=["w-cmp-kind"]),
                   self._band_b_widget),
            self._visit_widgets,
            pn.Row(pn.widgets.Checkbox.from_param(self.param.blink, name="blink", css_classes=["w-cmp-blink"]),
                   pn.widgets.FloatSlider.from_param(self.param.rate, name="blinks per second", width=180,
                                                     css_classes=["w-cmp-rate"])))
        self.plot_pane = pn.param.ParamMethod(self.view, loading_indicator=True, sizing_mode="stretch_width")
        self._layout = pn.Column(widgets, self.plot_pane, sizing_mode="stretch_width")

    # ----- data ----------------------------------------------------------------------------------
    def exposure(self, band: str | None):
        st = self.state
        idx = st.index
        if idx is None or band is None:
            return None
        key = (st.repo_root, st.collection, st.tract, st.patch, band)
        if key not in self._memo:
            if len(self._memo) >= 4:
                self._memo.pop(next(iter(self._memo)))
            data_id = idx.coadd_id(st.tract, st.patch, band)
            self._memo[key] = None if data_id is None else st.repo.get_exposure(
                idx.coadd_type, data_id, collections=st.collection or None)
        return self._memo[key]

    def visit_exposure(self, visit: int | None, detector: int | None):
        """The calexp (visit image) of one detector of a visit, or None."""
        st = self.state
        idx = st.index
        if idx is None or visit is None or detector is None or not idx.calexp_type:
            return None
        key = (st.repo_root, st.collection, "visit", int(visit), int(detector))
        if key not in self._memo:
            if len(self._memo) >= 4:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = st.repo.get_exposure(idx.calexp_type, {"visit": int(visit), "detector": int(detector)},
                                                   collections=st.collection or None)
        return self._memo[key]

    def _update_visits(self) -> None:
        """The visits overlapping the patch (band A's first), each with its overlapping detectors."""
        st = self.state
        overlap = self.safe("the visits overlapping the patch", lambda: st.index.overlapping(st.tract, st.patch)
                            if st.index is not None and st.tract is not None and st.patch is not None else {},
                            lambda _m: {}, report=False)
        self._overlap = {int(v): list(d) for v, d in overlap.items()}
        visits = sorted(self._overlap)

        def bands():  # known from the overlap query (remembered per visit by the index)
            return {v: st.index.band_of_visit(v) for v in visits[:VISIT_OPTIONS]}

        band_of = self.safe("the bands of the visits", bands, lambda _m: {}, report=False)
        ordered = sorted(visits[:VISIT_OPTIONS], key=lambda v: (band_of.get(v) != self.band_a, v))
        options = {}
        for v in ordered:
            n = len(self._overlap[v])
            label = f"{v}" + (f" ({band_of[v]})" if band_of.get(v) else "") + f": {n} detector{'s' if n != 1 else ''}"
            options[label] = v
        old = self.visit
        visit = old if old in options.values() else (ordered[0] if ordered else None)
        self.param.visit.objects = options
        self.visit = visit
        if visit == old:  # (a new visit updates its detectors through _on_visit)
            self._update_detectors(keep=True)

    @param.depends("b_kind", watch=True)
    def _on_b_kind(self) -> None:
        """Show the choices of what B shows: a band, or a visit and detector."""
        self._band_b_widget.visible = self.b_kind == "band"
        self._visit_widgets.visible = self.b_kind == "visit"

    @param.depends("visit", watch=True)
    def _on_visit(self) -> None:
        self._update_detectors(keep=False)

    def _update_detectors(self, keep: bool = True) -> None:
        dets = self._overlap.get(self.visit, []) if self.visit is not None else []
        detector = self.detector if keep and self.detector in dets else self._central_detector(self.visit, dets)
        self.param.detector.objects = dets
        self.detector = detector

    def _central_detector(self, visit, dets: list[int]):
        """Of a visit's detectors overlapping the patch, the one whose footprint centre is nearest
        the patch's centre (the registry's regions; the first one when they are unknown)."""
        if not dets:
            return None
        st = self.state
        ref = self.safe("the compared patch", lambda: self.exposure(self.band_a), lambda _m: None, report=False)
        centre = ref.info.center_sky() if ref is not None and ref.info.has_sky else None
        fps = self.safe("the visit's footprints", lambda: st.index.visit_footprints(visit), lambda _m: {}, report=False)
        if centre is None or not fps:
            return dets[0]
        import numpy as np

        def distance(d):
            if d not in fps:
                return np.inf
            ra, dec = np.radians(np.asarray(fps[d], float).mean(axis=0))
            ra0, dec0 = np.radians(centre)
            return -(np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0))

        return min(dets, key=distance)

    def _on_selection(self, *_events) -> None:
        st = self.state
        bands = self.safe("the bands of the patch", lambda: list(st.index.bands_of_patch(st.tract, st.patch))
                          if st.index is not None else [], lambda _m: [])
        a = self.band_a if self.band_a in bands else (st.band if st.band in bands else (bands[0] if bands else None))
        b = self.band_b if self.band_b in bands and self.band_b != a else next((x for x in bands if x != a), a)
        self.param.band_a.objects = bands
        self.param.band_b.objects = bands
        self.param.update(band_a=a, band_b=b)
        ref = self.safe("the compared patch", lambda: self.exposure(a), lambda _m: None, report=False)
        shape = (tuple(ref.info.shape), tuple(ref.info.xy0)) if ref is not None else None
        self._update_visits()
        self.patch_key = (st.repo_root, st.tract, st.patch, shape)

    # ----- blinking --------------------------------------------------------------------------------
    @param.depends("blink", "rate", "active", watch=True)
    def _on_blink(self) -> None:
        """Start the blink timer while blinking and the card is open; stop it otherwise (a timer
        left running in a closed card would cost the server CPU for nothing, session after session)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.showing_b = False
        if self.blink and self.active:
            self._callback = pn.state.add_periodic_callback(self._flip, period=int(1000 / max(self.rate, 0.2)))

    def _flip(self) -> None:
        self.showing_b = not self.showing_b

    # ----- the plots -------------------------------------------------------------------------------
    def plot(self, fx, fy, bounds):
        st = self.state

        def frame(which, x_range=None, y_range=None, width=None, height=None, **_kw):
            show_b = which == "b" or (self.blink and self.showing_b)
            if show_b and self.b_kind == "visit":
                return visit_frame(x_range, y_range, width, height)
            band = self.band_b if show_b else self.band_a

            def render():
                exposure = self.exposure(band)
                if exposure is None:
                    return None
                return render_exposure(exposure, "image", st.stretch, st.cmap, [], 0.0, int(width or 500),
                                       int(height or 500), x_range, y_range)

            f = self.safe(f"band {band} of the comparison", render, lambda _m: None)
            if f is None:
                return empty_image(f"no band {band}", bounds=bounds)
            return frame_element(f, title=f"band {band}")

        def visit_frame(x_range, y_range, width, height):
            visit, detector = self.visit, self.detector
            what = f"visit {visit} detector {detector}"

            def render():
                coadd = self.exposure(self.band_a)
                exposure = self.visit_exposure(visit, detector)
                if coadd is None or exposure is None:
                    return None
                return render_aligned(exposure, coadd.info, st.stretch, st.cmap, int(width or 500),
                                      int(height or 500), x_range, y_range)

            f = self.safe(f"{what} of the comparison", render, lambda _m: None)
            if f is None:
                return empty_image(f"no {what}" if visit is not None else "no visit overlaps the patch",
                                   bounds=bounds)
            return frame_element(f, title=f"{what} (on the coadd's grid)")

        params = hv.streams.Params(self, ["band_a", "band_b", "showing_b", "blink", "b_kind", "visit", "detector"])
        display = hv.streams.Params(st, ["stretch", "cmap"])
        maps = []
        for which in ("a", "b"):
            rng = hv.streams.RangeXY(x_range=fx, y_range=fy)
            size = hv.streams.PlotSize(width=500, height=500)
            maps.append(hv.DynamicMap(self._callback_for(frame, which), streams=[rng, size, params, display]))
        # small enough for both to fit side by side in the card; both alike, so a parent pixel
        # sits at the same place in each frame
        # (four x ticks: in a notebook's output each plot is about 200 px wide, and the default six
        # five-digit pixel labels ran into each other)
        opts = hv.opts.RGB(data_aspect=1, responsive=True, min_height=220, max_height=520, xlim=fx, ylim=fy,
                           active_tools=["wheel_zoom", "pan"], toolbar="above", ylabel="y (parent pixels)", xticks=4)
        a = maps[0].opts(opts, hv.opts.RGB(xlabel="x (parent pixels) [A]"))
        b = maps[1].opts(opts, hv.opts.RGB(xlabel="x (parent pixels) [B]"))
        # one layout: the two plots share their ranges (linked pan and zoom)
        return figure_pane((a + b).opts(shared_axes=True), sizing_mode="stretch_width", min_height=220,
                           css_classes=["compare-plot"])

    @staticmethod
    def _callback_for(frame, which: str):
        def callback(**kw):
            return frame(which, **kw)

        return callback

    def __panel__(self):
        return self._layout
