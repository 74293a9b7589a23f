"""Exposure information: overview, WCS, VisitInfo and metadata tabs, built once and given new rows
for each exposure (a new table is a new Bokeh model, and every new model makes Bokeh walk the page).
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


class InfoPanel(Panel):
    """What the exposure shown says about itself."""

    title = "Exposure information"

    def __init__(self, **params):
        super().__init__(**params)
        self.tables: dict[str, Any] = {}
        self.tabs = None
        self.message = pn.pane.HTML(message_html("no exposure"), height=120)
        self.pane = pn.Column(sizing_mode="stretch_width")
        self.state.param.watch(lambda *_e: self.update(), ["exposure_ref"])
        self.update()

    def frames(self):
        """The tables of the exposure shown (None when there is none)."""
        exposure = self.state.exposure()
        if exposure is None:
            return None
        inf = exposure.info
        return {"Overview": vi.overview_table(inf, exposure.dataset_type, self.named_data_id(exposure.data_id)),
                "WCS": vi.wcs_table(inf), "VisitInfo": vi.visit_info_table(inf), "Metadata": vi.metadata_table(inf)}

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
        """Show the current exposure's tables (or why there are none); returns the panel's column."""
        def fail(message: str):
            self.message.object = message_html(message, "panel-error", "#a33")
            return None

        frames = self.safe("the exposure information", self.frames, fail)
        if frames is None:
            if self.failure == "":
                self.message.object = message_html("no exposure")
            if list(self.pane) != [self.message]:
                self.pane[:] = [self.message]
            return self.pane
        if not self.tables:
            for name, df in frames.items():
                self.tables[name] = pn.widgets.Tabulator(
                    df, show_index=False, disabled=True, sizing_mode="stretch_width",
                    header_filters=(name == "Metadata"), **whole_values(df))
            self.tabs = pn.Tabs(*self.tables.items(), sizing_mode="stretch_width", dynamic=True)
        else:
            for name, df in frames.items():
                if not self.tables[name].value.equals(df):  # (a band's coadd has its patch's WCS, ...)
                    self.tables[name].value = df
        if list(self.pane) != [self.tabs]:
            self.pane[:] = [self.tabs]
        return self.pane

    def __panel__(self):
        return self.pane
