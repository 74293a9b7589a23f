"""Scatter plots of two columns: the points themselves when few, a datashader density grid when many.

:func:`scatter` decides: up to ``max_points`` rows (a few thousand: what a browser draws crisply)
the (x, y) values are returned; above, :func:`density` aggregates them on a ``width`` x ``height``
grid with datashader's ``Canvas.points`` (count per cell), which works the same on a pandas
DataFrame in process and on a Dask DataFrame (the aggregation then runs on the cluster, and only
the grid comes back). Column names may be derived expressions (``g - r``; see
:mod:`explorer.compute.columns`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ExplorerError
from .columns import evaluate, expression_columns

__all__ = ["DensityGrid", "ScatterPoints", "density", "scatter", "axis_values", "SCATTER_MAX_POINTS"]

SCATTER_MAX_POINTS = 5000


class ScatterError(ExplorerError):
    """A scatter or density map that cannot be made (no finite points, bad ranges)."""


@dataclass
class DensityGrid:
    """Counts of points per cell; ``counts[j, i]`` is the cell at x index i, y index j (y upward)."""

    counts: np.ndarray  # (height, width) int64
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    x: str
    y: str

    @property
    def total(self) -> int:
        return int(self.counts.sum())


@dataclass
class ScatterPoints:
    """The finite (x, y) pairs themselves."""

    x_values: np.ndarray
    y_values: np.ndarray
    x: str
    y: str


def axis_values(frame: Any, expr: str, zero_point_mag: Optional[float] = None) -> Any:
    """A column, or a derived expression of columns (``g - r``, ``mag(g_psfFlux)``,
    ``instmag(base_PsfFlux_instFlux)`` with the image's zero point), of a pandas/Dask DataFrame."""
    if expr in getattr(frame, "columns", []):
        col = frame[expr]
        return col.astype("float64") if hasattr(col, "astype") else np.asarray(col, np.float64)
    return evaluate(expr, frame, zero_point_mag)


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ScatterError("no finite values to place")
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _check_range(rng: Sequence[float], name: str) -> tuple[float, float]:
    lo, hi = float(rng[0]), float(rng[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ScatterError(f"bad {name} range {lo:g} {hi:g}: need finite LO < HI")
    return lo, hi


def density(frame: Any, x: str, y: str, x_range: Optional[Sequence[float]] = None,
            y_range: Optional[Sequence[float]] = None, width: int = 400, height: int = 400) -> DensityGrid:
    """Points per cell of ``x`` against ``y`` (columns or expressions) with datashader.

    ``frame`` is a pandas or Dask DataFrame; the ranges default to the finite extent of the data
    (one extra pass on Dask). Non-finite points are left out.
    """
    import datashader as ds
    import pandas as pd

    xs, ys = axis_values(frame, x), axis_values(frame, y)
    is_dask = hasattr(xs, "dask")
    if is_dask:
        import dask.dataframe as dd

        pts = dd.concat([xs.rename("x"), ys.rename("y")], axis=1)
        if x_range is None or y_range is None:
            import dask

            finite = pts[np.isfinite(pts["x"]) & np.isfinite(pts["y"])]
            lo = finite.min()
            hi = finite.max()
            lo, hi = dask.compute(lo, hi)
            if x_range is None:
                x_range = (float(lo["x"]), float(hi["x"]))
            if y_range is None:
                y_range = (float(lo["y"]), float(hi["y"]))
    else:
        pts = pd.DataFrame({"x": np.asarray(xs, np.float64), "y": np.asarray(ys, np.float64)})
        ok = np.isfinite(pts["x"].to_numpy()) & np.isfinite(pts["y"].to_numpy())
        if x_range is None:
            x_range = _finite_range(pts["x"].to_numpy()[ok])
        if y_range is None:
            y_range = _finite_range(pts["y"].to_numpy()[ok])
    xr_, yr_ = _check_range(x_range, "x"), _check_range(y_range, "y")
    canvas = ds.Canvas(plot_width=int(width), plot_height=int(height), x_range=xr_, y_range=yr_)
    agg = canvas.points(pts, "x", "y", agg=ds.count())
    return DensityGrid(np.asarray(agg.values, dtype=np.int64), xr_, yr_, x, y)


def scatter(frame: Any, x: str, y: str, max_points: int = SCATTER_MAX_POINTS, **density_kwargs) -> Any:
    """:class:`ScatterPoints` when the frame has at most ``max_points`` finite pairs, else a
    :class:`DensityGrid` (``density_kwargs``: ranges and grid size)."""
    xs = np.asarray(axis_values(frame, x), np.float64)
    ys = np.asarray(axis_values(frame, y), np.float64)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if np.count_nonzero(ok) <= max_points:
        return ScatterPoints(xs[ok], ys[ok], x, y)
    return density(frame, x, y, **density_kwargs)


def needed_columns(*exprs: str) -> list[str]:
    """Columns to read for these axes (plain names or expressions)."""
    out: list[str] = []
    for e in exprs:
        for n in expression_columns(e):
            if n not in out:
                out.append(n)
    return out
