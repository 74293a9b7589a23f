"""The workers' histogram kernels (:mod:`explorer.compute.kernels`) bin exactly as ``np.histogram``:
values on and next to every edge, outside the range, NaN, infinities, and (log axis) values <= 0,
whatever way the arrays are split among the workers."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import kernels


def _edge_values(rng, lo: float, hi: float, bins: int) -> np.ndarray:
    edges = np.linspace(lo, hi, bins + 1)
    return np.concatenate([rng.uniform(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), 500), edges,
                           np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf),
                           [np.nan, np.inf, -np.inf]])


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_numpy_at_every_edge(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        bins = int(rng.integers(1, 300))
        lo = float(rng.normal(scale=10 ** rng.uniform(-3, 3)))
        hi = lo + float(10 ** rng.uniform(-6, 3))
        values = _edge_values(rng, lo, hi, bins)
        finite = values[np.isfinite(values)]
        want = np.histogram(finite, bins=bins, range=(lo, hi))[0]
        cut = int(rng.integers(0, values.size))
        counts, rows, non_finite, non_positive = kernels.arrays_counts(
            [values[:cut], values[cut:]], False, np.linspace(lo, hi, bins + 1))
        np.testing.assert_array_equal(counts, want)
        assert (rows, non_finite, non_positive) == (values.size, 3, 0)
        # the per-partition numpy kernel the cone and in-process paths use agrees too
        np.testing.assert_array_equal(kernels.array_counts(values, False, bins, lo, hi)[0], want)


@pytest.mark.parametrize("seed", range(4))
def test_log_counts_equal_numpy_of_log10(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(30):
        bins = int(rng.integers(1, 200))
        lo = float(rng.uniform(-3, 3))
        hi = lo + float(rng.uniform(1e-3, 4))
        logs = _edge_values(rng, lo, hi, bins)
        values = np.concatenate([10.0 ** logs, [0.0, -1.0, -np.inf, np.nan]])
        with np.errstate(invalid="ignore", divide="ignore"):
            positive = values[np.isfinite(values) & (values > 0)]
        want = np.histogram(np.log10(positive), bins=bins, range=(lo, hi))[0]
        counts, rows, non_finite, non_positive = kernels.arrays_counts([values], True, np.linspace(lo, hi, bins + 1))
        np.testing.assert_array_equal(counts, want)
        assert rows == values.size
        assert non_finite == int((~np.isfinite(values)).sum())
        assert non_positive == int((np.isfinite(values) & (values <= 0)).sum())


def test_ranges_merge_over_arrays_and_skip_empty_ones():
    a = np.array([3.0, np.nan, -2.0, 100.0])
    b = np.array([np.inf, 0.5])
    assert kernels.arrays_range([a, np.zeros(0), b], False) == (-2.0, 100.0)
    assert kernels.arrays_range([a, b], True) == (float(np.log10(0.5)), 2.0)
    assert kernels.arrays_range([np.array([np.nan, -1.0])], True) is None
    assert kernels.arrays_range([], False) is None
