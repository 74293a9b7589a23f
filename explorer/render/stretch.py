"""Display stretches as DS9 and Firefly offer them: linear, zscale, asinh, log.

Limits are computed once per plane from a strided sample of the whole frame (so they do not jump
while panning, and cost a few milliseconds even for a 16-megapixel frame); the stretch itself is
applied to the screen-sized, already downsampled grid. Everything maps values to [0, 1].

* ``linear``: linear between the 0.5 and 99.5 percentiles (DS9's "99.5%" limits);
* ``zscale``: linear between IRAF's zscale limits (the LSST/DS9 default for calexps);
* ``asinh``: arcsinh from the zscale low limit to the 99.95 percentile, linear over the zscale
  range and compressed above it (faint sky and bright cores both visible);
* ``log``: DS9's log (exponent 1000) between the zscale low limit and the 99.95 percentile.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, Optional

import numpy as np

STRETCHES = ("zscale", "linear", "asinh", "log")
SAMPLE_PIXELS = 250_000
LOG_EXPONENT = 1000.0


@dataclass(frozen=True)
class Limits:
    """Everything a stretch needs from the full frame."""

    z_low: float
    z_high: float
    p_low: float  # 0.5 percentile
    p_high: float  # 99.5 percentile
    top: float  # 99.95 percentile


def sample(arr: np.ndarray, n: int = SAMPLE_PIXELS, exclude: Optional[np.ndarray] = None,
           exclude_bits: Optional[tuple[np.ndarray, int]] = None) -> np.ndarray:
    """A strided sample of about ``n`` finite pixels. Pixels to skip: ``exclude`` (booleans), or
    ``exclude_bits = (mask, bits)``, pixels with any of ``bits`` set, tested on the sample only
    (so a 16-megapixel mask is never scanned whole)."""
    ny, nx = arr.shape
    step = max(1, int(np.sqrt(ny * nx / max(n, 1))))
    sub = np.asarray(arr[::step, ::step], dtype=np.float64)
    good = np.isfinite(sub)
    if exclude is not None:
        good &= ~exclude[::step, ::step]
    if exclude_bits is not None:
        mask, bits = exclude_bits
        good &= (mask[::step, ::step] & np.int64(bits)) == 0  # bits may not fit a narrowed mask's type
    return sub[good]


def zscale_limits(values: np.ndarray, contrast: float = 0.25, max_reject: float = 0.5,
                  min_npixels: int = 5, krej: float = 2.5, max_iterations: int = 5) -> tuple[float, float]:
    """IRAF's zscale: a line fitted to the sorted sample, with iterative rejection; its slope
    divided by ``contrast`` sets the range around the median."""
    values = np.sort(values[np.isfinite(values)])
    npix = values.size
    if npix == 0:
        return 0.0, 1.0
    if npix > 1000:  # zscale works on ~1000 pixels: thin evenly
        values = values[np.linspace(0, npix - 1, 1000).astype(int)]
        npix = values.size
    vmin, vmax = float(values[0]), float(values[-1])
    median = float(np.median(values))
    x = np.arange(npix, dtype=float)
    good = np.ones(npix, dtype=bool)
    ngrow = max(1, int(npix * 0.01))
    minpix = max(min_npixels, int(npix * max_reject))
    slope, intercept = 0.0, median
    for _ in range(max_iterations):
        if good.sum() < minpix:
            break
        slope, intercept = np.polyfit(x[good], values[good], 1)
        resid = values - (intercept + slope * x)
        sigma = float(np.std(resid[good]))
        bad = np.abs(resid) > krej * sigma if sigma > 0 else np.zeros(npix, bool)
        # grow rejected pixels by ngrow on each side, as IRAF does
        if bad.any():
            kernel = np.ones(2 * ngrow + 1)
            bad = np.convolve(bad.astype(float), kernel, mode="same") > 0
        newgood = ~bad
        if newgood.sum() == good.sum():
            good = newgood
            break
        good = newgood
    if good.sum() >= minpix and contrast > 0:
        slope = slope / contrast
    centre = (npix - 1) // 2
    z1 = max(vmin, median - centre * slope)
    z2 = min(vmax, median + (npix - 1 - centre) * slope)
    if not z2 > z1:
        z1, z2 = vmin, vmax if vmax > vmin else vmin + 1.0
    return float(z1), float(z2)


def compute_limits(arr: np.ndarray, exclude: Optional[np.ndarray] = None,
                   exclude_bits: Optional[tuple[np.ndarray, int]] = None) -> Limits:
    """zscale and percentile limits of a plane, from a strided sample of its finite pixels
    (skipping ``exclude`` pixels, or those with ``exclude_bits = (mask, bits)`` set)."""
    vals = sample(arr, exclude=exclude, exclude_bits=exclude_bits)
    if vals.size == 0 and (exclude is not None or exclude_bits is not None):
        vals = sample(arr)
    if vals.size == 0:
        return Limits(0.0, 1.0, 0.0, 1.0, 1.0)
    z1, z2 = zscale_limits(vals)
    p_low, p_high, top = (float(v) for v in np.percentile(vals, [0.5, 99.5, 99.95]))
    if not p_high > p_low:
        p_high = p_low + 1.0
    return Limits(z1, z2, p_low, p_high, max(top, z2))


def stretch_range(limits: Limits, kind: str) -> tuple[float, float]:
    """The (low, high) data values mapped to black and white by a stretch."""
    if kind == "zscale":
        return limits.z_low, limits.z_high
    if kind == "linear":
        return limits.p_low, limits.p_high
    if kind in ("asinh", "log"):
        hi = limits.top if limits.top > limits.z_low else limits.z_high
        return limits.z_low, hi
    raise ValueError(f"unknown stretch {kind!r} (use one of {', '.join(STRETCHES)})")


def apply_stretch(values: np.ndarray, limits: Limits, kind: str) -> np.ndarray:
    """Values mapped to [0, 1] (float32; NaN stays NaN)."""
    lo, hi = stretch_range(limits, kind)
    span = hi - lo if hi > lo else 1.0
    x = (np.asarray(values, dtype=np.float32) - np.float32(lo)) / np.float32(span)
    np.clip(x, 0.0, 1.0, out=x)
    if kind == "asinh":
        # linear up to about the zscale high limit, logarithmic beyond
        soft = max((limits.z_high - lo) / span, 1e-4)
        x = np.arcsinh(x / np.float32(soft)) / np.float32(np.arcsinh(1.0 / soft))
    elif kind == "log":
        x = np.log10(np.float32(LOG_EXPONENT) * x + 1.0) / np.float32(np.log10(LOG_EXPONENT + 1.0))
    x = x.astype(np.float32, copy=False)
    np.clip(x, 0.0, 1.0, out=x)  # float32 rounding may overshoot 1 by an ulp
    return x


class LimitsCache:
    """Per-plane limits, keyed by (file identity, plane): computed once, shared by sessions.

    Bounded: at most ``max_entries`` (least recently used dropped first). An entry is five floats
    and a short key (well under 1 KiB), so the default bounds the cache to about 1 MiB whatever the
    repository's size.
    """

    def __init__(self, max_entries: int = 1024):
        self._data: OrderedDict[Hashable, Limits] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get(self, key: Hashable, compute) -> Limits:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = compute()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


LIMITS = LimitsCache()
