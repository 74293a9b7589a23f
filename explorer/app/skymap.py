"""The sky map: tracts, the selected tract's patches, calexp footprints, and the selection outlines.

Calexp footprints are drawn one polygon each while the collection has at most
:data:`FOOTPRINT_GLYPHS` calexps; beyond (a survey), the chosen tract's patches are shaded by how
many calexps overlap each (the coverage layer) and only the chosen patch's calexps are drawn, when
few enough: what is sent follows the screen, not the registry.

Tapping selects the patch (or else the tract) under the pointer. Only the tracts are a
HoloViews layer (the tap stream's source; redrawn when the colouring changes). Refreshing a
HoloViews overlay redraws and re-ranges every layer (a tract change cost ~0.27 s of server CPU
with four layers following the tract), so everything that follows the selection is a Bokeh
renderer of the figure's own whose source a new selection sets in place: the patches, the
coverage, the footprints and the one invisible hover layer (:meth:`SkyMapPanel.layer_columns`),
the outlines of the tract, patch and calexp shown (:meth:`SkyMapPanel.outline_columns`), the
labels (drawn above everything, the patch names sized to the patches on screen) and the colour
bars of the tract colouring and the coverage. The hover layer gives one tooltip at a time: the
patch under the pointer, or else the tract.
A tap that selects nothing (a patch without data) is said under the map (:attr:`sky_note`).
"""
from __future__ import annotations

import weakref
from typing import Any, Optional

import holoviews as hv
import panel as pn
import param

from ..views import sky
from ..views import sky_layers as layers
from .base import Panel
from .style import NOTE_COLOR
from .figures import figure_pane
from .hooks import weak_hook

TRACT_COLOR, PATCH_COLOR, CALEXP_COLOR = "#1d3557", "#d00000", "#7b2cbf"
FOOTPRINT_GLYPHS = 1000  # calexps drawn one polygon each; beyond, counts per patch (coverage)


def many_calexps(idx) -> bool:
    """Whether the collection has too many calexps to draw each (one count query, remembered)."""
    return idx.count_kind("calexp") > FOOTPRINT_GLYPHS


def footprint_glyphs(idx, frame, show: bool, tract: Any, patch: Any) -> dict[str, list]:
    """The columns of the calexp footprints drawn one polygon each: all of them in a small
    repository (as always); in a large one only those overlapping the chosen patch, when at most
    :data:`FOOTPRINT_GLYPHS` do (the coverage layer counts the rest)."""
    if not show:
        return layers.footprint_columns([], frame)
    if not many_calexps(idx):
        found = dict(idx.footprints().items())
    elif tract is None or patch is None:
        found = {}
    else:
        found = idx.footprints_in(tract, patch, limit=FOOTPRINT_GLYPHS + 1)
        if len(found) > FOOTPRINT_GLYPHS:
            found = {}
    bands = idx.bands_of(sorted({v for v, _d in found})) if found else {}
    return layers.footprint_columns([{"vertices": c, "visit": v, "detector": d, "band": bands.get(v)}
                                     for (v, d), c in found.items()], frame)


def coverage_counts(idx, show: bool, tract: Any) -> Optional[dict[str, int]]:
    """Calexps per patch of the chosen tract when the coverage layer shows them, else None."""
    if not show or tract is None or not many_calexps(idx):
        return None
    return idx.patch_coverage(tract)


def coverage_layer(idx, frame, show: bool, tract: Any) -> dict[str, list]:
    """In a repository with many calexps, the columns of the chosen tract's patches shaded by how
    many calexps overlap each (:meth:`~explorer.index.RepoIndex.patch_coverage`); empty otherwise."""
    counts = coverage_counts(idx, show, tract)
    return layers.coverage_columns(idx.patch_regions(tract) if counts else {}, frame, counts or {})


# what each layer drawn in place shows (for a failure's message) and the state it follows
LAYER_WHAT = {layers.PATCHES: "the patch layer", layers.COVERAGE: "the calexp coverage",
              layers.FOOTPRINTS: "the calexp footprints", layers.HOVER: "the sky map's hover"}
