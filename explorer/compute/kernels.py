"""Per-partition kernels that run on Dask workers: numpy, pandas and numba only.

Workers import this module (the cluster needs the client's environment, the explorer included);
it imports nothing of the explorer's, so it loads fast in a worker. Each kernel turns one partition into a
small result (a range, a few hundred counts) so only those travel back to the server.

The column arrays a worker keeps (:func:`column_values`) are binned all at once by one task per
worker (:func:`arrays_counts`, :func:`arrays_range`): a numba loop that bins as ``np.histogram``
does (the same index arithmetic and edge corrections, so the counts are numpy's exactly) without
numpy's temporaries (the finite mask, the kept copy, the index array, ``bincount``); the log10 of
a log axis is numpy's own ufunc, so the values binned are numpy's too.
"""
from __future__ import annotations

import math

import numba
import numpy as np


def finite_values(frame, column: str, log: bool):
    """(values to bin, rows, non_finite, non_positive) of one partition's column, as float64."""
    series = frame[column]
    arr, non_finite, non_positive = prepared(series.to_numpy(dtype=np.float64, na_value=np.nan), log)
    return arr, int(len(series)), non_finite, non_positive


def partition_range(frame, column: str, log: bool):
    """(min, max) of a partition's prepared values, or None when it has none."""
    arr = finite_values(frame, column, log)[0]
    if arr.size == 0:
        return None
    return float(arr.min()), float(arr.max())


def partition_counts(frame, column: str, log: bool, bins: int, lo: float, hi: float):
    """(counts int64, rows, non_finite, non_positive) of one partition, numpy's binning rule."""
    arr, rows, non_finite, non_positive = finite_values(frame, column, log)
    counts, _ = np.histogram(arr, bins=bins, range=(lo, hi))
    return counts.astype(np.int64), rows, non_finite, non_positive


def partition_density(frame, x: str, y: str, x_range, y_range, width: int, height: int):
    """(height, width) int64 counts of the partition's (x, y) points on a grid (rows: y upward),
    aggregated by datashader's ``Canvas.points`` (counts add up across partitions)."""
    import datashader as ds
    import pandas as pd

    pts = pd.DataFrame({"x": frame[x].to_numpy(dtype=np.float64, na_value=np.nan),
                        "y": frame[y].to_numpy(dtype=np.float64, na_value=np.nan)})
    canvas = ds.Canvas(plot_width=int(width), plot_height=int(height), x_range=tuple(x_range),
                       y_range=tuple(y_range))
    agg = canvas.points(pts, "x", "y", agg=ds.count())
    return np.asarray(agg.values, dtype=np.int64)


def column_values(frame, column: str):
    """One partition's column as a float64 numpy array (NaN for nulls): what stays on a worker."""
    return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)


def prepared(arr, log: bool):
    """(finite values - log10 of the positive ones with ``log`` -, non_finite, non_positive) of a
    float64 array: the one rule every histogram and range follows, in-process and on workers."""
    finite = np.isfinite(arr)
    non_finite = int(arr.size - np.count_nonzero(finite))
    vals = arr[finite]
    non_positive = 0
    if log:
        pos = vals > 0
        non_positive = int(vals.size - np.count_nonzero(pos))
        vals = np.log10(vals[pos])
    return vals, non_finite, non_positive


def array_range(arr, log: bool):
    """(min, max) of a column array's finite (positive, log10) values, or None."""
    vals = prepared(arr, log)[0]
    if vals.size == 0:
        return None
    return float(vals.min()), float(vals.max())


def array_counts(arr, log: bool, bins: int, lo: float, hi: float):
    """(counts int64, rows, non_finite, non_positive) of a column array, numpy's binning rule."""
    vals, non_finite, non_positive = prepared(arr, log)
    counts, _ = np.histogram(vals, bins=bins, range=(lo, hi))
    return counts.astype(np.int64), int(arr.size), non_finite, non_positive


@numba.njit(cache=True, nogil=True)
def _bin_into(counts, arr, logs, use_log, edges):  # pragma: no cover - compiled
    """Add ``arr``'s finite values (``logs[i]`` of its positive ones with ``use_log``) to
    ``counts`` by numpy's rule for uniform bins over ``edges`` (``np.linspace(lo, hi, n + 1)``);
    returns (non_finite, non_positive)."""
    n = counts.size
    lo = edges[0]
    hi = edges[n]
    denom = hi - lo
    non_finite = 0
    non_positive = 0
    for i in range(arr.size):
        x = arr[i]
        if not math.isfinite(x):
            non_finite += 1
            continue
        if use_log:
            if x <= 0.0:
                non_positive += 1
                continue
            x = logs[i]
        if x < lo or x > hi:
            continue
        k = int((x - lo) / denom * n)  # numpy's f_indices, then its two corrections at the edges
        if k == n:
            k -= 1
        if x < edges[k]:
            k -= 1
        if x >= edges[k + 1] and k != n - 1:
            k += 1
        counts[k] += 1
    return non_finite, non_positive


@numba.njit(cache=True, nogil=True)
def _min_max(arr, logs, use_log):  # pragma: no cover - compiled
    """(min, max, any) of ``arr``'s finite (positive, ``logs``) values."""
    lo = np.inf
    hi = -np.inf
    found = False
    for i in range(arr.size):
        x = arr[i]
        if not math.isfinite(x):
            continue
        if use_log:
            if x <= 0.0:
                continue
            x = logs[i]
        found = True
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi, found


_NO_LOGS = np.zeros(0, np.float64)
_BLOCK = 1 << 16  # values whose log10 is taken at a time (512 kB of float64)


def _float_array(arr):
    return np.ascontiguousarray(arr, dtype=np.float64)


def _with_logs(arrays, log: bool):
    """(values, numpy's log10 of them or a placeholder) of each array as float64; with ``log``
    block by block into one buffer (no column-sized temporary, and it stays in cache; NaN/-inf
    where the kernels skip a value)."""
    buffer = np.empty(_BLOCK if log else 0, np.float64)
    for arr in arrays:
        arr = _float_array(arr)
        if not log:
            yield arr, _NO_LOGS
            continue
        for start in range(0, arr.size, _BLOCK):
            part = arr[start:start + _BLOCK]
            logs = buffer[:part.size]
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log10(part, out=logs)
            yield part, logs


def arrays_counts(arrays, log: bool, edges):
    """(counts int64, rows, non_finite, non_positive) of several column arrays together (those one
    worker holds): the sum of :func:`array_counts` of each, by numpy's binning rule over
    ``edges`` (log10 of the positive values with ``log``)."""
    edges = np.asarray(edges, np.float64)
    counts = np.zeros(edges.size - 1, np.int64)
    rows = non_finite = non_positive = 0
    for part, logs in _with_logs(arrays, log):
        nf, npos = _bin_into(counts, part, logs, bool(log), edges)
        non_finite += int(nf)
        non_positive += int(npos)
        rows += int(part.size)
    return counts, rows, non_finite, non_positive


def arrays_range(arrays, log: bool):
    """(min, max) of the finite (positive, log10) values of several column arrays, or None."""
    lo, hi, found = np.inf, -np.inf, False
    for part, logs in _with_logs(arrays, log):
        a, b, got = _min_max(part, logs, bool(log))
        if got:
            lo, hi, found = min(lo, float(a)), max(hi, float(b)), True
    return (lo, hi) if found else None
