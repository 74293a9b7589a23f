"""RGB composites of three bands (Lupton et al. 2004 asinh), rasterized at screen resolution.

:func:`lupton_rgb` is the colour kernel: the same mapping as astropy's
:func:`~astropy.visualization.make_lupton_rgb` (per-band minimum subtracted, the mean intensity
``I`` stretched by ``asinh(Q I / stretch) * 0.1 / asinh(0.1 Q)``, each band scaled by ``f(I) / I``,
clipped at 0, saturated colours scaled down by their largest band so hue is kept, then to uint8),
in one numba pass over the pixels without temporaries: a few milliseconds for a screen of pixels.
NaN pixels (no data) come out black.

:func:`render_rgb` applies it to a view of three exposures (a coadd patch in three bands): each
band is downsampled to the screen grid from the cached power-of-two binned copy of its image
(the same pyramid the single-band view uses), so a whole 4200 x 4200 patch costs about a
million pixels per band, not eighteen million; each screen cell is the mean of the finite pixels
whose centres fall in it (one numba pass over the pixels in view).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numba
import numpy as np

from ..errors import ExplorerError

__all__ = ["lupton_rgb", "render_rgb", "RGBFrame", "RGBError"]


class RGBError(ExplorerError):
    """The three bands cannot be combined (different grids) or the parameters are invalid."""


@numba.njit(cache=True, nogil=True)
def _lupton(r, g, b, mins, soften, slope, out):  # pragma: no cover - compiled
    ny, nx = r.shape
    for j in range(ny):
        for i in range(nx):
            x0 = float(r[j, i]) - mins[0]
            x1 = float(g[j, i]) - mins[1]
            x2 = float(b[j, i]) - mins[2]
            inten = (x0 + x1 + x2) / 3.0
            if not math.isfinite(inten) or inten <= 0.0:
                out[j, i, 0] = 0
                out[j, i, 1] = 0
                out[j, i, 2] = 0
                continue
            ratio = math.asinh(inten * soften) * slope / inten
            x0 = max(x0 * ratio, 0.0)
            x1 = max(x1 * ratio, 0.0)
            x2 = max(x2 * ratio, 0.0)
            top = max(x0, max(x1, x2))
            if top > 1.0:
                x0 = x0 / top
                x1 = x1 / top
                x2 = x2 / top
            out[j, i, 0] = np.uint8(x0 * 255.0)
            out[j, i, 1] = np.uint8(x1 * 255.0)
            out[j, i, 2] = np.uint8(x2 * 255.0)


def _asinh_constants(stretch: float, Q: float) -> tuple[float, float]:
    """astropy LuptonAsinhStretch's softening and slope (Q ~ 0 means 0.1, Q capped at 1e10)."""
    if not (math.isfinite(stretch) and stretch > 0):
        raise RGBError(f"stretch must be a positive number, not {stretch!r}")
    if not (math.isfinite(Q) and Q >= 0):
        raise RGBError(f"Q must be a non-negative number, not {Q!r}")
    if abs(Q) < 1.0 / 2**23:
        Q = 0.1
    Q = min(Q, 1e10)
    return Q / float(stretch), 0.1 / math.asinh(0.1 * Q)


def lupton_rgb(image_r: np.ndarray, image_g: np.ndarray, image_b: np.ndarray,
               minimum: float | Sequence[float] = 0.0, stretch: float = 5.0, Q: float = 8.0) -> np.ndarray:
    """An (ny, nx, 3) uint8 image from three planes, as ``make_lupton_rgb(r, g, b, minimum, stretch, Q)``.

    Parameters
    ----------
    image_r, image_g, image_b
        Same-shape 2-d planes for the red, green and blue channels (any real dtype).
    minimum
        Value mapped to black, one for all bands or one per band.
    stretch
        Linear stretch: the intensity range shown before asinh compression sets in.
    Q
        Asinh softening: larger Q compresses bright parts more.
    """
    planes = [np.asarray(p) for p in (image_r, image_g, image_b)]
    if planes[0].ndim != 2 or any(p.shape != planes[0].shape for p in planes):
        raise RGBError("the three bands must be 2-d planes of one shape, got "
                       + ", ".join(str(p.shape) for p in planes))
    planes = [p if p.dtype.isnative else p.astype(p.dtype.newbyteorder("=")) for p in planes]
    mins = np.broadcast_to(np.asarray(minimum, dtype=np.float64), (3,)).copy() if np.ndim(minimum) == 0 \
        else np.asarray(minimum, dtype=np.float64)
    if mins.shape != (3,):
        raise RGBError(f"give one minimum or three (one per band), not {len(mins)}")
    soften, slope = _asinh_constants(float(stretch), float(Q))
    out = np.empty(planes[0].shape + (3,), dtype=np.uint8)
    _lupton(planes[0], planes[1], planes[2], mins, soften, slope, out)
    return out


