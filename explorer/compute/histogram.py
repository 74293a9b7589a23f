"""Histograms that agree with numpy exactly, for one array or merged over many partitions.

``np.histogram(values, bins, range=(lo, hi))`` puts a value in bin ``k`` when ``edges[k] <= x <
edges[k+1]`` (the last bin closed), with ``edges = np.linspace(lo, hi, bins + 1)``; counting each
partition with the same ``bins`` and ``(lo, hi)`` and adding gives the counts numpy gives for the
whole column. So a histogram is two passes: the range (:func:`value_range`, merged by min/max; or
given, or from catalog statistics) and the counts (:func:`count`, merged by addition).

Non-finite values are left out (numpy refuses them when it must find the range itself); with
``log`` the histogram is of ``log10`` of the positive values and the edges are in log10 units.
What was left out is counted (``non_finite``, ``non_positive``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..errors import ExplorerError
from .kernels import prepared

__all__ = ["HistogramResult", "HistogramError", "prepare", "value_range", "merge_ranges", "count",
           "histogram_values", "histogram_frame", "edges_for", "MAX_BINS"]

MAX_BINS = 100_000


class HistogramError(ExplorerError):
    """A histogram that cannot be made: bad bins or range, a column that is not numeric."""


@dataclass
class HistogramResult:
    """Counts of a column in ``len(counts)`` uniform bins; JSON keys as DESIGN.md's ``histogram``."""

    column: str
    rows: int  # rows the column had (after any spatial filter)
    edges: np.ndarray
    counts: np.ndarray  # int64
    log: bool = False
    non_finite: int = 0
    non_positive: int = 0
    range_source: str = "data"  # "data" | "given" | "statistics"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return int(self.counts.sum())

    def to_json(self) -> dict[str, Any]:
        out = {
            "column": self.column, "rows": int(self.rows),
            "edges": [float(e) for e in self.edges], "counts": [int(c) for c in self.counts],
            "log": bool(self.log), "used": self.used, "non_finite": int(self.non_finite),
            "non_positive": int(self.non_positive), "range_source": self.range_source,
        }
        out.update(self.extra)
        return out


def _check_bins(bins: int) -> int:
    try:
        b = int(bins)
    except (TypeError, ValueError):
        raise HistogramError(f"bins must be a whole number, not {bins!r}") from None
    if not 1 <= b <= MAX_BINS:
        raise HistogramError(f"bins must lie in 1..{MAX_BINS}, not {b}")
    return b


def _check_range(value_range: Sequence[float], log: bool) -> tuple[float, float]:
    lo, hi = (float(v) for v in value_range)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise HistogramError(f"bad range {lo:g} {hi:g}: need two finite numbers, LO < HI")
    return lo, hi


def prepare(values: Any, column: str = "value", log: bool = False) -> tuple[np.ndarray, int, int]:
    """(finite values to bin as float64 - log10 of the positive ones with ``log`` -, non_finite,
    non_positive) of one array or Series (pandas nullable and pyarrow types included)."""
    if hasattr(values, "to_numpy"):
        kind = getattr(getattr(values, "dtype", None), "kind", None)
        if kind == "b" or str(getattr(values, "dtype", "")).startswith("bool"):
            raise HistogramError(f"column {column!r} holds flags, not numbers")
        try:
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise HistogramError(f"column {column!r} is not numeric ({values.dtype})") from None
    else:
        arr = np.asarray(values)
        if arr.dtype.kind not in "iuf":
            raise HistogramError(f"column {column!r} is not numeric ({arr.dtype})")
        arr = arr.astype(np.float64, copy=False).ravel()
    return prepared(arr, log)


def value_range(values: np.ndarray) -> Optional[tuple[float, float]]:
    """(min, max) of prepared values, or None when there are none."""
    if values.size == 0:
        return None
    return float(values.min()), float(values.max())


def merge_ranges(ranges: Iterable[Optional[tuple[float, float]]]) -> Optional[tuple[float, float]]:
    """The range covering every partition's range (None entries are empty partitions)."""
    got = [r for r in ranges if r is not None]
    if not got:
        return None
    return min(r[0] for r in got), max(r[1] for r in got)


def edges_for(lo: float, hi: float, bins: int) -> tuple[float, float]:
    """numpy's own treatment of an empty span: ``lo == hi`` becomes ``(lo - 0.5, hi + 0.5)``."""
    if lo == hi:
        return lo - 0.5, hi + 0.5
    return lo, hi


def count(values: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """Counts of prepared values in ``bins`` uniform bins over [lo, hi] (numpy's rule), int64."""
    counts, _ = np.histogram(values, bins=bins, range=(lo, hi))
    return counts.astype(np.int64, copy=False)


def histogram_values(values: Any, column: str = "value", bins: int = 50, log: bool = False,
                     value_range_: Optional[Sequence[float]] = None, rows: Optional[int] = None) -> HistogramResult:
    """Histogram of one array/Series; equal to ``np.histogram`` of its finite (positive, log10)
    values with the same ``bins`` and range (default: their min and max)."""
    bins = _check_bins(bins)
    arr, non_finite, non_positive = prepare(values, column, log)
    source = "data"
    if value_range_ is not None:
        lo, hi = _check_range(value_range_, log)
        source = "given"
    else:
        rng = value_range(arr)
        lo, hi = edges_for(*(rng or (0.0, 1.0)), bins)
    counts = count(arr, bins, lo, hi)
    n = rows if rows is not None else arr.size + non_finite + non_positive
    return HistogramResult(column, int(n), np.linspace(lo, hi, bins + 1), counts, bool(log), non_finite,
                           non_positive, source)


def histogram_frame(frame, column: str, bins: int = 50, log: bool = False,
                    value_range_: Optional[Sequence[float]] = None) -> HistogramResult:
    """Histogram of one column of a pandas DataFrame (an unknown column raises, naming it)."""
    if column not in frame.columns:
        import difflib

        close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=3)
        raise HistogramError(f"no column {column!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    return histogram_values(frame[column], column, bins, log, value_range_, rows=len(frame))
