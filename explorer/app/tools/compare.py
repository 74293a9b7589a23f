"""Blink and compare: two bands of the selected patch side by side with linked pan and zoom, or
blinked at a chosen rate.

Both plots render on the server at screen size over the same ranges (HoloViews shares the axes
of the two ``hv.RGB`` DynamicMaps, so panning or zooming one moves the other), with the page's
stretch and colour map. Blinking shows band A and band B in turn in the first plot (a periodic
callback of the session flips which), band B staying beside it.
"""
from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from ...render.exposure import render_exposure
from ...render.raster import full_range
from ...views.image import empty_image, frame_element
from ..base import Panel
from ..style import message_html


class ComparePanel(Panel):
    """Band A beside band B of the selected patch (linked pan and zoom), or blinked."""

    title = "Blink and compare"
    band_a = param.Selector(default=None, objects=[], allow_None=True)
    band_b = param.Selector(default=None, objects=[], allow_None=True)
    blink = param.Boolean(default=False, doc="Blink A and B in one plot")
    rate = param.Number(default=1.0, bounds=(0.2, 5.0), step=0.1, doc="Blinks per second")
    showing_b = param.Boolean(default=False, doc="While blinking: the first plot shows band B")
    patch_key = param.Parameter(default=None)

    def __init__(self, **params):
        super().__init__(**params)
        self._memo: dict = {}
        self._callback = None
        self.subscribe(self._on_selection, ["tract", "patch", "repo_root", "collection"])
        widgets = pn.Row(
            pn.widgets.Select.from_param(self.param.band_a, name="band A", width=90, css_classes=["w-cmp-a"]),
            pn.widgets.Select.from_param(self.param.band_b, name="band B", width=90, css_classes=["w-cmp-b"]),
            pn.widgets.Checkbox.from_param(self.param.blink, name="blink", css_classes=["w-cmp-blink"]),
            pn.widgets.FloatSlider.from_param(self.param.rate, name="blinks per second", width=180,
                                              css_classes=["w-cmp-rate"]))
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
        self.patch_key = (st.repo_root, st.tract, st.patch, shape)

    # ----- blinking --------------------------------------------------------------------------------
    @param.depends("blink", "rate", watch=True)
    def _on_blink(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.showing_b = False
        if self.blink:
            self._callback = pn.state.add_periodic_callback(self._flip, period=int(1000 / max(self.rate, 0.2)))

    def _flip(self) -> None:
        self.showing_b = not self.showing_b

    # ----- the plots -------------------------------------------------------------------------------
    @param.depends("patch_key")
    def view(self):
        return self.guard("the comparison", self._build, height=200)

    def _build(self):
        key = self.patch_key
        if key is None or key[3] is None:
            return pn.pane.HTML(message_html("no coadd patch with bands to compare", "compare-empty", "#777", 120),
                                sizing_mode="stretch_width", height=120)
        shape, xy0 = key[3]
        fx, fy = full_range(shape, xy0)
        bounds = (fx[0], fy[0], fx[1], fy[1])
        st = self.state

        def frame(which, x_range=None, y_range=None, width=None, height=None, **_kw):
            band = self.band_b if (which == "b" or (self.blink and self.showing_b)) else self.band_a

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

        params = hv.streams.Params(self, ["band_a", "band_b", "showing_b", "blink"])
        display = hv.streams.Params(st, ["stretch", "cmap"])
        maps = []
        for which in ("a", "b"):
            rng = hv.streams.RangeXY(x_range=fx, y_range=fy)
            size = hv.streams.PlotSize(width=500, height=500)
            maps.append(hv.DynamicMap(self._callback_for(frame, which), streams=[rng, size, params, display]))
        opts = hv.opts.RGB(data_aspect=1, responsive=True, min_height=380, max_height=520, xlim=fx, ylim=fy,
                           active_tools=["wheel_zoom", "pan"], toolbar="above", ylabel="y (parent pixels)")
        a = maps[0].opts(opts, hv.opts.RGB(xlabel="x (parent pixels) [A]"))
        b = maps[1].opts(opts, hv.opts.RGB(xlabel="x (parent pixels) [B]"))
        # one layout: the two plots share their ranges (linked pan and zoom)
        return pn.pane.HoloViews((a + b).opts(shared_axes=True), sizing_mode="stretch_width", min_height=380,
                                 css_classes=["compare-plot"])

    @staticmethod
    def _callback_for(frame, which: str):
        def callback(**kw):
            return frame(which, **kw)

        return callback

    def __panel__(self):
        return self._layout
