"""Per-partition kernels that run on Dask workers: numpy and pandas only.

Workers import this module (the cluster needs the client's environment, the explorer included);
it imports nothing of the explorer's, so it loads fast in a worker. Each kernel turns one partition into a
small result (a range, a few hundred counts) so only those travel back to the server.
"""
from __future__ import annotations

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
