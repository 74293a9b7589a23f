"""Which catalog rows a selection keeps: a box or a lasso on the image, a range on the histogram.

The page links its views through these (issue 17): a box or lasso drawn on the image, or a range
selected on the histogram, filters the catalog table and highlights the sources. The rules are
plain numpy so they can be tested without a browser:

* a box ``(x0, y0, x1, y1)`` keeps rows with x and y inside it (edges included, corners in any order);
* a lasso ``(xs, ys)`` keeps rows inside the polygon (even-odd rule, vectorised over rows);
* a histogram range ``(lo, hi)`` is on the histogram's axis: with a log axis it bounds log10 of
  the value, so non-positive values are never inside it;
* several selections combine with AND.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["describe_selection", "in_box", "in_polygon", "in_range", "selection_mask", "table_frame"]


def in_box(x: np.ndarray, y: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Rows with (x, y) inside the box ``(x0, y0, x1, y1)`` (edges included)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x, y = np.asarray(x, float), np.asarray(y, float)
    return (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))


def in_polygon(x: np.ndarray, y: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Rows with (x, y) inside the polygon of vertices (xs, ys) (even-odd rule; fewer than three
    vertices select nothing)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    px, py = np.asarray(xs, float), np.asarray(ys, float)
    inside = np.zeros(x.shape, bool)
    n = len(px)
    if n < 3:
        return inside
    j = n - 1
    for i in range(n):
        xi, yi, xj, yj = px[i], py[i], px[j], py[j]
        crosses = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= crosses & (x < at)
        j = i
    return inside


def in_range(values: np.ndarray, value_range: Sequence[float], log: bool = False) -> np.ndarray:
    """Rows whose value (log10 of it with ``log``) is inside ``(lo, hi)`` (edges included)."""
    v = np.asarray(values, float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
    lo, hi = sorted(float(r) for r in value_range)
    with np.errstate(invalid="ignore"):
        return (v >= lo) & (v <= hi)


def selection_mask(x: np.ndarray, y: np.ndarray, values: np.ndarray | None = None,
                   box: Sequence[float] | None = None, lasso: Sequence[Sequence[float]] | None = None,
                   value_range: Sequence[float] | None = None, log: bool = False) -> np.ndarray:
    """Rows every given selection keeps (all rows when none is given)."""
    keep = np.ones(np.asarray(x).shape, bool)
    if box is not None:
        keep &= in_box(x, y, box)
    if lasso is not None:
        keep &= in_polygon(x, y, lasso[0], lasso[1])
    if value_range is not None and values is not None:
        keep &= in_range(values, value_range, log)
    return keep


def describe_selection(box: Any = None, lasso: Any = None, value_range: Any = None, column: str = "",
                       log: bool = False) -> str:
    """One line saying which selections are active ('' when none)."""
    parts = []
    if box is not None:
        x0, y0, x1, y1 = box
        parts.append(f"box x {min(x0, x1):.0f}..{max(x0, x1):.0f}, y {min(y0, y1):.0f}..{max(y0, y1):.0f}")
    if lasso is not None:
        parts.append(f"lasso of {len(lasso[0])} vertices")
    if value_range is not None:
        lo, hi = sorted(value_range)
        parts.append(f"{'log10(' + column + ')' if log else column} in {lo:.4g}..{hi:.4g}")
    return "; ".join(parts)


def table_frame(catalog: pd.DataFrame, positions: pd.DataFrame | None, columns: Sequence[str]) -> pd.DataFrame:
    """The catalog table: ``id``, ``x``, ``y`` (parent pixels, NaN where a row has no position on the
    image) and the chosen ``columns``, one row per catalog row, in catalog order.

    ``positions`` is what :func:`explorer.compute.sources.source_positions` returns for this
    ``catalog``: its index is the row's position in ``catalog``.
    """
    n = len(catalog)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    ids = np.arange(n)
    if positions is not None and len(positions):
        rows = positions.index.to_numpy()
        x[rows] = positions["x"].to_numpy(float)
        y[rows] = positions["y"].to_numpy(float)
    id_col = next((c for c in ("id", "objectId", "sourceId") if c in catalog.columns), None)
    if id_col is not None:
        ids = catalog[id_col].to_numpy()
    elif positions is not None and len(positions) == n:
        ids = positions["id"].to_numpy()
    out["id"] = ids
    out["x"] = x
    out["y"] = y
    for c in columns:
        if c in catalog.columns and c not in out.columns:
            out[c] = catalog[c].to_numpy()
    return out
