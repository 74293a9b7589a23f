"""The sidebar: widgets bound to the state's parameters, and the mask-plane toggles with their colours.

Every widget carries a stable CSS class (``w-repo``, ``w-band``, ...) for browser tests and for
people styling a deployment. The visit and detector selectors can have thousands of values: each
is a :class:`~explorer.app.selectors.SearchableSelect` (``w-visit`` select, ``w-visit-search``
box, ``w-visit-count`` line), listing a bounded number of matches labelled with their counts.
"""
from __future__ import annotations

import html

import panel as pn

from ..index import OPTION_LIMIT, Option
from ..render.colors import hex_color
from .base import Panel, answer_at_once
from .selectors import SearchableSelect, TolerantSelect
from .style import HEADER, MASK_GROUP_CSS, MASK_SWATCHES, swatch


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
        # one checkbox group for every plane, coloured by its stylesheet (:func:`mask_swatch_styles`):
        # a row of widgets per plane was 66 Bokeh models and about 1 MB of each session
        self.mask_group = pn.widgets.CheckBoxGroup(options=[], value=[], sizing_mode="stretch_width",
                                                   margin=(0, 5), css_classes=["w-mask-planes"],
                                                   stylesheets=[MASK_GROUP_CSS])
        self.mask_group.param.watch(self._mask_toggled, "value")
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
                       self.skycolor_buttons, self.footprints_check, self.cells_check, self.mask_group)
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
        """The shown exposure's planes, in its order, ticked as the state says. A coadd and a
        calexp have different planes: the one group is given the new names and colours in place."""
        planes = list(self.state.param.mask_planes.objects)
        colors = self.state.mask_colors()
        exposure = self.state.exposure()
        described = exposure.info.mask_descriptions() if exposure is not None else {}
        self.mask_legend.object = mask_legend_html(planes, colors, described)
        shown = set(self.state.mask_planes)
        self._syncing_masks = True
        try:
            self.mask_group.param.update(options=planes, value=[n for n in planes if n in shown],
                                         styles=mask_swatch_styles(planes, colors), visible=bool(planes))
        finally:
            self._syncing_masks = False
        self._no_mask_note.visible = not planes

    def _mask_toggled(self, _event) -> None:
        if self._syncing_masks:  # (the group is being given another exposure's planes: not a person's choice)
            return
        chosen = list(self.mask_group.value)
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
            self.mask_group, self._no_mask_note, self.mask_legend, self.cells_check,
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
    rows = "".join(f'<dt data-plane="{html.escape(n, quote=True)}">{swatch(colors.get(n, "#888888"))}'
                   f'{html.escape(n)}</dt><dd style="margin:0 0 4px 18px;color:#555">'
                   f'{html.escape(descriptions.get(n, "(no description in the file)"))}</dd>' for n in planes)
    return (f'<details class="mask-legend" style="font-size:11px"><summary>what the mask planes mean</summary>'
            f'<dl style="margin:4px 0">{rows}</dl></details>')


def mask_swatch_styles(planes: list[str], colors: dict[str, str]) -> dict[str, str]:
    """The group's inline styles giving the ``k``-th plane's colour as ``--mask-k`` (read by
    :data:`~.style.MASK_GROUP_CSS`): a change of exposure changes a property of the one model, not
    its stylesheet (a new stylesheet is a new Bokeh model, and every new model makes Bokeh walk the
    page). Colours are given as the image draws them (afw's ``green`` is not CSS's). Planes past
    :data:`~.style.MASK_SWATCHES` have no swatch; the legend still lists them."""
    return {f"--mask-{k}": hex_color(colors.get(name, "#888888")) for k, name in enumerate(planes[:MASK_SWATCHES])}
