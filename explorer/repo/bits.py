"""Mask bit fields in the narrowest integer type that holds them.

A mask plane is stored as 32-bit integers (afw) or wider (lsst.images, more than 31 planes), yet
most masks set only the first eight or sixteen planes. The shared cache keeps every plane it
reads, so a mask held as ``uint8`` instead of ``int32`` leaves room for a quarter more exposures,
and its binned copies (ORs, computed as ``int64``) shrink eightfold.
"""
from __future__ import annotations

import numpy as np


def narrowest(bits: np.ndarray) -> np.ndarray:
    """``bits`` in the smallest unsigned integer type holding its values.

    A negative value (bit 31 of an ``int32`` mask is a plane too) keeps a signed type: ``int32``
    when the values fit, as read from an afw file. Bit tests against a narrowed array must use a
    NumPy integer (``np.int64(1 << bit)``): a Python integer larger than the array's type raises
    ``OverflowError`` in NumPy 2.
    """
    if bits.size == 0 or bits.dtype.itemsize == 1:
        return bits
    lo, hi = int(bits.min()), int(bits.max())
    if lo < 0:
        fits_int32 = bits.dtype.itemsize > 4 and np.iinfo(np.int32).min <= lo and hi <= np.iinfo(np.int32).max
        return bits.astype(np.int32) if fits_int32 else bits
    for kind in (np.uint8, np.uint16, np.uint32):
        if hi <= np.iinfo(kind).max:
            return bits if np.dtype(kind).itemsize >= bits.dtype.itemsize else bits.astype(kind)
    return bits
