"""The histogram every histogram test compares with: numpy's, on the finite values (on log10 of the
positive ones with ``log``). Tests import it as ``histogram_reference``."""
from __future__ import annotations

import numpy as np


def numpy_histogram(values, bins, log: bool = False, value_range=None) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, edges)`` of ``np.histogram`` over the finite values (log10 of the positive ones)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if log:
        v = np.log10(v[v > 0])
    return np.histogram(v, bins=bins, range=value_range)
