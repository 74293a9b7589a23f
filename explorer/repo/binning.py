"""Block-binned copies of pixel planes: the levels of an image pyramid.

A screen shows about 800 x 800 values; a calexp has 4072 x 4000. Rendering the whole frame from
full resolution touches 16 million pixels on every view, so the explorer keeps, next to each plane
it reads, a copy binned by a power of two (like afw's ``binImage``): the mean of each ``f`` x ``f``
block for image and variance (NaN pixels ignored; a block with no finite pixel is NaN), the bitwise
OR for masks (a plane set anywhere in the block stays set). Views of the whole frame rasterize from
the binned copy (16 times fewer pixels at ``f = 4``); zoomed views use full resolution.

Block ``(J, I)`` covers full-resolution pixels ``[J f, J f + f) x [I f, I f + f)``; edge blocks
may be partial (``ceil(n / f)`` blocks per axis), their mean taken over the pixels that exist.
The kernels run in parallel over rows of blocks (numba ``prange``).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .bits import narrowest

LEVELS = (2, 4, 8, 16)  # binning factors the explorer uses


@numba.njit(parallel=True, cache=True, nogil=True, fastmath=False)
def _bin_mean(arr, f):  # pragma: no cover - compiled
    ny, nx = arr.shape
    by = (ny + f - 1) // f
    bx = (nx + f - 1) // f
    out = np.empty((by, bx), dtype=np.float32)
    for J in numba.prange(by):
        y0 = J * f
        y1 = min(y0 + f, ny)
        for I in range(bx):
            x0 = I * f
            x1 = min(x0 + f, nx)
            total = 0.0
            count = 0
            for y in range(y0, y1):
                for x in range(x0, x1):
                    v = arr[y, x]
                    if math.isfinite(v):
                        total += v
                        count += 1
            out[J, I] = total / count if count > 0 else np.nan
    return out


@numba.njit(parallel=True, cache=True, nogil=True)
def _bin_or(mask, f):  # pragma: no cover - compiled
    ny, nx = mask.shape
    by = (ny + f - 1) // f
    bx = (nx + f - 1) // f
    out = np.zeros((by, bx), dtype=np.int64)
    for J in numba.prange(by):
        y0 = J * f
        y1 = min(y0 + f, ny)
        for I in range(bx):
            x0 = I * f
            x1 = min(x0 + f, nx)
            acc = 0
            for y in range(y0, y1):
                for x in range(x0, x1):
                    acc |= mask[y, x]
            out[J, I] = acc
    return out


def bin_plane(arr: np.ndarray, factor: int, is_mask: bool = False) -> np.ndarray:
    """``arr`` binned ``factor`` x ``factor``: float32 means, or (``is_mask``) bitwise ORs in the
    narrowest type that holds them (:func:`explorer.repo.bits.narrowest`; computed as ``int64``)."""
    f = int(factor)
    if f < 1:
        raise ValueError(f"binning factor must be >= 1, not {factor}")
    if arr.ndim != 2:
        raise ValueError(f"can only bin 2-d planes, not shape {arr.shape}")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if is_mask:
        return narrowest(_bin_or(np.ascontiguousarray(arr), f))
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    return _bin_mean(np.ascontiguousarray(arr), f)


def choose_factor(span_x: float, span_y: float, width: int, height: int) -> int:
    """The largest level in :data:`LEVELS` that still has at least one value per screen pixel
    over the visible spans (1: use full resolution)."""
    best = 1
    for f in LEVELS:
        if span_x / f >= width and span_y / f >= height:
            best = f
    return best
