"""Exposure information: overview, WCS, VisitInfo and metadata tabs, each built when first shown and
given new rows for each exposure while shown (a new table is a new Bokeh model, and every new model
makes Bokeh walk the page).
Values are shown whole: long ones wrap (:func:`whole_values`)."""
from __future__ import annotations

from typing import Any

import panel as pn

from ..views import info as vi
from .base import Panel
from .style import message_html, whole_table

ROWS_SHOWN = 15  # rows of two lines: the overview's, even narrow; the metadata's hundreds scroll


def whole_values(df) -> dict[str, Any]:
    """Tabulator options that show every value whole: the columns fill the table's width (no
    column wider than the view) and a long value (a WCS matrix, a file path, a header card's
    text) wraps onto more lines instead of being cut off with an ellipsis, also where it has no
    space (a file path); the table is as tall as its rows (:func:`~.style.whole_table`), so a
    wrapped value never pushes the last row out of view."""
    columns = list(df.columns)
    shares = [{"field": c, "widthGrow": 1 if i == 0 else 2, "minWidth": 90} for i, c in enumerate(columns)]
    return {"formatters": {c: {"type": "textarea"} for c in columns}, **whole_table(ROWS_SHOWN, shares)}


TABS = ("Overview", "WCS", "VisitInfo", "Metadata")


class InfoPanel(Panel):
    """What the exposure shown says about itself, one tab per table.

    Only the tab shown is built and kept up to date: another tab's table is made (or given the
    new exposure's rows) when it is chosen, so an exposure change does no work for tables the
    page does not show."""

    title = "Exposure information"

    def __init__(self, **params):
        super().__init__(**params)
        self.tables: dict[str, Any] = {}  # tab name -> its table, once the tab has been shown
        self._slots = {name: pn.Column(sizing_mode="stretch_width") for name in TABS}
        self._shows: dict[str, Any] = {}  # tab name -> the exposure its table shows (a key)
        self.tabs = pn.Tabs(*self._slots.items(), sizing_mode="stretch_width", dynamic=True)
        self.message = pn.pane.HTML(message_html("no exposure"), height=120)
        self.pane = pn.Column(sizing_mode="stretch_width")
        self.state.param.watch(lambda *_e: self.update(), ["exposure_ref"])
        self.tabs.param.watch(lambda *_e: self.update(), ["active"])
        self.update()

    @property
    def shown_tab(self) -> str:
        """The name of the tab shown."""
        return TABS[self.tabs.active]

    def frame(self, name: str):
        """The table ``name`` (one of :data:`TABS`) of the exposure shown (None when there is none)."""
        exposure = self.state.exposure()
        if exposure is None:
            return None
        inf = exposure.info
        if name == "Overview":
            return vi.overview_table(inf, exposure.dataset_type, self.named_data_id(exposure.data_id))
        return {"WCS": vi.wcs_table, "VisitInfo": vi.visit_info_table, "Metadata": vi.metadata_table}[name](inf)

    def named_data_id(self, data_id: Any) -> Any:
        """The data ID with a Gen3 sequential patch id followed by its "x,y" name, as the
        selectors say it (``patch=24 (3,3)``)."""
        if not data_id or not isinstance(data_id.get("patch"), int) or data_id.get("tract") is None:
            return data_id
        from ..index import patch_label

        try:
            name = patch_label(self.state.repo, data_id["tract"], data_id["patch"])
        except Exception:  # noqa: BLE001 - the raw id is still right
            return data_id
        return {**data_id, "patch": f"{data_id['patch']} ({name})"} if name != str(data_id["patch"]) else data_id

    def update(self):
        """Show the current exposure's table in the tab shown (or why there is none); returns the
        panel's column."""
        def fail(message: str):
            self.message.object = message_html(message, "panel-error", "#a33")
            return None

        exposure = self.state.exposure()
        name = self.shown_tab
        key = (self.state.exposure_ref, id(exposure))
        if exposure is None or self._shows.get(name) != key:
            df = self.safe("the exposure information", lambda: self.frame(name), fail)
            if df is None:
                if self.failure == "":
                    self.message.object = message_html("no exposure")
                self._shows.pop(name, None)
                if list(self.pane) != [self.message]:
                    self.pane[:] = [self.message]
                return self.pane
            table = self.tables.get(name)
            if table is None:
                self.tables[name] = pn.widgets.Tabulator(
                    df, show_index=False, disabled=True, sizing_mode="stretch_width",
                    header_filters=(name == "Metadata"), **whole_values(df))
                self._slots[name].objects = [self.tables[name]]
            elif not table.value.equals(df):  # (a band's coadd has its patch's WCS, ...)
                table.value = df
            self._shows[name] = key
        if list(self.pane) != [self.tabs]:
            self.pane[:] = [self.tabs]
        return self.pane

    def __panel__(self):
        return self.pane
