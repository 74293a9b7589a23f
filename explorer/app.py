"""The explorer page: Panel widgets bound to an :class:`~explorer.state.ExplorerState`, and the views.

:class:`Explorer` lays the views out with Panel, for Jupyter (inline, or its own tab with
``.show()``) and for ``panel serve`` / ``repo-explorer serve`` (:func:`create_app`, one page per
browser session). The views are HoloViews elements built by :mod:`explorer.views`; this module
only binds them to the state and arranges them. :func:`warm_up` compiles the numba kernels once
per process so nobody's first click waits for a JIT.
"""
from __future__ import annotations

import html
import logging
import weakref
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import panel as pn
import param

from .errors import ExplorerError
from .repo.model import Exposure
# the state's names, re-exported: ``explorer.app`` is where people (and apps/explorer.py) look first
from .state import (ENV_REPO, ENV_ROOTS, IMAGE_KINDS, PLANES, ExplorerState, default_repository,  # noqa: F401
                    env_repo_roots, forget_repositories, get_index, get_repository)

log = logging.getLogger(__name__)

# =================================================================================================
# The page (Panel): widgets bound to the state, and the views.
# =================================================================================================
ACCENT = "#0b6e82"
MASK_TOGGLE_CSS = ":host { white-space: nowrap; font-size: 11px; overflow: hidden; }"
SOURCE_LIMIT = 5000  # sources drawn individually in view; beyond, the brightest are drawn


def _ensure_extensions() -> None:
    """Load the Bokeh backend and the Panel extensions the page uses (cheap to repeat)."""
    import holoviews as hv

    pn.extension("tabulator", notifications=True, loading_indicator=True)
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)


def _overlaps(x_range, y_range, bounds) -> bool:
    """Whether a view's ranges (None: the whole frame) overlap a frame's (x0, y0, x1, y1)."""
    if x_range is None or y_range is None:
        return True
    (xa, xb), (ya, yb) = sorted(x_range), sorted(y_range)
    return xa < bounds[2] and xb > bounds[0] and ya < bounds[3] and yb > bounds[1]


def _swatch(color: str) -> str:
    return (f'<span style="display:inline-block;width:12px;height:12px;background:{color};'
            f'border:1px solid #555;margin-right:4px;vertical-align:middle"></span>')


