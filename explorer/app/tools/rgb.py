"""RGB composite of three bands of the selected coadd patch (Lupton et al. 2004 asinh).

Three band selectors (red, green, blue; defaults i, r, g when the patch has them, else its three
reddest bands), the asinh ``stretch`` and ``Q``; the composite is rasterized on the server at the
plot's size over the plot's ranges by :func:`explorer.render.rgb.render_rgb` (from the same binned
pyramid as the single-band view), so zooming costs what is on screen.
"""
from __future__ import annotations

from collections import OrderedDict

import holoviews as hv
import panel as pn
import param

from ...bands import sorted_bands
from ...views.image import empty_image
from ...views.rgb import rgb_element
from .patch_panel import PatchPanel
from ..figures import figure_pane
from ..hooks import weak_hook

EXPOSURE_MEMO = 6  # exposures kept open (their pixels live in the repository's byte-bounded cache)


def default_bands(bands: list[str]) -> list[str]:
    """Red, green, blue: i, r, g when present, else the three reddest (fewer: repeated)."""
    if all(b in bands for b in ("i", "r", "g")):
        return ["i", "r", "g"]
    ordered = sorted_bands(bands)[::-1]  # reddest first
    if not ordered:
        return [None, None, None]
    return [ordered[min(k, len(ordered) - 1)] for k in range(3)]


class RGBPanel(PatchPanel):
    """The colour composite of the current patch."""

    title = "RGB composite"
    plot_name = "the RGB composite"
    no_patch_text, no_patch_css = "no coadd patch with bands to combine", "rgb-empty"
    red = param.Selector(default=None, objects=[], allow_None=True)
    green = param.Selector(default=None, objects=[], allow_None=True)
    blue = param.Selector(default=None, objects=[], allow_None=True)
    stretch = param.Number(default=5.0, bounds=(0.01, 100.0), softbounds=(0.1, 50.0), step=0.1,
                           doc="Linear stretch of the asinh (Lupton's 'stretch')")
    Q = param.Number(default=8.0, bounds=(0.0, 100.0), softbounds=(0.0, 30.0), step=0.5,
                     doc="Asinh softening (Lupton's 'Q')")

    def __init__(self, **params):
        super().__init__(**params)
        self._memo: OrderedDict = OrderedDict()
        self.figure = None
        widgets = {}
        for name in ("red", "green", "blue"):
            widgets[name] = pn.widgets.Select.from_param(self.param[name], name=f"{name} band", width=100,
                                                         css_classes=[f"w-rgb-{name}"])
        widgets["stretch"] = pn.widgets.FloatSlider.from_param(self.param.stretch, width=180,
                                                               css_classes=["w-rgb-stretch"])
        widgets["Q"] = pn.widgets.FloatSlider.from_param(self.param.Q, width=180, css_classes=["w-rgb-q"])
        self.subscribe(self._on_selection, ["tract", "patch", "repo_root", "collection"])
        self.plot_pane = pn.param.ParamMethod(self.view, loading_indicator=True, sizing_mode="stretch_width")
        # (a FlexBox wraps: in a notebook's output one row of the five ran past the card's edge)
        self._layout = pn.Column(pn.FlexBox(*widgets.values()), self.plot_pane, sizing_mode="stretch_width")

    # ----- data ----------------------------------------------------------------------------------
    def bands(self) -> list[str]:
        st = self.state
        if st.index is None:
            return []
        return list(st.index.bands_of_patch(st.tract, st.patch))

    def exposure(self, band: str | None):
        """The coadd of the selected patch in ``band`` (memoised for a few bands)."""
        st = self.state
        idx = st.index
        if idx is None or band is None:
            return None
        key = (st.repo_root, st.collection, st.tract, st.patch, band)
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        data_id = idx.coadd_id(st.tract, st.patch, band)
        if data_id is None:
            return None
        exposure = st.repo.get_exposure(idx.coadd_type, data_id, collections=st.collection or None)
        self._memo[key] = exposure
        while len(self._memo) > EXPOSURE_MEMO:
            self._memo.popitem(last=False)
        return exposure

    def _on_selection(self, *_events) -> None:
        bands = self.safe("the bands of the patch", self.bands, lambda _m: [])
        chosen = [b if b in bands else d for b, d in zip((self.red, self.green, self.blue), default_bands(bands))]
        for name in ("red", "green", "blue"):
            self.param[name].objects = bands
        self.param.update(red=chosen[0], green=chosen[1], blue=chosen[2])
        ref = self.safe("the RGB patch", lambda: self.exposure(chosen[0]), lambda _m: None, report=False)
        shape = (tuple(ref.info.shape), tuple(ref.info.xy0)) if ref is not None else None
        self.patch_key = (self.state.repo_root, self.state.tract, self.state.patch, shape)

    def render(self, x_range=None, y_range=None, width: int = 600, height: int = 600):
        """The composite over the ranges (parent pixels) at ``width`` x ``height`` cells at most."""
        from ...render.rgb import render_rgb

        bands = (self.red, self.green, self.blue)
        exposures = [self.exposure(b) for b in bands]
        if any(e is None for e in exposures):
            return None
        return render_rgb(exposures, bands, x_range, y_range, width, height, stretch=self.stretch, Q=self.Q)

    # ----- the plot ------------------------------------------------------------------------------
    def plot(self, fx, fy, bounds):
        rng = hv.streams.RangeXY(x_range=fx, y_range=fy)
        size = hv.streams.PlotSize(width=600, height=600)
        params = hv.streams.Params(self, ["red", "green", "blue", "stretch", "Q"])

        def frame(x_range=None, y_range=None, width=None, height=None, **_kw):
            f = self.safe("the RGB composite", lambda: self.render(x_range, y_range, int(width or 600),
                                                                   int(height or 600)), lambda _m: None)
            if f is None:
                return empty_image("cannot combine these bands", bounds=bounds)
            return rgb_element(f, title=f"R {f.bands[0]} · G {f.bands[1]} · B {f.bands[2]}")

        def keep_figure(plot, _element):
            self.figure = plot.state

        dmap = hv.DynamicMap(frame, streams=[rng, size, params]).opts(
            hv.opts.RGB(data_aspect=1, responsive=True, min_height=460, max_height=640,
                        xlabel="x (parent pixels) [rgb]", ylabel="y (parent pixels)",
                        active_tools=["wheel_zoom", "pan"], toolbar="above", xlim=fx, ylim=fy,
                        hooks=[weak_hook(keep_figure, self)]))
        return figure_pane(dmap, linked_axes=False, sizing_mode="stretch_width", min_height=460,
                           css_classes=["rgb-plot"])

    def __panel__(self):
        return self._layout
