"""The catalog histogram as a HoloViews element (the bins come from :mod:`explorer.compute.catalog`).

The computations that used to live here (histogram kernels, flag filters, column choice) are in
:mod:`explorer.compute.catalog`; their names are re-exported for existing imports.
"""
from __future__ import annotations

import numpy as np

from ..compute.catalog import *  # noqa: F401,F403
from ..compute.catalog import Histogram


def histogram_title(hist: Histogram) -> str:
    """What the histogram shows: the column, rows binned of the catalog's rows, and what was left out
    (by the flag filters, as non-finite, as <= 0 on a log axis)."""
    title = f"{hist.label}: {hist.used:,} of {hist.rows + hist.filtered_out:,} rows"
    dropped = []
    if hist.filtered_out:
        dropped.append(f"{hist.filtered_out:,} by flags")
    if hist.non_finite:
        dropped.append(f"{hist.non_finite:,} non-finite")
    if hist.log and hist.non_positive:
        dropped.append(f"{hist.non_positive:,} ≤ 0")
    if dropped:
        title += f" ({', '.join(dropped)} left out)"
    return title


def histogram_element(hist: Histogram, logy: bool = False, color: str = "#3b6ea8"):
    """An ``hv.Histogram`` of precomputed bins (only the counts go to the browser). ``logy``: empty
    bins are left out (NaN) rather than drawn down to zero; the axis type itself is the plot's
    option (set where the plot is made: a live figure cannot change it)."""
    import holoviews as hv

    counts = hist.counts.astype(float)
    if logy:
        counts = np.where(counts > 0, counts, np.nan)
    return hv.Histogram((hist.edges, counts), kdims=[hv.Dimension("value", label=hist.label)],
                        vdims=[hv.Dimension("count", label="sources")]).opts(
        title=histogram_title(hist), color=color, line_color=None, tools=["hover"],
        fontsize={"title": 10})
