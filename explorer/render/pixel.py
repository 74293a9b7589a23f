"""Which pixel a position falls on: the one rule the readout, the CLI and the cutouts share.

LSST convention: pixel centres are at integer parent coordinates (xy0 included) and pixel ``i``
covers ``[i - 0.5, i + 0.5)``. So a position maps to ``floor(x + 0.5)``: at an exact half-pixel
it goes to the pixel above (2.5 -> 3, -0.5 -> 0), never depending on Python's round-half-to-even
(which would send 2.5 to 2 and 3.5 to 4).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence


def pixel_index(x: float, y: float, xy0: Sequence[int] = (0, 0),
                shape: Optional[Sequence[int]] = None) -> Optional[tuple[int, int, int, int]]:
    """The pixel under parent-pixel position (x, y).

    Returns ``(ix, iy, jx, jy)``: the parent-pixel indices and the array indices (``ix - x0``,
    ``iy - y0``). With ``shape`` (ny, nx), None when the pixel is off the array.
    """
    ix, iy = int(math.floor(float(x) + 0.5)), int(math.floor(float(y) + 0.5))
    jx, jy = ix - int(xy0[0]), iy - int(xy0[1])
    if shape is not None:
        ny, nx = int(shape[0]), int(shape[1])
        if not (0 <= jx < nx and 0 <= jy < ny):
            return None
    return ix, iy, jx, jy
