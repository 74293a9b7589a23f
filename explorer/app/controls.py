"""The sidebar: widgets bound to the state's parameters, and the mask-plane toggles with their colours.

Every widget carries a stable CSS class (``w-repo``, ``w-band``, ...) for browser tests and for
people styling a deployment. The visit and detector selectors can have thousands of values: each
is a :class:`~explorer.app.selectors.SearchableSelect` (``w-visit`` select, ``w-visit-search``
box, ``w-visit-count`` line), listing a bounded number of matches labelled with their counts.
"""
from __future__ import annotations

import html
from typing import Any

import panel as pn

from ..index import OPTION_LIMIT, Option
from .base import Panel, answer_at_once
from .selectors import SearchableSelect, TolerantSelect
from .style import HEADER, MASK_TOGGLE_CSS, swatch


class Controls(Panel):
    """Repository, selection, display, catalog and sky-map controls."""

    title = "Controls"

    def __init__(self, **params):
        super().__init__(**params)
        s, w = self.state, pn.widgets
        outline = dict(color="primary", variant="outline")
        self.repo_input = w.TextInput.from_param(s.param.repo_path, label="Repository",
                                                 placeholder="path to a Gen3 or Gen2 repository")
        self.open_button = w.Button(label="Open", color="primary", width=70, align="end")
        self.open_button.on_click(lambda _e: s.open(self.repo_input.value_input or self.repo_input.value, typed=True))
        self.collection_select = TolerantSelect.from_param(s.param.collection, label="Collection")
        self.kind_buttons = w.RadioButtonGroup.from_param(s.param.image_kind, label="Image", **outline)
        s.param.watch(self._kind_layout, "image_kind", what="objects")  # (the names are the repository's)
        self.band_buttons = w.RadioButtonGroup.from_param(s.param.band, label="Band", **outline)
        self.tract_select = TolerantSelect.from_param(s.param.tract, label="Tract")
        self.patch_select = TolerantSelect.from_param(s.param.patch, label="Patch")
        self.visit_selector = SearchableSelect(s, "visit", "Visit", self.visit_options, "w-visit",
                                               placeholder="search visits", noun="visits")
        self.detector_selector = SearchableSelect(s, "detector", "Detector", self.detector_options, "w-detector",
                                                  placeholder="search detectors", noun="detectors")
        self.visit_select, self.detector_select = self.visit_selector.select, self.detector_selector.select
        self.plane_buttons = w.RadioButtonGroup.from_param(s.param.plane, label="Plane", **outline)
        self.stretch_buttons = w.RadioButtonGroup.from_param(s.param.stretch, label="Stretch", **outline)
        self.cmap_select = TolerantSelect.from_param(s.param.cmap, label="Colour map")
        self.alpha_slider = w.FloatSlider.from_param(s.param.mask_alpha, label="Mask opacity")
        self.mask_box = pn.Column(sizing_mode="stretch_width", margin=(0, 5))
        self.mask_checks: dict[str, Any] = {}  # plane name -> its checkbox (for the planes shown)
        self._mask_rows: list[tuple[Any, Any, Any]] = []  # (swatch, checkbox, row), reused across exposures
        self._syncing_masks = False
        self._no_mask_note = pn.pane.HTML("<i>no mask plane</i>", visible=False)
        self.catalog_select = TolerantSelect.from_param(s.param.catalog, label="Catalog")
        self.column_select = TolerantSelect.from_param(s.param.column, label="Histogram column")
        self.logx_check = w.Checkbox.from_param(s.param.log_x, label="log10 of the column")
        self.mag_check = w.Checkbox.from_param(s.param.hist_mag, label="flux as AB magnitudes")
        self.logy_check = w.Checkbox.from_param(s.param.log_y, label="log count axis")
        self.bins_slider = w.IntSlider.from_param(s.param.bins, label="Bins")
        self.require_choice = w.MultiChoice.from_param(s.param.require_flags, label="Require flags")
        self.exclude_choice = w.MultiChoice.from_param(s.param.exclude_flags, label="Exclude flags")
        self.sources_check = w.Checkbox.from_param(s.param.show_sources, label="Sources on the image")
        self.skycolor_buttons = w.RadioButtonGroup.from_param(s.param.sky_color, label="Colour tracts by", **outline)
        self.footprints_check = w.Checkbox.from_param(s.param.show_footprints, label="Calexp footprints")
        self.cells_check = w.Checkbox.from_param(s.param.show_cells, label="Cell grid (cell coadds)",
                                                 css_classes=["w-cells"])
        self.mask_legend = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10))
        for widget in (self.repo_input, self.collection_select, self.kind_buttons, self.band_buttons,
                       self.tract_select, self.patch_select, self.visit_select, self.detector_select,
                       self.plane_buttons, self.stretch_buttons, self.cmap_select, self.alpha_slider,
                       self.catalog_select, self.column_select, self.bins_slider, self.require_choice,
                       self.exclude_choice, self.skycolor_buttons):
            widget.sizing_mode = "stretch_width"
        for widget, css in ((self.repo_input, "w-repo"), (self.collection_select, "w-collection"),
                            (self.kind_buttons, "w-kind"), (self.band_buttons, "w-band"),
                            (self.tract_select, "w-tract"), (self.patch_select, "w-patch"),
                            (self.plane_buttons, "w-plane"), (self.stretch_buttons, "w-stretch"),
                            (self.catalog_select, "w-catalog"), (self.column_select, "w-column"),
                            (self.logx_check, "w-logx"), (self.mag_check, "w-hist-mag"), (self.logy_check, "w-logy"),
                            (self.require_choice, "w-require"), (self.exclude_choice, "w-exclude"),
                            (self.sources_check, "w-sources"), (self.open_button, "w-open")):
            widget.css_classes = [css]
        answer_at_once(self.collection_select, self.kind_buttons, self.band_buttons, self.tract_select,
                       self.patch_select, self.visit_select, self.detector_select, self.plane_buttons,
                       self.stretch_buttons, self.cmap_select, self.catalog_select, self.column_select,
                       self.logx_check, self.mag_check, self.logy_check, self.sources_check,
                       self.skycolor_buttons, self.footprints_check, self.cells_check)
        self.visit_note = pn.pane.Markdown(s.param.visit_note, styles={"color": "#666", "font-size": "11px"},
                                           margin=(0, 10))
        s.param.watch(self._sync_masks, ["exposure_ref", "mask_planes"])
        self._kind_layout()
        self._sync_masks()
        self._layout = None

    def _kind_layout(self, *_events) -> None:
        """More than two kinds (difference images, templates): one button per line, as their
        names (difference_image, template_coadd) do not fit side by side in the sidebar."""
        many = len(self.state.param.image_kind.objects) > 2
        self.kind_buttons.orientation = "vertical" if many else "horizontal"

    # ----- long option lists: bounded, searchable, counted --------------------------------------
    def visit_options(self, values, search: str, limit: int = OPTION_LIMIT) -> tuple[list[Option], int]:
        """The visits offered that match ``search`` (a part of the number), at most ``limit``, each
        labelled with its band and how many of its detectors overlap the patch (the index's)."""
        st, text = self.state, (search or "").strip()
        matched = [v for v in values if not text or text in str(v)]
        if st.index is None:
            return [Option(v, str(v), 0) for v in matched[:limit]], len(matched)
        return st.index.describe_visits(matched[:limit], st.tract, st.patch), len(matched)

    def detector_options(self, values, search: str, limit: int = OPTION_LIMIT) -> tuple[list[Option], int]:
        """The detectors offered that match ``search`` (id or name), those overlapping the patch
        first and labelled so; registered detectors whose file is absent say "(not on disk)"."""
        st, text = self.state, (search or "").strip()
        # the state names a registered detector whose file is absent "<id> (not on disk)" (a Selector
        # given a {label: value} mapping keeps the labels in ``names`` and the values in ``objects``)
        named = getattr(st.param.detector, "names", None) or {}
        absent = {v for k, v in named.items() if str(k).endswith("(not on disk)")}
        offered = set(values)
        described = st.index.detector_options(st.visit, st.tract, st.patch, search=text, limit=len(offered) + 1) \
            if st.index is not None and st.visit is not None else []
        listed = [o for o in described if o.value in offered]
        known = {o.value for o in listed}
        listed += [Option(v, str(v), 0) for v in values if v not in known and (not text or text in str(v))]
        out = [Option(o.value, o.label + (" (not on disk)" if o.value in absent else ""), o.count) for o in listed]
        return out[:limit], len(out)

    # ----- mask toggles + legend -----------------------------------------------------------------
    def _sync_masks(self, *_events) -> None:
        planes = list(self.state.param.mask_planes.objects)
        colors = self.state.mask_colors()
        exposure = self.state.exposure()
        described = exposure.info.mask_descriptions() if exposure is not None else {}
        self.mask_legend.object = mask_legend_html(planes, colors, described)
        shown = set(self.state.mask_planes)
        if len(planes) > len(self._mask_rows) or not self.mask_box.objects:
            self._build_mask_rows(len(planes))
        # A coadd and a calexp have different planes: the rows are reused, relabelled in place
        # (rebuilding them made ~46 Bokeh models, ~150 ms of an image-kind switch)
        self._syncing_masks = True
        try:
            self.mask_checks = {}
            for i, (swatch_pane, box, row) in enumerate(self._mask_rows):
                if i >= len(planes):
                    row.visible = False
                    continue
                name = planes[i]
                tip = html.escape(described.get(name, name), quote=True)
                swatch_pane.object = (f'<span class="mask-swatch" title="{tip}">'
                                      f'{swatch(colors.get(name, "#888"))}</span>')
                box.param.update(label=name, value=name in shown)
                row.visible = True
                self.mask_checks[name] = box
        finally:
            self._syncing_masks = False
        self._no_mask_note.visible = not planes

    def _build_mask_rows(self, count: int) -> None:
        """Rows (colour swatch, checkbox) for ``count`` mask planes, in two columns."""
        self._mask_rows = []
        for _ in range(count):
            # long names (DETECTED_NEGATIVE) must stay on one line, or rows overlap
            box = pn.widgets.Checkbox(label="", value=False, margin=(0, 0), height=18, width=142,
                                      css_classes=["mask-toggle"], stylesheets=[MASK_TOGGLE_CSS])
            box.param.watch(self._mask_toggled, "value")
            answer_at_once(box)
            swatch_pane = pn.pane.HTML("", width=18, margin=(0, 0))
            self._mask_rows.append((swatch_pane, box, pn.Row(swatch_pane, box, margin=(0, 0), height=20)))
        rows = [row for _swatch, _box, row in self._mask_rows]
        half = (len(rows) + 1) // 2
        self.mask_box[:] = [pn.Row(pn.Column(*rows[:half], margin=0), pn.Column(*rows[half:], margin=0), margin=0),
                            self._no_mask_note]

    def _mask_toggled(self, _event) -> None:
        if self._syncing_masks:  # (the rows are being relabelled: not a person's choice)
            return
        chosen = [n for n, box in self.mask_checks.items() if box.value]
        if set(chosen) != set(self.state.mask_planes):
            self.state.mask_planes = chosen

    def set_all_masks(self, on: bool) -> None:
        """Show every mask plane, or none."""
        self.state.mask_planes = list(self.state.param.mask_planes.objects) if on else []

    def __panel__(self):
        if self._layout is not None:
            return self._layout
        mask_buttons = pn.Row(pn.widgets.Button(label="all", width=50, height=28),
                              pn.widgets.Button(label="none", width=50, height=28))
        mask_buttons[0].on_click(lambda _e: self.set_all_masks(True))
        mask_buttons[1].on_click(lambda _e: self.set_all_masks(False))
        self._layout = pn.Column(
            pn.pane.HTML("Repository", styles=HEADER),
            pn.Row(self.repo_input, self.open_button, sizing_mode="stretch_width"),
            self.collection_select,
            pn.pane.HTML("Selection", styles=HEADER),
            self.kind_buttons, self.band_buttons, pn.Row(self.tract_select, self.patch_select),
            pn.Row(self.visit_selector, self.detector_selector, sizing_mode="stretch_width"), self.visit_note,
            pn.pane.HTML("Display", styles=HEADER),
            self.plane_buttons, self.stretch_buttons, pn.Row(self.cmap_select, self.alpha_slider),
            pn.Row(pn.pane.HTML("Mask planes", styles={"font-size": "12px"}), mask_buttons),
            self.mask_box, self.mask_legend, self.cells_check,
            pn.pane.HTML("Catalog", styles=HEADER),
            self.catalog_select, self.column_select, pn.Row(self.logx_check, self.logy_check), self.mag_check,
            self.bins_slider, self.require_choice, self.exclude_choice, self.sources_check,
            pn.pane.HTML("Sky map", styles=HEADER),
            self.skycolor_buttons, self.footprints_check,
            sizing_mode="stretch_width",
        )
        return self._layout


def mask_legend_html(planes: list[str], colors: dict[str, str], descriptions: dict[str, str]) -> str:
    """What each mask plane means, as the file describes it (lsst.images' schema, afw's defaults),
    folded under the toggles (CSS hook ``mask-legend``; one ``dt`` per plane, ``data-plane``)."""
    if not planes or not descriptions:
        return ""
    rows = "".join(f'<dt data-plane="{html.escape(n, quote=True)}">{swatch(colors.get(n, "#888"))}'
                   f'{html.escape(n)}</dt><dd style="margin:0 0 4px 18px;color:#555">'
                   f'{html.escape(descriptions.get(n, "(no description in the file)"))}</dd>' for n in planes)
    return (f'<details class="mask-legend" style="font-size:11px"><summary>what the mask planes mean</summary>'
            f'<dl style="margin:4px 0">{rows}</dl></details>')