@dataclass
class RGBFrame:
    """One rendered RGB view: ``rgb`` rows go bottom to top (y increasing), like the single-band Frame."""

    rgb: np.ndarray  # (h, w, 3) uint8
    x_range: tuple[float, float]  # parent-pixel edges covered
    y_range: tuple[float, float]
    bands: tuple[str, str, str]
    stretch: float
    Q: float
    minimum: tuple[float, float, float]

    @property
    def rgba(self) -> np.ndarray:
        """(h, w, 4) uint8 with alpha 255, what an image element takes."""
        h, w, _ = self.rgb.shape
        out = np.empty((h, w, 4), np.uint8)
        out[..., :3] = self.rgb
        out[..., 3] = 255
        return out


@numba.njit(cache=True, nogil=True)
def _cell_mean(arr, ox, oy, f, xlo, xhi, ylo, yhi, w, h):  # pragma: no cover - compiled
    """Mean of the finite pixels whose centres fall in each of ``w`` x ``h`` cells over the ranges;
    pixel (i, j) of ``arr`` is centred on parent (ox + i f + (f - 1) / 2, oy + j f + (f - 1) / 2)."""
    ny, nx = arr.shape
    acc = np.zeros((h, w), np.float64)
    num = np.zeros((h, w), np.int64)
    sx = w / (xhi - xlo)
    sy = h / (yhi - ylo)
    c = (f - 1) / 2.0
    i0 = max(0, int(math.floor((xlo - ox - c) / f)))
    i1 = min(nx, int(math.ceil((xhi - ox - c) / f)) + 1)
    j0 = max(0, int(math.floor((ylo - oy - c) / f)))
    j1 = min(ny, int(math.ceil((yhi - oy - c) / f)) + 1)
    for j in range(j0, j1):
        cy = oy + j * f + c
        if cy < ylo or cy >= yhi:
            continue
        J = min(int((cy - ylo) * sy), h - 1)
        for i in range(i0, i1):
            cx = ox + i * f + c
            if cx < xlo or cx >= xhi:
                continue
            v = float(arr[j, i])
            if math.isfinite(v):
                I = min(int((cx - xlo) * sx), w - 1)
                acc[J, I] += v
                num[J, I] += 1
    out = np.full((h, w), np.nan, np.float32)
    for J in range(h):
        for I in range(w):
            if num[J, I] > 0:
                out[J, I] = acc[J, I] / num[J, I]
    return out


def _axis_range(rng: Optional[Sequence[float]], full: tuple[float, float]) -> tuple[float, float]:
    """A requested axis range (parent-pixel edges), defaulting to the frame, at least one pixel wide."""
    if rng is None or len(rng) != 2 or not all(math.isfinite(float(v)) for v in rng):
        return full
    lo, hi = float(min(rng)), float(max(rng))
    if hi - lo < 1.0:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5, mid + 0.5
    return lo, hi


def render_rgb(exposures: Sequence, bands: Sequence[str] = ("i", "r", "g"),
               x_range: Optional[Sequence[float]] = None, y_range: Optional[Sequence[float]] = None,
               width: int = 800, height: int = 800, stretch: float = 5.0, Q: float = 8.0,
               minimum: float | Sequence[float] = 0.0) -> RGBFrame:
    """The Lupton composite of the image planes of three exposures (red, green, blue) over a view.

    ``exposures`` are :class:`explorer.repo.model.Exposure` objects on one pixel grid (the three
    bands of a coadd patch: same shape and xy0); ``x_range``/``y_range`` are parent-pixel edges
    (default: the whole frame); the result has at most ``width`` x ``height`` cells.
    """
    from ..repo.binning import choose_factor

    if len(exposures) != 3:
        raise RGBError(f"an RGB composite needs three bands, got {len(exposures)}")
    infos = [e.info for e in exposures]
    shape, xy0 = tuple(infos[0].shape), tuple(infos[0].xy0)
    for band, info in zip(bands, infos):
        if tuple(info.shape) != shape or tuple(info.xy0) != xy0:
            raise RGBError(f"band {band} is on another pixel grid ({info.shape[1]} x {info.shape[0]} at "
                           f"{tuple(info.xy0)}, not {shape[1]} x {shape[0]} at {xy0}): use three bands of one patch")
    ny, nx = shape
    xr_ = _axis_range(x_range, (xy0[0] - 0.5, xy0[0] + nx - 0.5))
    yr_ = _axis_range(y_range, (xy0[1] - 0.5, xy0[1] + ny - 0.5))
    # the screen size, but never more cells than image pixels in view (as the single-band view)
    w = int(max(1, min(int(width), math.ceil(xr_[1] - xr_[0]))))
    h = int(max(1, min(int(height), math.ceil(yr_[1] - yr_[0]))))
    f = choose_factor(xr_[1] - xr_[0], yr_[1] - yr_[0], w, h)
    planes = []
    for exp in exposures:
        arr = exp.binned("image", f) if f > 1 else exp.image
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        planes.append(_cell_mean(arr, float(xy0[0]), float(xy0[1]), int(f), xr_[0], xr_[1], yr_[0], yr_[1], w, h))
    rgb = lupton_rgb(planes[0], planes[1], planes[2], minimum=minimum, stretch=stretch, Q=Q)
    mins = tuple(float(v) for v in np.broadcast_to(np.asarray(minimum, float), (3,)))
    return RGBFrame(rgb, xr_, yr_, tuple(bands), float(stretch), float(Q), mins)
