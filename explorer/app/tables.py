"""A Tabulator that takes other columns by being replaced, never in place.

Panel's browser side applies a change of a Tabulator's columns at once (Tabulator's
``setColumns``), even while the table is still being built, as it is just after it is shown:
Tabulator then fails ("Cannot read properties of null (reading 'firstChild')") and the page logs
an error. A table shown empty and filled a moment later (a tool's card opened, then its rows
read) hit it on a busy machine. :class:`FreshColumnsTable` shows rows with other columns in a new
table instead, so a table is always built with the columns it shows.
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
import panel as pn


class FreshColumnsTable:
    """A Tabulator in a column of its own, rebuilt for other columns.

    Parameters
    ----------
    make : callable
        ``make(frame, **params) -> pn.widgets.Tabulator``: a table of ``frame`` with its callbacks
        wired (the same options each time; ``params`` are those :meth:`show` was given).
    **layout
        Options of the column that holds the table (``visible``, ``sizing_mode``, ...).
    """

    def __init__(self, make: Callable[..., pn.widgets.Tabulator], **layout: Any):
        self._make = make
        self.table = make(pd.DataFrame())
        self.layout = pn.Column(self.table, **layout)

    def show(self, frame: pd.DataFrame, **params: Any) -> None:
        """Show ``frame``: in the table shown when its columns and ``params`` (Tabulator options
        such as ``header_filters``) are the same, else in a new table made with them."""
        table = self.table
        same = (list(frame.columns) == list(table.value.columns)
                and all(getattr(table, name) == value for name, value in params.items()))
        if same:
            table.value = frame
            return
        self.table = self._make(frame, **params)
        self.layout.objects = [self.table]


class ShowsRows:
    """Something whose rows are shown in a :class:`FreshColumnsTable` (its ``rows_table``): the
    repository rows of the catalog table and its HATS rows. ``table`` is the Tabulator shown now,
    a new one after the columns change."""

    rows_table: FreshColumnsTable

    @property
    def table(self) -> pn.widgets.Tabulator:
        """The table of the rows shown."""
        return self.rows_table.table
