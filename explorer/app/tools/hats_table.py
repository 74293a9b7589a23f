"""The catalog table's HATS rows: a survey catalog's rows within the view's cone, one page at a time.

The rows stay on the Dask workers (:func:`explorer.compute.hats_rows.cone_rows`); a page, a sort by
a column's header and the header filters are computed there, and only the page reaches the server
and the browser. Shown by :class:`explorer.app.tools.table.CatalogTablePanel` when its source is
"HATS" (CSS hooks: see that module).
"""
from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import panel as pn

from ...compute.axes import is_flux_column
from ...errors import ExplorerError
from ..tables import FreshColumnsTable, ShowsRows
from .rows import DEFAULT_EXTRA, PAGE_SIZE

if TYPE_CHECKING:
    from .table import CatalogTablePanel

class HatsRowsTable(ShowsRows):
    """The catalog table's HATS mode: rows of the open HATS catalog within the view's cone
    (:func:`~explorer.app.tools.hats_source.view_cone`), the chosen columns only, loaded into the
    Dask workers' memory (:func:`explorer.compute.hats_rows.cone_rows`) and fetched a page at a time.
    A click on a row marks and centres that source on the image, as in the repository mode.

    Sorting (a click on a column's header: Tabulator's ``sorters``) and filtering (its header
    filters: ``>=`` a number for a float column, ``=`` for an integer one; a value with its own
    operator or one bound of a range - ``> 20``, ``..30``, ``[20, None]`` - is understood too:
    :func:`~explorer.compute.hats_rows.row_filters`) apply to every row in the cone, not to the
    page: they are computed on the workers and the page comes back. Loads, sorts, filters and
    page turns all run in the background (:class:`~.hats_source.BackgroundWork`), so a slow one
    never holds up the session's other events; the caption says what is being fetched meanwhile.
    """

    DEFAULT_COLUMNS = ("objectId", "coord_ra", "coord_dec")

    def __init__(self, owner: CatalogTablePanel):
        from .hats_source import BackgroundWork

        self.owner = owner
        self.state = owner.state
        self.hats = None
        self.base = None  # the ConeRows of the current choice (catalog, columns, cone)
        self.rows = None  # those that pass the header filters
        self.sort: tuple[str, bool] | None = None  # (column, ascending)
        self.filters: tuple = ()  # the RowFilters applied
        self.start = 0
        self.asked = 0  # the first row of the page asked for (shown once it arrives: ``start``)
        self.loading = False  # rows being read, filtered or sorted on Dask: no page to turn yet
        self.frame = pd.DataFrame()
        self.work = BackgroundWork("hats-table")
        self.rows_table = FreshColumnsTable(self._new_table, sizing_mode="stretch_width")
        self.prev = pn.widgets.Button(label="◀ previous", width=110, css_classes=["hats-table-prev"])
        self.next = pn.widgets.Button(label="next ▶", width=110, css_classes=["hats-table-next"])
        self.prev.on_click(lambda _e: self.turn(-1))
        self.next.on_click(lambda _e: self.turn(+1))
        self.caption = pn.pane.HTML(self._caption("no HATS catalog open"), sizing_mode="stretch_width")
        self.layout = pn.Column(pn.Row(self.prev, self.next, self.caption, sizing_mode="stretch_width"),
                                self.rows_table.layout,
                                visible=False, sizing_mode="stretch_width")

    def _new_table(self, frame: pd.DataFrame, header_filters: dict | None = None) -> pn.widgets.Tabulator:
        """A table of ``frame`` with these header filters, showing the current sort, wired to
        sort, filter and mark on the workers."""
        table = pn.widgets.Tabulator(frame, header_filters=header_filters or {}, pagination=None, disabled=True,
                                     show_index=False, selectable=1, sizing_mode="stretch_width", height=460,
                                     css_classes=["catalog-table-hats"])
        if self.sort and self.sort[0] in frame.columns:
            table.sorters = [{"field": self.sort[0], "dir": "asc" if self.sort[1] else "desc"}]
        table.on_click(self._on_click)
        table.param.watch(lambda e: self.sort_by(*(_first_sorter(e.new) or (None, True))), "sorters")
        table.param.watch(lambda e: self.filter_by(e.new), "filters")
        return table

    def attach(self, hats) -> None:
        self.hats = hats
        if hats is not None:
            hats.param.watch(lambda _e: self._on_hats_catalog(), ["catalog"])
            self.state.param.watch(lambda *_e: self.active() and self.refresh(), ["zoom"])
            self._on_hats_catalog()  # (a catalog opened before this table was made: offer it)

    def active(self) -> bool:
        return self.owner.source.value == "HATS"

    def visible(self, on: bool) -> None:
        self.layout.visible = on

    def _on_hats_catalog(self) -> None:
        open_ = bool(self.hats is not None and self.hats.catalog)
        self.owner.source.visible = open_
        self.base = self.rows = None
        if not open_ and self.active():
            self.owner.source.value = "repository"
        elif self.active():
            self.offer_columns()

    def offer_columns(self) -> None:
        """The HATS catalog's columns in the column chooser (the default: id, position, the HATS
        panel's column and a few fluxes); setting them refreshes the table."""
        options = list(self.hats.all_columns) if self.hats is not None else []
        chosen = [c for c in self.owner.columns.value if c in options]
        if not chosen:
            flux = [c for c in options if is_flux_column(c)]
            chosen = [c for c in self.DEFAULT_COLUMNS if c in options]
            chosen += [c for c in [self.hats.column.value, *flux[:DEFAULT_EXTRA]] if c in options and c not in chosen]
        if self.owner.columns.options == options and self.owner.columns.value == chosen:
            self.refresh()
        else:
            self.owner.columns.param.update(options=options, value=chosen)

    def _columns(self) -> list[str]:
        cols = [c for c in self.owner.columns.value if c in (self.hats.all_columns if self.hats else [])]
        return list(dict.fromkeys([*[c for c in self.DEFAULT_COLUMNS if self.hats and c in self.hats.all_columns],
                                   *cols]))

    def refresh(self) -> None:
        """Load the rows of the current choice (catalog, columns, cone) on the workers, then show
        the first page."""
        if self.hats is None or not self.hats.catalog:
            return
        from ...compute.hats_rows import cone_rows
        from .hats_source import describe_cone, shared_client, view_cone

        path, columns = self.hats.catalog, self._columns()
        sky = view_cone(self.state)
        self._busy(f"reading {len(columns)} columns of {describe_cone(sky)} on Dask ...", load=True)

        sort = self.sort if self.sort and self.sort[0] in columns else None
        filters = tuple(f for f in self.filters if f.column in columns)

        def work(on_job):
            base = cone_rows(path, columns, shared_client(), sky=sky, on_job=on_job)
            rows = base.where(filters)
            return base, rows, rows.page(0, PAGE_SIZE, sort=sort)

        def done(result):
            self.base, self.rows, self.start = result[0], result[1], 0
            self.sort, self.filters = sort, filters
            self._show(result[2], sky)

        self.work.start(work, done, self._failed)

    def sort_by(self, column: str | None, ascending: bool = True) -> None:
        """Sort every row of the cone by ``column`` (None: the catalog's order), on the workers,
        and show the first page."""
        sort = None if column is None else (str(column), bool(ascending))
        if sort == self.sort:
            return
        self.sort = sort
        self._reload(self.filters)

    def filter_by(self, filters) -> None:
        """Keep the rows of the cone that pass Tabulator's header ``filters`` (computed on the
        workers from the cone's rows, no parquet read) and show the first page."""
        from ...compute.hats_rows import row_filters

        try:
            parsed = row_filters(filters)
        except ExplorerError as exc:
            self._failed(exc)
            return
        if parsed == self.filters:
            return
        self._reload(parsed)

    def _reload(self, filters: tuple) -> None:
        """Filter and sort the current rows again (the newest request wins: sort and filters are
        recorded at once, so two changes in a row both apply)."""
        self.filters = filters
        base, sort = self.base, self.sort
        if base is None:
            return
        self._busy("sorting and filtering the rows on Dask ...", load=True)

        def work(_on_job):
            rows = base.where(filters)
            return rows, rows.page(0, PAGE_SIZE, sort=sort)

        def done(result):
            self.rows, self.start = result[0], 0
            self._show(result[1], base.sky)

        self.work.start(work, done, self._failed)

    def turn(self, step: int) -> None:
        """Another page (``step`` pages on from the page last asked for; clamped to the rows there
        are), fetched from the workers in the background: the session's other changes are handled
        meanwhile, a newer turn supersedes this one. Nothing to turn while the rows load."""
        rows = self.rows
        if rows is None or self.loading:
            return
        last = max(0, (rows.total - 1) // PAGE_SIZE * PAGE_SIZE)
        start = min(max(0, self.asked + step * PAGE_SIZE), last)
        if start == self.asked and not self.frame.empty:
            return
        self.asked = start
        sort = self.sort
        self._busy(f"fetching rows {start + 1:,}-{min(rows.total, start + PAGE_SIZE):,} on Dask ...")

        def work(_on_job):
            return rows.page(start, PAGE_SIZE, sort=sort)

        def done(frame):
            self.start = start
            self._show(frame, rows.sky)

        self.work.start(work, done, self._failed)

    def _busy(self, text: str, load: bool = False) -> None:
        """Say what is being fetched, in the caption (``load``: rows being read, sorted or
        filtered, so no page turns until they are there). The caption, not Panel's spinner over
        the table: it says what is being fetched. (The spinner was blamed for a "reading
        'firstChild'" page error whose traced cause was Tabulator's columns being set while it
        was built; :mod:`explorer.app.tables` removes that.)"""
        self.loading = self.loading or load
        self.caption.object = self._caption(text, loading=1)

    def _show(self, frame: pd.DataFrame, sky) -> None:
        from .hats_source import describe_cone

        self.loading = False
        self.asked = self.start
        self.frame = frame.drop(columns=["_healpix_29"], errors="ignore")
        self.rows_table.show(self.frame, header_filters=self._header_filters(self.frame))
        total = self.rows.total if self.rows is not None else 0
        shown = f"rows {self.start + 1:,}-{self.start + len(frame):,}" if len(frame) else "no rows"
        text = f"{shown} of {total:,} in {describe_cone(sky)}"
        if self.filters:
            text += " passing " + " and ".join(f"{f.column} {f.op} {f.value:g}" if f.op != "like"
                                               else f"{f.column} like {f.value!r}" for f in self.filters)
        if self.sort:
            text += f", sorted by {self.sort[0]} ({'ascending' if self.sort[1] else 'descending'})"
        self.caption.object = self._caption(text, total=total, start=self.start, rows=len(frame),
                                            sort=(f"{self.sort[0]}:{'asc' if self.sort[1] else 'desc'}"
                                                  if self.sort else ""), filters=len(self.filters))

    @staticmethod
    def _header_filters(frame: pd.DataFrame) -> dict:
        """A header filter per column: ``=`` for integers (ids), ``>=`` for other numbers."""
        out = {}
        for name, dtype in frame.dtypes.items():
            if dtype.kind in "iu":
                out[name] = {"type": "number", "func": "=", "placeholder": "="}
            elif dtype.kind == "f":
                out[name] = {"type": "number", "func": ">=", "placeholder": "≥"}
            else:
                out[name] = {"type": "input", "func": "like", "placeholder": "contains"}
        return out

    def _failed(self, exc: BaseException) -> None:
        from ..base import describe_failure

        message = f"the HATS rows failed: {describe_failure(exc)}"
        self.loading = False
        self.asked = self.start
        self.caption.object = self._caption(message, failed=1)
        self.state.report(message)

    @staticmethod
    def _caption(text: str, **data: Any) -> str:
        attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
        return (f'<div class="hats-table-caption"{attrs} style="color:#666;font-size:12px">'
                f"{html.escape(text)}</div>")

    def _on_click(self, event) -> None:
        if event.row is not None and 0 <= event.row < len(self.frame):
            self.mark(int(event.row))

    def mark(self, row: int) -> bool:
        """Mark and centre the source of the page's row ``row`` on the image (by its RA/Dec)."""
        exposure = self.state.exposure()
        frame = self.frame  # (column by column: a row as one Series would turn 64-bit ids into floats)
        ident = frame["objectId"].to_numpy()[row] if "objectId" in frame.columns else self.start + row
        ident = ident.item() if hasattr(ident, "item") else ident
        if exposure is None or not exposure.info.has_sky or "coord_ra" not in frame.columns:
            self.state.report(f"source {ident} cannot be placed on this image")
            return False
        ra, dec = frame["coord_ra"].to_numpy(float)[row:row + 1], frame["coord_dec"].to_numpy(float)[row:row + 1]
        x, y = exposure.info.sky_to_pixel(ra, dec)
        x, y = float(np.asarray(x)[0]), float(np.asarray(y)[0])
        if not (math.isfinite(x) and math.isfinite(y)):
            self.state.report(f"source {ident} has no position on this image")
            return False
        self.state.marked_source = (ident, x, y)
        if self.owner.image is not None:
            self.owner.image.center_on(x, y)
        return True

    def wait(self, timeout: float = 300.0) -> None:
        """Wait for the running load (tests, notebooks)."""
        self.work.wait(timeout)


def _first_sorter(sorters) -> tuple[str, bool] | None:
    """(column, ascending) of Tabulator's first sorter, or None."""
    for s in sorters or ():
        if s.get("field"):
            return str(s["field"]), s.get("dir", "asc") != "desc"
    return None
