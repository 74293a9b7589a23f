"""Display limits: percentile presets, zscale with a contrast, manual limits checked."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from explorer.render.limits import (PERCENTILE_PRESETS, LimitsError, display_limits, manual_limits,
                                    percentile_limits, zscale_limits)


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(5)
    img = rng.normal(100.0, 10.0, (400, 300)).astype(np.float32)
    img[50:60, 70:80] += 5000.0  # a bright star
    img[0, :] = np.nan
    return img


@pytest.mark.parametrize("percent", PERCENTILE_PRESETS)
def test_percentile_presets_are_the_central_interval(frame, percent):
    lo, hi = percentile_limits(frame, percent, sample=False)
    vals = frame[np.isfinite(frame)].astype(np.float64)
    cut = (100 - percent) / 2
    assert (lo, hi) == pytest.approx(tuple(np.percentile(vals, [cut, 100 - cut])))
    assert np.mean((vals >= lo) & (vals <= hi)) == pytest.approx(percent / 100, abs=2e-3)


def test_narrower_presets_give_narrower_limits(frame):
    spans = [np.subtract(*percentile_limits(frame, p)[::-1]) for p in PERCENTILE_PRESETS]
    assert spans[0] > spans[1] > spans[2] > 0


def test_zscale_contrast(frame):
    lo, hi = zscale_limits(frame, 0.25, sample=False)
    vals = frame[np.isfinite(frame)]
    assert (lo, hi) == pytest.approx(ZScaleInterval(contrast=0.25).get_limits(vals))
    assert lo < 100 < hi < 5000  # the star does not set the range
    narrow = zscale_limits(frame, 1.0)
    assert narrow[1] - narrow[0] < hi - lo  # higher contrast: narrower range (0.25 already reaches
    wide = zscale_limits(frame, 0.05)  # the sample's extremes here, and zscale never goes past them)
    assert wide[1] - wide[0] >= hi - lo


def test_sampling_stays_close_to_the_full_frame(frame):
    full = percentile_limits(frame, 99.0, sample=False)
    sampled = percentile_limits(frame, 99.0)
    assert sampled == pytest.approx(full, rel=0.02)


def test_manual_and_modes(frame):
    assert manual_limits("1", 2.5) == (1.0, 2.5)
    assert display_limits(frame, "manual", low=-1, high=1) == (-1.0, 1.0)
    assert display_limits(frame, "minmax")[1] == pytest.approx(np.nanmax(frame[::1, ::1]), rel=0.2)
    for bad in [(2, 1), (1, 1), (np.nan, 2), ("a", 2)]:
        with pytest.raises(LimitsError):
            manual_limits(*bad)
    with pytest.raises(LimitsError, match="unknown limits mode"):
        display_limits(frame, "histeq")
    with pytest.raises(LimitsError, match="percentile"):
        percentile_limits(frame, 0)
    with pytest.raises(LimitsError, match="contrast"):
        zscale_limits(frame, 0)


def test_empty_and_flat_planes():
    assert percentile_limits(np.full((5, 5), np.nan)) == (0.0, 1.0)
    lo, hi = percentile_limits(np.ones((5, 5)))
    assert lo < 1.0 < hi