LAYER_INPUTS = ("tract", "patch", "sky_color", "show_footprints")


class SkyMapPanel(Panel):
    """Tracts and patches on RA/Dec axes (CSS hook ``sky-plot``)."""

    title = "Sky map: tap a tract or a patch"
    calexp_shown = param.Parameter(default=None, doc="(visit, detector) of the calexp shown, or None: "
                                   "the calexp outline moves only when it changes")

    def __init__(self, **params):
        super().__init__(**params)
        self.frame: Optional[sky.SkyFrame] = None  # the RA/Dec layout of the current map
        self.tap_stream = None
        self._outline_sources: list[weakref.ref] = []  # the outline sources of the figures shown
        self._label_sources: list[weakref.ref] = []  # their patch-label sources
        self._colorbars: list[weakref.ref] = []  # their colour bars
        self._layer_sources: dict[str, list[weakref.ref]] = {name: [] for name in LAYER_WHAT}  # their layers
        self._layer_memo: dict[str, tuple[tuple, dict[str, list]]] = {}  # layer -> (its inputs, its columns)
        self._many = False  # whether the collection has too many calexps to draw each
        self.state.param.watch(self._follow_exposure, ["exposure_ref", "image_kind"])
        self.state.param.watch(self.refresh_outlines, ["tract", "patch", "repo_root", "collection"])
        self.state.param.watch(self.refresh_labels, ["tract"])
        self.state.param.watch(self.refresh_colorbars, ["sky_color", "show_footprints", "tract"])
        self.state.param.watch(self.refresh_layers, list(LAYER_INPUTS))
        self.state.param.watch(self._forget_note, ["tract", "patch", "repo_root", "collection"])
        self.state.param.watch(self._show_note, ["sky_note"])
        self.param.watch(self.refresh_outlines, ["calexp_shown"])
        self._follow_exposure()
        # what a tap that changed nothing found (information: grey, never the red of errors)
        self.note = pn.pane.HTML("", css_classes=["sky-note"], sizing_mode="stretch_width", visible=False,
                                 styles={"color": NOTE_COLOR, "font-size": "13px"}, margin=(0, 10))
        self.pane = pn.param.ParamMethod(self.view, loading_indicator=True, sizing_mode="stretch_width")
        self.layout = pn.Column(self.pane, self.note, sizing_mode="stretch_width")

    def _show_note(self, *_events) -> None:
        import html

        text = self.state.sky_note
        badge = ('<span style="display:inline-block;width:15px;height:15px;border-radius:8px;background:#889;'
                 'color:#fff;font:bold 11px/15px sans-serif;text-align:center;margin-right:6px">i</span>')
        self.note.object = f"<span>{badge}{html.escape(text)}</span>" if text else ""
        self.note.visible = bool(text)

    def _forget_note(self, *_events) -> None:
        if self.state.sky_note:
            self.state.sky_note = ""

    def _follow_exposure(self, *_events) -> None:
        ref = self.state.exposure_ref
        visit_like = self.state.image_kind in ("calexp", "difference")
        shown = (ref.get("visit"), ref.get("detector")) if ref and visit_like else None
        if shown != self.calexp_shown:  # (coadd to coadd: nothing to redraw)
            self.calexp_shown = shown

    @param.depends("state.repo_root", "state.collection")
    def view(self):
        """The sky map of the current repository and collection (rebuilt only when those change)."""
        return self.guard("the sky map", self._build, height=460)

    def _build(self):
        st = self.state
        idx = st.index
        if idx is None or not idx.tracts:
            return pn.pane.Markdown("*No tract holds data in this repository.*")
        regions = idx.tract_regions()
        frame = sky.sky_frame(regions.values())

        self._many = many_calexps(idx)
        self._layer_memo.clear()
        self.frame = frame

        # Only the tracts are a HoloViews layer (the tap stream selects from it); the layers that
        # follow the selection are Bokeh renderers of the figure's own (explorer.views.sky_layers)
        def tracts(sky_color):
            return self.safe("the tract layer",
                             lambda: sky.tract_polygons(regions, frame, idx.tract_stats(sky_color == "visits"),
                                                        sky_color),
                             lambda _m: sky.tract_polygons({}, frame, {}, sky_color))

        tract_layer = hv.DynamicMap(tracts, streams=[hv.streams.Params(st, ["sky_color"])])
        tap = hv.streams.Tap(source=tract_layer, x=None, y=None)
        tap.add_subscriber(lambda x=None, y=None: self.tap(x, y))
        self.tap_stream = tap
        # the layers that follow the selection, outlines, labels and colour bars are the figure's
        # own models, set in place
        hooks = [layers.polygon_layers_hook(self.layer_columns, self._keep_layer_source),
                 sky.highlight_hook(self.outline_columns,
                                    lambda source: self._outline_sources.append(weakref.ref(source))),
                 sky.labels_hook(self.label_columns, sky.tract_label_columns(regions, frame),
                                 sky.patch_height_deg(idx.patch_regions(st.tract if st.tract is not None
                                                                        else next(iter(regions)))),
                                 lambda source: self._label_sources.append(weakref.ref(source)),
                                 sky.patch_height_deg({str(t): v for t, v in regions.items()})),
                 sky.colorbar_hook(self.colorbar_scales, lambda bar: self._colorbars.append(weakref.ref(bar)))]
        # the axes span the tracts (first frame): HoloViews need not recompute the overlay's
        # ranges over every tract polygon on each selection
        plot = sky.style_axes(tract_layer, frame, height=460).opts(
            show_legend=False, hooks=[weak_hook(hook, self) for hook in hooks])
        return figure_pane(plot, linked_axes=False, sizing_mode="stretch_width", min_height=460,
                           css_classes=["sky-plot"])

    def tap(self, ra: Optional[float], dec: Optional[float]) -> None:
        """A tap at (RA, Dec): select what is there (failures are reported, never raised)."""
        self.safe("selecting on the sky map", lambda: self.state.select_sky(ra, dec), lambda _m: None)

    def outline_columns(self) -> dict[str, list]:
        """The selection outlines for the sky map: the tract (navy), patch (red), calexp (violet)."""
        st, idx, frame = self.state, self.state.index, self.frame
        if idx is None or frame is None:
            return sky.highlight_columns([], frame)
        tract, patch, shown = st.tract, st.patch, self.calexp_shown
        return sky.highlight_columns([
            (idx.tract_regions().get(tract), TRACT_COLOR, 2.5),
            (idx.patch_regions(tract).get(patch) if tract is not None and patch else None, PATCH_COLOR, 3.0),
            (idx.footprints().get(tuple(shown)) if shown else None, CALEXP_COLOR, 2.5)], frame)

    def label_columns(self) -> dict[str, list]:
        """The patch names of the selected tract (those with data), for the figure's label renderer."""
        st, idx, frame = self.state, self.state.index, self.frame
        if idx is None or frame is None or st.tract is None:
            return sky.patch_label_columns({}, frame, [])
        return sky.patch_label_columns(idx.patch_regions(st.tract), frame, idx.patches(st.tract))

    def colorbar_scales(self) -> dict[str, Optional[sky.ColorScale]]:
        """The colour bars of the map: the tracts' colouring, and the coverage's when it shows."""
        st, idx = self.state, self.state.index
        if idx is None:
            return {sky.TRACT_COLORBAR: None, sky.COVERAGE_COLORBAR: None}
        counts = coverage_counts(idx, st.show_footprints, st.tract)
        return {sky.TRACT_COLORBAR: sky.tract_color_scale(idx.tract_stats(st.sky_color == "visits"), st.sky_color),
                sky.COVERAGE_COLORBAR: sky.coverage_color_scale(counts) if counts else None}

    def _keep_layer_source(self, name: str, source: Any) -> None:
        self._layer_sources[name].append(weakref.ref(source))

    def _layer_key(self, name: str) -> tuple:
        """The state a layer's columns follow (a survey's footprints follow the patch too)."""
        st = self.state
        if name == layers.PATCHES:
            return (st.tract,)
        if name == layers.COVERAGE:
            return (st.tract, st.show_footprints)
        if name == layers.FOOTPRINTS:
            return (st.show_footprints, st.tract, st.patch) if self._many else (st.show_footprints,)
        return (st.tract, st.sky_color, st.show_footprints)

    def layer_columns(self, name: str) -> dict[str, list]:
        """The columns of one of the layers drawn in place (a name of
        :data:`explorer.views.sky_layers.LAYERS`) for the current selection; empty columns, and
        the failure reported, when they cannot be built. Remembered by the layer's inputs, so a
        selection that leaves a layer's inputs alone costs it nothing."""
        key = self._layer_key(name)
        memo = self._layer_memo.get(name)
        if memo is not None and memo[0] == key:
            return memo[1]
        failed: list[str] = []
        columns = self.safe(LAYER_WHAT[name], lambda: self._build_layer(name),
                            lambda message: failed.append(message) or layers.empty_columns(name))
        if not failed:
            self._layer_memo[name] = (key, columns)
        return columns

    def _build_layer(self, name: str) -> dict[str, list]:
        st, idx, frame = self.state, self.state.index, self.frame
        if idx is None or frame is None:
            return layers.empty_columns(name)
        tract = st.tract
        if name == layers.FOOTPRINTS:
            return footprint_glyphs(idx, frame, st.show_footprints, tract, st.patch)
        regions = idx.patch_regions(tract) if tract is not None else {}
        with_data = idx.patches(tract) if regions else []
        if name == layers.PATCHES:
            return layers.patch_columns(regions, frame, with_data)
        if name == layers.COVERAGE:
            return coverage_layer(idx, frame, st.show_footprints, tract)
        with_visits = st.sky_color == "visits"
        return layers.hover_columns(idx.tract_regions(), idx.tract_stats(with_visits), tract, regions, with_data,
                                    frame, coverage_counts(idx, st.show_footprints, tract), with_visits)

    @staticmethod
    def _live(refs: list[weakref.ref]) -> list[Any]:
        models = [ref() for ref in refs]
        refs[:] = [ref for ref, model in zip(refs, models) if model is not None]
        return [m for m in models if m is not None]

    @staticmethod
    def _send(change) -> None:
        """Run ``change`` (it sets properties of live Bokeh models) as Panel updates its own models:
        a callback may run without the document lock (a tap on the sky map does), so the change is
        sent to the browser directly, or on the next tick when this thread may not touch the document."""
        def apply() -> None:
            from panel.io.document import unlocked

            with unlocked():
                change()

        pn.state.execute(apply)

    def refresh_outlines(self, *_events) -> None:
        """Give every live sky figure the outlines of the new selection (in place, no redraw)."""
        self._refresh_sources(self._outline_sources, self.outline_columns)

    def refresh_layers(self, *_events) -> None:
        """Give every live sky figure the patches, coverage, footprints and hover of the new
        selection (in place; only the layers whose columns changed are sent)."""
        for name, registered in self._layer_sources.items():
            self._refresh_sources(registered, lambda name=name: self.layer_columns(name))

    def refresh_labels(self, *_events) -> None:
        """Give every live sky figure the patch names of the new tract (in place)."""
        self._refresh_sources(self._label_sources, self.label_columns)

    def _refresh_sources(self, registered, columns_of) -> None:
        """Set ``columns_of()`` on those of the live figures' ``registered`` sources that differ."""
        live = self._live(registered)
        if not live:
            return
        columns = columns_of()
        sources = [source for source in live if source.data != columns]
        if sources:
            self._send(lambda: [setattr(source, "data", columns) for source in sources])

    def refresh_colorbars(self, *_events) -> None:
        """Show the current colouring on every live colour bar (in place: a toggle shows at once)."""
        live = self._live(self._colorbars)
        if not live:
            return
        scales = self.colorbar_scales()
        self._send(lambda: [sky.set_colorbar(bar, scales.get(bar.name)) for bar in live])

    def __panel__(self):
        return self.layout
