"""The current catalog's rows with their image positions, and the selection the views share.

:func:`catalog_rows` is the table every catalog tool starts from (``id``, ``x``, ``y``, the
histogram's column and any other columns asked for), memoised per state and selection so the
table, the highlight over the image and the scatter read the catalog once. :func:`selected_rows`
applies the image box/lasso and the histogram range (:mod:`explorer.compute.selection`).
Two image overlays are registered here: the marked source (a row clicked in the table) and the
selected sources.
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...compute.selection import selection_mask, table_frame
from ...compute.sources import position_columns, source_positions, wanted_columns
from ...state import ExplorerState
from ...views.catalog_tools import empty_points, marked_element, selected_element
from ..overlays import ImageOverlay, register_overlay

PAGE_SIZE = 15  # rows per page of the catalog table, from the repository or a HATS catalog
DEFAULT_EXTRA = 3  # besides id, x, y and the histogram's column, the first few flux columns are shown
SELECTION_PARAMS = ("selection_box", "selection_lasso", "selection_range")
ROWS_PARAMS = ("catalog_ref", "exposure_ref", "column", "require_flags", "exclude_flags")

_memo: weakref.WeakKeyDictionary[ExplorerState, tuple] = weakref.WeakKeyDictionary()


def catalog_schema(st: ExplorerState):
    """The current catalog's columns (raises ExplorerError)."""
    ref = st.catalog_ref
    return st.repo.catalog_schema(ref.dataset_type, ref.data_id, collections=st.collection or None)


def catalog_rows(st: ExplorerState, columns: Sequence[str] = ()) -> pd.DataFrame | None:
    """``id``, ``x``, ``y`` (parent pixels of the image shown; NaN off it), the histogram's column
    and ``columns`` of every row of the current catalog that passes the flag filters."""
    ref = st.catalog_ref
    if ref is None or st.repo is None:
        return None
    key = (ref, st.exposure_ref, st.column, tuple(st.require_flags), tuple(st.exclude_flags), tuple(columns))
    cached = _memo.get(st)
    if cached is not None and cached[0] == key:
        return cached[1]
    schema = catalog_schema(st)
    names = {c.name for c in schema}
    value = [st.column] if st.column in names else []
    cols = position_columns(schema, st.column)
    wanted = (wanted_columns(cols) if cols else []) + value + [c for c in columns if c in names]
    wanted += [c for c in ("id", "objectId", "sourceId") if c in names][:1]
    df = st.catalog_frame(list(dict.fromkeys(wanted)), ref)
    if df is None:
        return None
    df = df.reset_index(drop=True)
    exposure = st.exposure()
    positions = source_positions(exposure.info, df, cols) if (cols and exposure is not None) else None
    frame = table_frame(df, positions, value + list(columns))
    _memo[st] = (key, frame)
    return frame


def has_selection(st: ExplorerState) -> bool:
    return any(getattr(st, p) is not None for p in SELECTION_PARAMS)


def selected_rows(st: ExplorerState, frame: pd.DataFrame) -> np.ndarray:
    """Which rows of ``frame`` the image box/lasso and the histogram range keep."""
    values, log = None, st.log_x
    if st.column in frame.columns:  # on the histogram's axis (log10, or AB magnitudes)
        values, log, _mags = st.axis_values(frame[st.column].to_numpy(float), st.column)
    return selection_mask(frame["x"].to_numpy(float), frame["y"].to_numpy(float), values,
                          box=st.selection_box, lasso=st.selection_lasso, value_range=st.selection_range,
                          log=log)


def clear_selection(st: ExplorerState) -> None:
    """Forget the selections and the marked source (e.g. when another catalog is shown)."""
    st.param.update(selection_box=None, selection_lasso=None, selection_range=None, marked_source=None)


def _marked(st: ExplorerState, _x_range, _y_range):
    m = st.marked_source
    return marked_element(None if m is None else (m[1], m[2]))


def _selected(st: ExplorerState, _x_range, _y_range):
    if not has_selection(st):
        return empty_points("selected")
    frame = catalog_rows(st)
    if frame is None:
        return empty_points("selected")
    keep = selected_rows(st, frame) & np.isfinite(frame["x"].to_numpy(float))
    return selected_element(frame["x"].to_numpy(float)[keep], frame["y"].to_numpy(float)[keep])


MARKED_OVERLAY = register_overlay(ImageOverlay("the marked source", ("marked_source",), _marked,
                                               lambda: empty_points("marked"),
                                               shown=lambda st: st.marked_source is not None))
SELECTED_OVERLAY = register_overlay(ImageOverlay(
    "the selected sources", (*SELECTION_PARAMS, *ROWS_PARAMS, "log_x"), _selected, lambda: empty_points("selected"),
    shown=has_selection))