class Explorer(pn.viewable.Viewer):
    """The explorer page: ``Explorer("path/to/repo")`` displays inline in Jupyter; ``.show()``
    opens it in its own browser tab; ``.servable()`` marks it for ``panel serve``.

    ``repo``: the repository to open (default: ``$REPO_EXPLORER_REPO`` or the sample);
    ``repo_roots``: confine the repository-path box to these directories.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="What the page shows")
    calexp_shown = param.Parameter(default=None, doc="(visit, detector) of the calexp shown, or None: "
                                   "the sky map's calexp outline moves only when it changes")
    image_extent = param.Parameter(default=None, doc="What fixes the image plot's frame: repository, "
                                   "shape and xy0 of the exposure (or why there is none); only a change "
                                   "of it rebuilds the plot, other exposures update it in place")

    def __init__(self, repo: Optional[str] = None, repo_roots: Sequence[str] = (),
                 state: Optional[ExplorerState] = None, query: Optional[dict[str, Any]] = None):
        import holoviews as hv

        _ensure_extensions()
        from .repo.auth import session_token  # this session's own token (X-Auth-Request-Token)

        token = session_token(getattr(pn.state, "headers", None))
        super().__init__(state=state or ExplorerState(repo_roots=repo_roots, token=token))
        self.pn, self.hv = pn, hv
        if query and query.get("repo"):
            self.state.apply_query(query)
        else:
            if repo is None and self.state.index is None:
                try:
                    repo = default_repository()
                except ExplorerError as exc:
                    self.state.report(str(exc))
            if repo is not None and self.state.index is None:
                self.state.open(repo)
            if query:
                self.state.apply_query(query)
        self._sources_memo: tuple[Any, Optional[pd.DataFrame]] = (None, None)
        self._build()

    # ----- widgets --------------------------------------------------------------------------------
    def _build(self) -> None:
        pn, s = self.pn, self.state
        w = pn.widgets
        self.repo_input = w.TextInput.from_param(s.param.repo_path, label="Repository",
                                                 placeholder="path to a Gen3 or Gen2 repository")
        self.open_button = w.Button(label="Open", color="primary", width=70, align="end")
        self.open_button.on_click(lambda _e: s.open(self.repo_input.value_input or self.repo_input.value))
        self.collection_select = w.Select.from_param(s.param.collection, label="Collection")
        self.kind_buttons = w.RadioButtonGroup.from_param(s.param.image_kind, label="Image", color="primary",
                                                          variant="outline")
        self.band_buttons = w.RadioButtonGroup.from_param(s.param.band, label="Band", color="primary",
                                                          variant="outline")
        self.tract_select = w.Select.from_param(s.param.tract, label="Tract")
        self.patch_select = w.Select.from_param(s.param.patch, label="Patch")
        self.visit_select = w.Select.from_param(s.param.visit, label="Visit")
        self.detector_select = w.Select.from_param(s.param.detector, label="Detector")
        self.plane_buttons = w.RadioButtonGroup.from_param(s.param.plane, label="Plane", color="primary",
                                                           variant="outline")
        self.stretch_buttons = w.RadioButtonGroup.from_param(s.param.stretch, label="Stretch", color="primary",
                                                             variant="outline")
        self.cmap_select = w.Select.from_param(s.param.cmap, label="Colour map")
        self.alpha_slider = w.FloatSlider.from_param(s.param.mask_alpha, label="Mask opacity")
        self.mask_box = pn.Column(sizing_mode="stretch_width", margin=(0, 5))
        self._mask_checks: dict[str, Any] = {}
        self.catalog_select = w.Select.from_param(s.param.catalog, label="Catalog")
        self.column_select = w.Select.from_param(s.param.column, label="Histogram column")
        self.logx_check = w.Checkbox.from_param(s.param.log_x, label="log10 of the column")
        self.logy_check = w.Checkbox.from_param(s.param.log_y, label="log count axis")
        self.bins_slider = w.IntSlider.from_param(s.param.bins, label="Bins")
        self.require_choice = w.MultiChoice.from_param(s.param.require_flags, label="Require flags")
        self.exclude_choice = w.MultiChoice.from_param(s.param.exclude_flags, label="Exclude flags")
        self.sources_check = w.Checkbox.from_param(s.param.show_sources, label="Sources on the image")
        self.skycolor_buttons = w.RadioButtonGroup.from_param(s.param.sky_color, label="Colour tracts by",
                                                              color="primary", variant="outline")
        self.footprints_check = w.Checkbox.from_param(s.param.show_footprints, label="Calexp footprints")
        for widget in (self.repo_input, self.collection_select, self.kind_buttons, self.band_buttons,
                       self.tract_select, self.patch_select, self.visit_select, self.detector_select,
                       self.plane_buttons, self.stretch_buttons, self.cmap_select, self.alpha_slider,
                       self.catalog_select, self.column_select, self.bins_slider, self.require_choice,
                       self.exclude_choice, self.skycolor_buttons):
            widget.sizing_mode = "stretch_width"
        # stable hooks for browser tests and for people styling a deployment
        for widget, css in ((self.repo_input, "w-repo"), (self.collection_select, "w-collection"),
                            (self.kind_buttons, "w-kind"), (self.band_buttons, "w-band"),
                            (self.tract_select, "w-tract"), (self.patch_select, "w-patch"),
                            (self.visit_select, "w-visit"), (self.detector_select, "w-detector"),
                            (self.plane_buttons, "w-plane"), (self.stretch_buttons, "w-stretch"),
                            (self.catalog_select, "w-catalog"), (self.column_select, "w-column"),
                            (self.logx_check, "w-logx"), (self.logy_check, "w-logy"),
                            (self.sources_check, "w-sources"), (self.open_button, "w-open")):
            widget.css_classes = [css]
        self.visit_note = pn.pane.Markdown(s.param.visit_note, styles={"color": "#666", "font-size": "11px"},
                                           margin=(0, 10))
        self.error_alert = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width",
                                         css_classes=["explorer-error"])
        self.readout = pn.pane.HTML(self._readout_html(None), sizing_mode="stretch_width", height=44,
                                    css_classes=["explorer-readout"], styles={"font-family": "monospace"})
        s.param.watch(self._on_error, ["error_count"])
        if s.error:  # reported while the page was being built (a refused ?repo=, a missing default)
            self.error_alert.object = f"**Problem:** {s.error}"
            self.error_alert.visible = True
        s.param.watch(self._sync_masks, ["exposure_ref", "mask_planes"])
        self._sync_masks()
        s.hold = self._hold  # a cascade of selector changes reaches the browser as one update
        s.param.watch(self._update_extent, ["exposure_ref", "repo_root"])
        self._sky_frame = None
        self._highlight_sources: list[weakref.ref] = []  # the outline sources of the sky figures shown
        s.param.watch(self._refresh_highlights, ["tract", "patch", "repo_root", "collection"])
        self.param.watch(self._refresh_highlights, ["calexp_shown"])
        self._update_extent()

        pm = pn.param.ParamMethod
        self.summary_pane = pm(self._summary_view, loading_indicator=True, sizing_mode="stretch_width")
        self.sky_pane = pm(self._sky_view, loading_indicator=True, sizing_mode="stretch_width")
        self.image_pane = pm(self._image_view, loading_indicator=True, sizing_mode="stretch_width")
        # panes whose text or rows change with the selection are built once and updated in place:
        # a new pane is a new Bokeh model, and every new model makes Bokeh walk the whole page
        self.title_pane = pn.pane.HTML(self._image_title_html(), sizing_mode="stretch_width", margin=(0, 10))
        self.caption_pane = pn.pane.HTML(self._histogram_caption_html(), sizing_mode="stretch_width")
        self.hist_pane = pn.Column(self._histogram_plot(), self.caption_pane, sizing_mode="stretch_width")
        self._info_tables: dict[str, Any] = {}
        self._info_message = pn.pane.HTML('<div style="padding:30px;color:#777">no exposure</div>', height=120)
        self.info_pane = pn.Column(sizing_mode="stretch_width")
        self._info_view()
        s.param.watch(self._on_exposure_text, ["exposure_ref"])
        s.param.watch(self._on_catalog_text, ["catalog_ref", "column"])

    def controls(self):
        """The sidebar: repository, selection, display and catalog controls."""
        pn = self.pn
        header = {"font-weight": "600", "color": ACCENT, "margin-top": "6px"}
        mask_buttons = pn.Row(self.pn.widgets.Button(label="all", width=50, height=28),
                              self.pn.widgets.Button(label="none", width=50, height=28))
        mask_buttons[0].on_click(lambda _e: self._set_all_masks(True))
        mask_buttons[1].on_click(lambda _e: self._set_all_masks(False))
        return pn.Column(
            pn.pane.HTML("Repository", styles=header),
            pn.Row(self.repo_input, self.open_button, sizing_mode="stretch_width"),
            self.collection_select,
            pn.pane.HTML("Selection", styles=header),
            self.kind_buttons, self.band_buttons, pn.Row(self.tract_select, self.patch_select),
            pn.Row(self.visit_select, self.detector_select), self.visit_note,
            pn.pane.HTML("Display", styles=header),
            self.plane_buttons, self.stretch_buttons, pn.Row(self.cmap_select, self.alpha_slider),
            pn.Row(pn.pane.HTML("Mask planes", styles={"font-size": "12px"}), mask_buttons),
            self.mask_box,
            pn.pane.HTML("Catalog", styles=header),
            self.catalog_select, self.column_select, pn.Row(self.logx_check, self.logy_check),
            self.bins_slider, self.require_choice, self.exclude_choice, self.sources_check,
            pn.pane.HTML("Sky map", styles=header),
            self.skycolor_buttons, self.footprints_check,
            sizing_mode="stretch_width",
        )

    def main(self):
        """The views: summary, sky map, image, histogram, exposure information."""
        pn = self.pn
        card = dict(sizing_mode="stretch_width", header_background="#e8f1f3", margin=(5, 5))
        return pn.Column(
            self.error_alert,
            pn.Card(self.summary_pane, title="Repository summary", collapsed=False, **card),
            pn.Row(
                pn.Card(self.sky_pane, title="Sky map: tap a tract or a patch", **card),
                pn.Card(pn.Column(self.title_pane, self.image_pane, self.readout, sizing_mode="stretch_width"),
                        title="Image", **card),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Card(self.hist_pane, title="Catalog histogram", **card),
                pn.Card(self.info_pane, title="Exposure information", **card),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self.pn.Row(self.pn.Column(self.controls(), width=330), self.main(), sizing_mode="stretch_width")

    def template(self, title: str = "Repository explorer"):
        """The page in a FastListTemplate (for serving)."""
        pn = self.pn
        # Bootstrap design: no web fonts, so a server without internet access loads nothing remote
        return pn.template.BootstrapTemplate(
            title=title, sidebar=[self.controls()], main=[self.main()], header_background=ACCENT,
            sidebar_width=360)

    def servable(self, title: str = "Repository explorer"):
        return self.template(title).servable(title=title)

    def show(self, port: int = 0, **kwargs):
        """Open the page in its own browser tab (a small server in this process)."""
        return self.pn.serve({"explorer": lambda: self.template()}, port=port, show=True, **kwargs)

    # ----- errors -----------------------------------------------------------------------------------
    def _on_error(self, _event=None) -> None:
        message = self.state.error
        self.error_alert.object = f"**Problem:** {message}"
        self.error_alert.visible = bool(message)
        notifications = getattr(self.pn.state, "notifications", None)
        if notifications is not None and message:
            try:
                notifications.error(message, duration=8000)
            except Exception:  # no notification area (e.g. a static export): the alert suffices
                pass

    # ----- mask toggles + legend -----------------------------------------------------------------
    def _sync_masks(self, *_events) -> None:
        pn = self.pn
        planes = list(self.state.param.mask_planes.objects)
        colors = self.state.mask_colors()
        shown = set(self.state.mask_planes)
        if list(self._mask_checks) != planes:
            rows, self._mask_checks = [], {}
            for name in planes:
                # long names (DETECTED_NEGATIVE) must stay on one line, or rows overlap
                box = pn.widgets.Checkbox(label=name, value=name in shown, margin=(0, 0), height=18, width=142,
                                          css_classes=["mask-toggle"], stylesheets=[MASK_TOGGLE_CSS])
                box.param.watch(self._mask_toggled, "value")
                self._mask_checks[name] = box
                rows.append(pn.Row(pn.pane.HTML(_swatch(colors.get(name, "#888")), width=18, margin=(0, 0)), box,
                                   margin=(0, 0), height=20))
            half = (len(rows) + 1) // 2
            self.mask_box[:] = [pn.Row(pn.Column(*rows[:half], margin=0), pn.Column(*rows[half:], margin=0),
                                       margin=0)] if rows else [pn.pane.HTML("<i>no mask plane</i>")]
        else:
            for name, box in self._mask_checks.items():
                if box.value != (name in shown):
                    box.value = name in shown

    def _mask_toggled(self, _event) -> None:
        chosen = [n for n, box in self._mask_checks.items() if box.value]
        if set(chosen) != set(self.state.mask_planes):
            self.state.mask_planes = chosen

    def _set_all_masks(self, on: bool) -> None:
        self.state.mask_planes = list(self.state.param.mask_planes.objects) if on else []

    # ----- summary ----------------------------------------------------------------------------------
    @param.depends("state.repo_root", "state.collection")
    def _summary_view(self):
        from .views.summary import dataset_table, summary_counts

        pn = self.pn
        try:
            inv = self.state.inventory()
        except ExplorerError as exc:
            self.state.report(str(exc))
            inv = None
        if inv is None:
            return pn.pane.Markdown("*No repository open.*")
        counts = summary_counts(inv)
        cells = [("visits", f"{counts['visits']:,}"), ("detectors", f"{counts['detectors']:,}"),
                 ("bands", " ".join(inv.bands) or "-"), ("tracts", f"{counts['tracts']:,}"),
                 ("patches", f"{counts['patches']:,}"),
                 ("sources", "-" if counts["sources"] is None else f"{counts['sources']:,}"),
                 ("sky area", f"{counts['sky_area_deg2']:,.2f} deg²"),
                 ("datasets", f"{counts['datasets']:,}"),
                 ("missing files", "not checked" if counts["missing"] is None else f"{counts['missing']:,}")]
        stat = "".join(f'<div class="stat"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cells)
        head = (f'<div class="repo-line"><b>{inv.instrument or "?"}</b> · {inv.kind} repository '
                f'<code>{inv.root}</code>' + (f' · skymap {inv.skymap}' if inv.skymap else "") + "</div>")
        css = ("<style>.stats{display:flex;flex-wrap:wrap;gap:8px}.stat{background:#f3f7f8;border-radius:6px;"
               "padding:6px 12px;min-width:90px}.stat .v{font-size:18px;font-weight:600;color:#0b3954}"
               ".stat .k{font-size:11px;color:#567}.repo-line{margin-bottom:6px;color:#333}</style>")
        stats = pn.pane.HTML(css + head + f'<div class="stats">{stat}</div>', sizing_mode="stretch_width",
                             css_classes=["explorer-summary"])
        table = pn.widgets.Tabulator(dataset_table(inv), show_index=False, disabled=True, layout="fit_data_stretch",
                                     sizing_mode="stretch_width", height=min(40 + 30 * len(inv.dataset_types), 260),
                                     css_classes=["dataset-table"])
        notes = [pn.pane.Markdown("\n".join(f"- {n}" for n in inv.notes), styles={"color": "#a45"})] if inv.notes else []
        return pn.Column(stats, table, *notes, sizing_mode="stretch_width")

    # ----- sky map ---------------------------------------------------------------------------------
    @param.depends("state.repo_root", "state.collection")
    def _sky_view(self):
        hv = self.hv
        from .views import sky

        idx = self.state.index
        if idx is None or not idx.tracts:
            return self.pn.pane.Markdown("*No tract holds data in this repository.*")
        regions = idx.tract_regions()
        frame = sky.sky_frame(regions.values())
        st = self.state

        def params(*names):
            return [hv.streams.Params(st, list(names))]

        # One DynamicMap per layer, each returning a single element: HoloViews links a tap stream
        # to an element-returning DynamicMap (not to one returning an Overlay), and each layer
        # then redraws only when its own parameters change.
        def tracts(sky_color):
            return sky.tract_polygons(regions, frame, idx.tract_stats(sky_color == "visits"), sky_color)

        per_tract: dict[tuple[str, Any], Any] = {}  # a tract's patch layers, built once

        def patches(tract, **_kw):
            if ("patches", tract) not in per_tract:
                pregs = idx.patch_regions(tract)
                per_tract[("patches", tract)] = sky.patch_polygons(pregs, frame, idx.patches(tract), tract) \
                    if pregs else sky.patch_polygons({}, frame, [], -1)
            return per_tract[("patches", tract)]

        def patch_names(tract, **_kw):
            if ("names", tract) not in per_tract:
                per_tract[("names", tract)] = sky.patch_labels(idx.patch_regions(tract), frame, idx.patches(tract))
            return per_tract[("names", tract)]

        def footprints(show_footprints):
            fps = [{"vertices": v, "visit": k[0], "detector": k[1], "band": idx.visit_band.get(k[0])}
                   for k, v in idx.footprints().items()] if show_footprints else []
            return sky.footprint_polygons(fps, frame)

        tract_layer = hv.DynamicMap(tracts, streams=params("sky_color"))
        tap = hv.streams.Tap(source=tract_layer, x=None, y=None)
        tap.add_subscriber(lambda x=None, y=None: self._safe(st.select_sky, x, y))
        self._sky_tap = tap
        tract_stream = params("tract")  # one stream for both patch layers: one refresh per tract
        overlay = (tract_layer * sky.tract_labels(regions, frame)
                   * hv.DynamicMap(patches, streams=tract_stream)
                   * hv.DynamicMap(patch_names, streams=tract_stream)
                   * hv.DynamicMap(footprints, streams=params("show_footprints")))
        # The outlines of the tract, patch and calexp shown are not HoloViews layers: refreshing an
        # overlay redraws and re-ranges every layer (~100 ms a selection with many sessions), so
        # they are one Bokeh line renderer of the figure's own, whose source a new selection sets.
        self._sky_frame = frame
        hook = sky.highlight_hook(self._highlight_columns,
                                  lambda source: self._highlight_sources.append(weakref.ref(source)))
        # the axes span the tracts (first frame); labels never move them, so HoloViews need not
        # recompute the overlay's ranges over every tract polygon on each selection
        plot = sky.style_axes(overlay, frame, height=460).opts(
            hv.opts.Overlay(show_legend=False, hooks=[hook]), hv.opts.Labels(apply_ranges=False))
        return self.pn.pane.HoloViews(plot, linked_axes=False, sizing_mode="stretch_width", min_height=460,
                                      css_classes=["sky-plot"])

    def _safe(self, fn, *args) -> None:
        try:
            fn(*args)
        except ExplorerError as exc:
            self.state.report(str(exc))
        except Exception as exc:  # a bug in a callback must not break the page
            log.exception("callback")
            self.state.report(f"{type(exc).__name__}: {exc}")

    def _highlight_columns(self) -> dict[str, list]:
        """The selection outlines for the sky map: the tract (navy), patch (red), calexp (violet)."""
        from .views import sky

        st, idx, frame = self.state, self.state.index, self._sky_frame
        if idx is None or frame is None:
            return sky.highlight_columns([], frame)
        tract, patch, shown = st.tract, st.patch, self.calexp_shown
        return sky.highlight_columns([
            (idx.tract_regions().get(tract), "#1d3557", 2.5),
            (idx.patch_regions(tract).get(patch) if tract is not None and patch else None, "#d00000", 3.0),
            (idx.footprints().get(tuple(shown)) if shown else None, "#7b2cbf", 2.5)], frame)

    def _refresh_highlights(self, *_events) -> None:
        """Give every live sky figure the outlines of the new selection (in place, no redraw)."""
        live = [(ref, ref()) for ref in self._highlight_sources]
        self._highlight_sources[:] = [ref for ref, source in live if source is not None]
        if not self._highlight_sources:
            return
        columns = self._highlight_columns()
        sources = [source for _ref, source in live if source is not None and source.data != columns]
        if not sources:
            return

        def apply() -> None:
            # as Panel updates its own models: a callback may run without the document lock (a tap
            # on the sky map does), so the change is sent to the browser directly, or on the next
            # tick when this thread may not touch the document
            from panel.io.document import unlocked

            with unlocked():
                for source in sources:
                    source.data = columns

        self.pn.state.execute(apply)

    # ----- image -------------------------------------------------------------------------------------
    def _image_title_html(self) -> str:
        st = self.state
        exposure = st.exposure()
        text = html.escape(st.describe())
        if exposure is not None and exposure.info.zero_point_mag is not None:
            text += f" · zero point {exposure.info.zero_point_mag:.3f} mag"
        elif exposure is None and st.exposure_ref is not None:  # say why, above the blank frame
            why = self._no_image_message()
            why = why.split("} ", 1)[1] if "} " in why else why  # (the data ID is in the line already)
            text += f' · <span class="image-missing" style="color:#a33">{html.escape(why)}</span>'
        return f'<div class="image-title" style="font-weight:600">{text}</div>'

    def _no_image_message(self) -> str:
        """Why no image is shown for the current selection (the reader's error when there is one)."""
        st = self.state
        if st.exposure_ref is None:
            return "nothing to show for this selection"
        return st.error or f"cannot read {st.describe()}"

    def _on_exposure_text(self, *_events) -> None:
        self.title_pane.object = self._image_title_html()
        self._info_view()

    def _on_catalog_text(self, *_events) -> None:
        self.caption_pane.object = self._histogram_caption_html()

    def _hold(self):
        """Hold (and freeze) the Bokeh document while a cascade changes many things at once, so the
        browser gets one update and Bokeh walks its model graph once, not once per change."""
        from contextlib import nullcontext

        from panel.io.document import hold

        doc = getattr(self.pn.state, "curdoc", None)
        return hold(doc, freeze=True) if doc is not None else nullcontext()

    def _update_extent(self, *_events) -> None:
        st = self.state
        ref = st.exposure_ref
        shown = (ref[1].get("visit"), ref[1].get("detector")) if ref and st.image_kind == "calexp" else None
        if shown != self.calexp_shown:  # (coadd to coadd: nothing to redraw on the sky map)
            self.calexp_shown = shown
        exposure = st.exposure()
        if exposure is not None:
            extent = (st.repo_root, tuple(exposure.info.shape))
        elif self.image_extent is not None and self.image_extent[0] == st.repo_root and len(self.image_extent) == 2:
            # no exposure (say, a file registered but not on disk) after a plot: the plot stays and
            # shows a blank frame, the title says why, and the next exposure redraws it in place
            extent = self.image_extent
        else:  # no exposure and no plot yet: the message pane, rebuilt for each selection (it names it)
            extent = (st.repo_root, "none", repr(st.exposure_ref), st.error_count)
        if extent != self.image_extent:
            self.image_extent = extent

    @param.depends("image_extent")
    def _image_view(self):
        """The image plot, built once per frame shape: selecting another exposure of that shape
        redraws it in place. On the same pixel grid (another visit of a detector, another band of a
        patch) the zoom is kept, as one blinks between exposures in ds9; at another origin (another
        patch) the new frame is shown whole: a plot hook moves the axes to it, once."""
        hv, pn = self.hv, self.pn
        from .views.image import empty_image, frame_element, sources_element
        from .views.raster import full_range

        st = self.state
        exposure = st.exposure()
        if exposure is None:
            return pn.pane.HTML(f'<div class="image-empty" style="padding:40px;color:#a33">'
                                f'{html.escape(self._no_image_message())}</div>', sizing_mode="stretch_width", height=200)
        fx, fy = full_range(exposure.info.shape, exposure.info.xy0)
        display = hv.streams.Params(st, ["exposure_ref", "plane", "stretch", "cmap", "mask_planes", "mask_alpha"])
        rng = hv.streams.RangeXY(x_range=fx, y_range=fy)
        size = hv.streams.PlotSize(width=800, height=800)

        origin = {"xy0": tuple(exposure.info.xy0), "move_axes": None}

        def frame(x_range=None, y_range=None, width=None, height=None, **_kw):
            bounds = (fx[0], fy[0], fx[1], fy[1])
            current = st.exposure()
            if current is None:  # (e.g. a file not on disk): a blank frame; the title above says why
                return empty_image("no image for this selection", bounds=bounds)
            cx, cy = full_range(current.info.shape, current.info.xy0)
            bounds = (cx[0], cy[0], cx[1], cy[1])
            if tuple(current.info.xy0) != origin["xy0"]:  # another part of the sky: show it whole
                origin["xy0"] = tuple(current.info.xy0)
                origin["move_axes"] = bounds
                x_range = y_range = None
            elif not _overlaps(x_range, y_range, bounds):  # ranges of the previous frame, not yet updated
                x_range = y_range = None
            try:
                f = st.render_image(width=int(width or 800), height=int(height or 800),
                                    x_range=x_range, y_range=y_range)
            except Exception as exc:  # e.g. a truncated plane: say so, keep the page
                st.report(f"cannot render {st.describe()}: {exc}")
                f = None
            if f is None:
                return empty_image("cannot render", bounds=bounds)
            return frame_element(f)

        def sources(x_range=None, y_range=None, **_kw):
            df = self._sources() if st.show_sources else None
            if df is None or not len(df):
                return sources_element(np.zeros(0), np.zeros(0), value_name=st.column or "value")
            current = st.exposure()
            if current is not None and x_range is not None and y_range is not None:
                cx, cy = full_range(current.info.shape, current.info.xy0)
                if _overlaps(x_range, y_range, (cx[0], cy[0], cx[1], cy[1])):  # (else: a previous frame's view)
                    inside = (df["x"].between(*sorted(x_range))) & (df["y"].between(*sorted(y_range)))
                    df = df[inside]
            if len(df) > SOURCE_LIMIT:
                df = df.nlargest(SOURCE_LIMIT, "value") if df["value"].notna().any() else df.iloc[:SOURCE_LIMIT]
            return sources_element(df["x"].to_numpy(), df["y"].to_numpy(), df["id"].to_numpy(),
                                   df["value"].to_numpy(), value_name=st.column or "value")

        img = hv.DynamicMap(frame, streams=[rng, size, display])
        src_params = hv.streams.Params(st, ["catalog_ref", "show_sources", "column", "require_flags",
                                            "exclude_flags"])
        src = hv.DynamicMap(sources, streams=[hv.streams.RangeXY(source=img), src_params])
        pointer = hv.streams.PointerXY(x=None, y=None, source=img)
        pointer.add_subscriber(lambda x=None, y=None: self._update_readout(st.exposure(), x, y))
        self._pointer = pointer
        def move_axes(plot, _element):
            """After a change of origin, put the axes on the new frame (once; zooming is the user's)."""
            bounds = origin["move_axes"]
            if bounds is None:
                return
            origin["move_axes"] = None
            fig = plot.state
            fig.x_range.update(start=bounds[0], end=bounds[2])
            fig.y_range.update(start=bounds[1], end=bounds[3])

        plot = (img * src).opts(
            hv.opts.RGB(data_aspect=1, responsive=True, min_height=560, max_height=760, xlabel="x (parent pixels)",
                        ylabel="y (parent pixels)", active_tools=["wheel_zoom", "pan"],
                        toolbar="above", xlim=fx, ylim=fy, hooks=[move_axes]),
            hv.opts.Overlay(show_legend=False))
        self.readout.object = self._readout_html(None)
        return pn.pane.HoloViews(plot, linked_axes=False, sizing_mode="stretch_width", min_height=560,
                                 css_classes=["image-plot"])

    def _sources(self) -> Optional[pd.DataFrame]:
        st = self.state
        key = (st.catalog_ref and (st.catalog_ref[0], tuple(sorted(st.catalog_ref[1].items()))), st.column,
               tuple(st.require_flags), tuple(st.exclude_flags), st.exposure_ref and st.exposure_ref[0])
        if self._sources_memo[0] != key:
            self._sources_memo = (key, st.source_positions())
        return self._sources_memo[1]

    def _update_readout(self, exposure: Optional[Exposure], x, y) -> None:
        from .views.info import pixel_readout

        try:
            info = pixel_readout(exposure, x, y) if (exposure is not None and x is not None and y is not None) else None
        except Exception:
            info = None
        self.readout.object = self._readout_html(info)

    @staticmethod
    def _readout_html(info: Optional[dict[str, Any]]) -> str:
        from .views.info import sexagesimal

        if info is None:
            return '<div class="readout" style="color:#777">move the pointer over the image: pixel, value, mask planes, RA/Dec</div>'
        parts = [f"x <b>{info['x']}</b> y <b>{info['y']}</b>", f"value <b>{info['value']:.6g}</b>"]
        if "variance" in info:
            parts.append(f"var {info['variance']:.4g}")
        if "mask_planes" in info:
            parts.append("mask " + (",".join(info["mask_planes"]) or "-"))
        line2 = ""
        if "ra" in info:
            line2 = (f"RA <b>{info['ra']:.6f}</b> Dec <b>{info['dec']:.6f}</b> "
                     f"({sexagesimal(info['ra'], info['dec'])})")
        return f'<div class="readout">{" · ".join(parts)}<br>{line2}</div>'

    # ----- histogram ---------------------------------------------------------------------------------
    def _histogram_plot(self):
        """The catalog histogram: one plot for the page's life, redrawn in place (axes follow each
        column) when the catalog, column, bins, log axes or flag filters change."""
        hv = self.hv
        from .views.catalog import histogram_element

        st = self.state
        streams = [hv.streams.Params(st, ["catalog_ref", "column", "log_x", "log_y", "bins", "require_flags",
                                          "exclude_flags"])]

        def bars(**_kw):
            try:
                hist = st.histogram()
            except (ExplorerError, TypeError) as exc:
                st.report(str(exc))
                hist = None
            except Exception as exc:  # a reader bug must not take the other views down
                log.exception("histogram")
                st.report(f"cannot histogram {st.column}: {type(exc).__name__}: {exc}")
                hist = None
            if hist is None:
                return hv.Histogram(([0.0, 1.0], [0.0]), kdims=["value"], vdims=["count"]).opts(
                    title="no histogram for this selection", logy=False)
            return histogram_element(hist, logy=st.log_y).opts(xlabel=hist.label)

        plot = hv.DynamicMap(bars, streams=streams).opts(
            hv.opts.Histogram(responsive=True, height=330, framewise=True, axiswise=True))
        return self.pn.pane.HoloViews(plot, linked_axes=False, sizing_mode="stretch_width", css_classes=["histogram"])

    def _histogram_caption_html(self) -> str:
        st = self.state
        if st.catalog_ref is None or not st.column:
            why = "no catalog goes with this image" if st.catalog_ref is None else "no numeric column chosen"
            return f'<div class="hist-caption" style="padding:6px;color:#777">{why}</div>'
        caption = f"{st.catalog_ref[0]} " + ", ".join(f"{k}={v}" for k, v in st.catalog_ref[1].items()
                                                      if k in ("visit", "detector", "tract", "patch", "band"))
        return f'<span class="hist-caption" style="color:#666;font-size:11px">{caption}</span>'

    def _histogram_view(self):
        """The histogram and its caption (what the page shows in the catalog card)."""
        return self.hist_pane

    # ----- exposure information ----------------------------------------------------------------------
    def _info_view(self):
        """The exposure information tabs (overview, WCS, VisitInfo, metadata), built once and given
        new rows for each exposure; a message while there is none."""
        from .views import info as vi

        pn = self.pn
        exposure = self.state.exposure()
        if exposure is None:
            if list(self.info_pane) != [self._info_message]:
                self.info_pane[:] = [self._info_message]
            return self.info_pane
        inf = exposure.info
        frames = {"Overview": vi.overview_table(inf, exposure.dataset_type, exposure.data_id),
                  "WCS": vi.wcs_table(inf), "VisitInfo": vi.visit_info_table(inf), "Metadata": vi.metadata_table(inf)}
        if not self._info_tables:
            for name, df in frames.items():
                self._info_tables[name] = pn.widgets.Tabulator(
                    df, show_index=False, disabled=True, layout="fit_data_stretch", sizing_mode="stretch_width",
                    height=330, header_filters=(name == "Metadata"))
            self._info_tabs = pn.Tabs(*self._info_tables.items(), sizing_mode="stretch_width", dynamic=True)
        else:
            for name, df in frames.items():
                self._info_tables[name].value = df
        if list(self.info_pane) != [self._info_tabs]:
            self.info_pane[:] = [self._info_tabs]
        return self.info_pane


# ----- serving ------------------------------------------------------------------------------------
def _query_from_session() -> dict[str, Any]:
    args = getattr(pn.state, "session_args", None) or {}
    return {k: (v[-1].decode("utf-8", "replace") if isinstance(v, list) and v and isinstance(v[-1], bytes) else v)
            for k, v in args.items()}


def create_app(repo: Optional[str] = None, repo_roots: Sequence[str] = (), title: str = "Repository explorer"):
    """The served page for one browser session: the query string chooses the selection, and the
    selection is written back to the URL so the view can be shared as a link."""
    query = _query_from_session()
    explorer = Explorer(repo=repo, repo_roots=repo_roots, query=query)
    state = explorer.state
    location = getattr(pn.state, "location", None)
    if location is not None:
        watched = ["repo_path", "collection", "image_kind", "band", "tract", "patch", "visit", "detector",
                   "plane", "stretch", "cmap", "mask_planes", "catalog", "column", "log_x", "log_y",
                   "sky_color", "show_footprints"]

        def push(*_events):
            from urllib.parse import urlencode

            try:
                location.search = "?" + urlencode(state.to_query())
            except Exception:  # the URL is a convenience; never break the page over it
                log.debug("could not update the URL", exc_info=True)

        state.param.watch(push, watched)
        push()
    return explorer.template(title)


def warm_up() -> None:
    """Compile the numba kernels and touch datashader once, so the first real view is fast.

    Runs parallel (OpenMP) code: a process that will fork must call it after the fork, not
    before (GNU OpenMP kills a forked child that runs parallel code after its parent did)."""
    from .repo.binning import bin_plane
    from .views.catalog import histogram
    from .views.raster import render_plane
    from .views.stretch import compute_limits

    img = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    for mask in (np.zeros((64, 64), np.int32), np.zeros((64, 64), np.uint16)):
        mask[3, 3] = 3
        lim = compute_limits(img)
        for rng in (None, (10.0, 20.0)):  # downsampling and upsampling paths
            render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"BAD": 0, "SAT": 1},
                         ["BAD"], 0.5, rng, rng, 32, 32)
        render_plane({"image": img, "mask": mask}, (0, 0), "mask", lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                     None, None, 32, 32)

        def binned(name, factor, mask=mask):  # the pyramid path (block means and ORs) of wide views
            return bin_plane(mask if name == "mask" else img, factor, is_mask=(name == "mask"))

        for plane in ("image", "mask"):
            render_plane({"image": img, "mask": mask}, (0, 0), plane, lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                         None, None, 8, 8, binned=binned)
    for arr in (img.ravel(), img.ravel().astype(np.float64), np.arange(10, dtype=np.int64),
                np.arange(10, dtype=np.int32)):
        for parallel in (False, True):  # short columns run serial kernels, long ones parallel ones
            histogram(arr, bins=10, parallel=parallel)
            histogram(arr, bins=10, log=True, parallel=parallel)
