"""The catalog table: the current catalog's rows, paged, sorted and filtered on the server (Tabulator
with remote pagination: the browser holds one page), linked both ways with the image.

* a click on a row centres the image on that source and marks it (``state.marked_source``);
* a box or lasso on the image, or a range on the histogram, filters the rows
  (:func:`~.rows.selected_rows`), and the image highlights them.

With a HATS catalog open in the survey-catalog panel, "HATS" in ``catalog-table-source`` shows its
rows within the view's cone instead (:class:`HatsRowsTable`): the chosen columns only, read on the
Dask workers, and one page at a time comes to the server and the browser. A click on a column's
header sorts those rows and the header filters keep some of them; both are computed on the
workers (:meth:`explorer.compute.hats_rows.ConeRows.page`, :meth:`~explorer.compute.hats_rows.ConeRows.where`).

CSS hooks: ``catalog-table`` (the table), ``catalog-table-caption`` (rows shown of rows),
``catalog-table-source`` (repository or HATS), ``catalog-table-hats`` (the HATS page),
``hats-table-prev`` / ``hats-table-next`` (its pages), ``hats-table-caption`` (``data-total``:
rows in the cone that pass the filters, ``data-start``: the page's first row, ``data-sort``: the
column sorted by, ``data-filters``: filters applied).
"""
from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import NumberFormatter

from ...compute.axes import is_flux_column
from ...compute.selection import describe_selection
from ..base import Panel
from ..tables import FreshColumnsTable, ShowsRows
from .hats_table import HatsRowsTable
from .rows import (
    DEFAULT_EXTRA,
    PAGE_SIZE,
    ROWS_PARAMS,
    SELECTION_PARAMS,
    catalog_rows,
    catalog_schema,
    clear_selection,
    has_selection,
    selected_rows,
)



class CatalogTablePanel(Panel, ShowsRows):
    """Rows of the current catalog (flag filters, image and histogram selections applied)."""

    title = "Catalog table"

    def __init__(self, **params):
        super().__init__(**params)
        self.image = None
        self.columns = pn.widgets.MultiChoice(label="Columns", options=[], value=[], sizing_mode="stretch_width",
                                              css_classes=["catalog-table-columns"])
        self.clear = pn.widgets.Button(label="Clear selection", color="light", width=140,
                                       css_classes=["catalog-table-clear"])
        self.source = pn.widgets.RadioButtonGroup(options=["repository", "HATS"], value="repository", visible=False,
                                                  color="light", css_classes=["catalog-table-source"])
        self.hats_rows = HatsRowsTable(self)
        self.source.param.watch(lambda _e: self._on_source(), "value")
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width")
        self.rows_table = FreshColumnsTable(self._new_table, sizing_mode="stretch_width")
        self.clear.on_click(lambda _e: clear_selection(self.state))
        self.columns.param.watch(lambda _e: self.refresh(), "value")
        self.subscribe(self._on_catalog, ["catalog_ref"])
        self.subscribe(lambda *_e: self.refresh(), [*ROWS_PARAMS, *SELECTION_PARAMS, "log_x"], on_open=False)
        self._layout = pn.Column(pn.Row(self.columns, self.clear, sizing_mode="stretch_width"), self.caption,
                                 self.rows_table.layout, sizing_mode="stretch_width")

    def _new_table(self, frame: pd.DataFrame) -> pn.widgets.Tabulator:
        table = pn.widgets.Tabulator(
            frame, pagination="remote", page_size=PAGE_SIZE, disabled=True, show_index=False,
            header_filters=True, selectable=1, formatters={"id": NumberFormatter(format="0")},
            sizing_mode="stretch_width", height=460, css_classes=["catalog-table"])
        table.on_click(self._on_click)
        return table

    def attach(self, page: Any) -> None:
        self.image = page.panels.get("image")
        self.hats_rows.attach(page.panels.get("hats"))

    # ----- data --------------------------------------------------------------------------------
    def _on_catalog(self, *_events) -> None:
        """Another catalog: offer its columns, forget the selections made on the previous one."""
        st = self.state
        if self.source.value == "HATS":  # (the HATS rows follow the view, not the repository's catalog)
            self.hats_rows.refresh()
            return
        options: list[str] = []
        if st.catalog_ref is not None:
            schema = self.safe("the catalog's columns", lambda: catalog_schema(st), lambda _m: [])
            options = [c.name for c in schema]
        flux = [c for c in options if is_flux_column(c) and c != st.column]
        self.columns.param.update(options=options,
                                  value=[c for c in self.columns.value if c in options] or flux[:DEFAULT_EXTRA])
        if _events and has_selection(st):
            clear_selection(st)
        self.refresh()

    def frame(self) -> pd.DataFrame:
        """The rows the table shows now (every page)."""
        st = self.state
        rows = catalog_rows(st, self.columns.value)
        if rows is None:
            return pd.DataFrame()
        return rows[selected_rows(st, rows)] if has_selection(st) else rows

    def _on_source(self) -> None:
        """Repository catalog or HATS catalog: the columns offered and the table shown follow."""
        hats = self.source.value == "HATS"
        self.rows_table.layout.visible = self.caption.visible = self.clear.visible = not hats
        self.hats_rows.visible(hats)
        if hats:
            self.hats_rows.offer_columns()
        else:
            self._on_catalog()

    def refresh(self) -> None:
        if self.source.value == "HATS":
            self.hats_rows.refresh()
            return
        st = self.state
        total = [0]

        def build():
            rows = catalog_rows(st, self.columns.value)
            total[0] = 0 if rows is None else len(rows)
            return self.frame()

        df = self.safe("the catalog table", build, lambda _m: pd.DataFrame())
        self.rows_table.show(df)
        self.caption.object = self.caption_html(len(df), total[0])

    def caption_html(self, shown: int, total: int) -> str:
        st = self.state
        if st.catalog_ref is None:
            text = "no catalog goes with this image"
        else:
            text = f"{shown:,} of {total:,} rows of {html.escape(st.catalog_ref.dataset_type)}"
            sel = describe_selection(st.selection_box, st.selection_lasso, st.selection_range, st.column or "",
                                     st.log_x)
            if sel:
                text += f" · selection: {html.escape(sel)}"
        return (f'<div class="catalog-table-caption" data-rows="{shown}" data-total="{total}" '
                f'style="color:#666;font-size:12px">{text}</div>')

    # ----- the link to the image -----------------------------------------------------------------
    def _on_click(self, event) -> None:
        df = self.table.value
        if event.row is None or not (0 <= event.row < len(df)):
            return
        self.mark(int(event.row))

    def mark(self, row: int) -> bool:
        """Centre the image on the source of the table's row ``row`` (0-based, over every page) and
        mark it; False when that row has no position on the image."""
        df = self.table.value
        ident = df["id"].to_numpy()[row]
        x, y = float(df["x"].to_numpy()[row]), float(df["y"].to_numpy()[row])
        ident = ident.item() if hasattr(ident, "item") else ident
        if not (math.isfinite(x) and math.isfinite(y)):
            self.state.report(f"source {ident} has no position on this image")
            return False
        self.state.marked_source = (ident, x, y)
        if self.image is not None:
            self.image.center_on(x, y)
        return True

    def __panel__(self):
        if getattr(self, "_outer", None) is None:
            self._outer = pn.Column(self.source, self._layout, self.hats_rows.layout, sizing_mode="stretch_width")
        return self._outer
