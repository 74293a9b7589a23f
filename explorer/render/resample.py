"""One exposure resampled onto another's pixel grid through their two WCSs, at screen resolution.

To show a visit image beside a coadd with exactly linked pan and zoom, both panes must share
coordinates: the visit is drawn on the coadd's parent-pixel grid. For each displayed cell of the
coadd's view (its centre in coadd parent pixels) the visit pixel that sees the same sky is found
(coadd pixel -> sky through the coadd's WCS -> visit pixel through the visit's WCS) and the visit
is sampled there, bilinearly; cells off the visit are NaN (drawn as "no data").

Cost follows the screen, not the files: only the ``w`` x ``h`` cells of the displayed window
(never more than the screen) are computed. The two WCS transforms, the costly part, run exactly on
a coarse lattice of nodes (every :data:`NODE_STEP` cells, and the last row and column) and are
interpolated bilinearly between them (the mapping between two sky projections is smooth: the
error is checked in the tests to stay far below a pixel). When a cell spans several visit pixels
the visit's binned copy (:mod:`explorer.repo.binning`, cached by the data layer) is sampled
instead of every pixel, as the single-image view does, so a zoomed-out view neither aliases nor
touches sixteen million pixels.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numba
import numpy as np

from ..repo.model import Exposure, ExposureInfo
from .raster import Frame, clamp_range, compose_rgba, full_range, output_size

NODE_STEP = 16  # cells between exactly transformed nodes of the coordinate lattice


def cell_centres(x_range: tuple[float, float], y_range: tuple[float, float], w: int,
                 h: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent-pixel centres of the ``w`` columns and ``h`` rows of cells over the ranges."""
    xc = x_range[0] + (np.arange(w) + 0.5) * (x_range[1] - x_range[0]) / w
    yc = y_range[0] + (np.arange(h) + 0.5) * (y_range[1] - y_range[0]) / h
    return xc, yc


def _nodes(n: int, step: int) -> np.ndarray:
    """Cell indices of the lattice nodes along an axis of ``n`` cells: 0, step, ..., n - 1."""
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _interp_axis(values: np.ndarray, nodes: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Linear interpolation of ``values`` given at ``nodes`` along ``axis`` onto 0 .. n-1."""
    if len(nodes) == 1:
        return np.repeat(values, n, axis=axis)
    pos = np.arange(n, dtype=np.float64)
    k = np.clip(np.searchsorted(nodes, pos, side="right") - 1, 0, len(nodes) - 2)
    t = (pos - nodes[k]) / (nodes[k + 1] - nodes[k])
    a = np.take(values, k, axis=axis)
    b = np.take(values, k + 1, axis=axis)
    shape = [1, 1]
    shape[axis] = n
    t = t.reshape(shape)
    return a + (b - a) * t


def grid_mapping(target: ExposureInfo, source: ExposureInfo, x_range: tuple[float, float],
                 y_range: tuple[float, float], w: int, h: int,
                 step: int = NODE_STEP) -> tuple[np.ndarray, np.ndarray]:
    """Source parent-pixel coordinates ``(sx, sy)``, each (h, w), of the target's cell centres.

    Cell ``(j, i)`` is the ``i``-th column and ``j``-th row of the ``w`` x ``h`` grid over the
    target's parent-pixel ranges (rows bottom to top, as :class:`~explorer.render.raster.Frame`).
    Exact (target pixel -> sky -> source pixel) at lattice nodes every ``step`` cells; bilinear in
    between (``step=1``: exact everywhere). NaN where a WCS has no answer.
    """
    xc, yc = cell_centres(x_range, y_range, w, h)
    ni, nj = _nodes(w, max(1, int(step))), _nodes(h, max(1, int(step)))
    gx, gy = np.meshgrid(xc[ni], yc[nj])
    ra, dec = target.pixel_to_sky(gx.ravel(), gy.ravel())
    sx, sy = source.sky_to_pixel(np.asarray(ra, float), np.asarray(dec, float))
    sx = np.asarray(sx, float).reshape(gx.shape)
    sy = np.asarray(sy, float).reshape(gx.shape)
    if len(ni) == w and len(nj) == h:
        return sx, sy
    out = []
    for grid in (sx, sy):
        grid = _interp_axis(grid, ni, w, axis=1)
        out.append(_interp_axis(grid, nj, h, axis=0))
    return out[0], out[1]


def source_pixels_per_cell(sx: np.ndarray, sy: np.ndarray) -> float:
    """How many source pixels one cell spans (median over the grid, along the wider axis)."""
    h, w = sx.shape
    steps = []
    if w > 1:
        steps.append(np.hypot(np.diff(sx, axis=1), np.diff(sy, axis=1)))
    if h > 1:
        steps.append(np.hypot(np.diff(sx, axis=0), np.diff(sy, axis=0)))
    finite = [s[np.isfinite(s)] for s in steps]
    finite = [s for s in finite if s.size]
    return float(max(np.median(s) for s in finite)) if finite else 1.0


@numba.njit(cache=True, nogil=True)
def _bilinear(arr, x0, y0, f, sx, sy, out):  # pragma: no cover - compiled
    # ``arr`` may be binned by ``f``: block I is centred on parent pixel x0 + I f + (f - 1) / 2;
    # NaN outside the plane's pixel edges; NaN neighbours are left out of the weights.
    ny, nx = arr.shape
    h, w = sx.shape
    half = (f - 1) / 2.0
    for j in range(h):
        for i in range(w):
            px = sx[j, i]
            py = sy[j, i]
            if not (px == px and py == py):
                out[j, i] = np.nan
                continue
            u = (px - x0 - half) / f
            v = (py - y0 - half) / f
            if u < -0.5 or v < -0.5 or u > nx - 0.5 or v > ny - 0.5:
                out[j, i] = np.nan
                continue
            iu = int(math.floor(u))
            iv = int(math.floor(v))
            tu = u - iu
            tv = v - iv
            total = 0.0
            weight = 0.0
            for dv in range(2):
                yy = iv + dv
                if yy < 0 or yy >= ny:
                    continue
                wv = tv if dv == 1 else 1.0 - tv
                for du in range(2):
                    xx = iu + du
                    if xx < 0 or xx >= nx:
                        continue
                    wu = tu if du == 1 else 1.0 - tu
                    val = arr[yy, xx]
                    if val == val and wu * wv > 0.0:
                        total += val * wu * wv
                        weight += wu * wv
            out[j, i] = total / weight if weight > 0.0 else np.nan


def sample_plane(arr: np.ndarray, xy0: tuple[int, int], sx: np.ndarray, sy: np.ndarray,
                 factor: int = 1) -> np.ndarray:
    """Bilinear samples (float32, shape of ``sx``) of a plane at parent-pixel positions.

    ``arr`` is the plane at full resolution (``factor == 1``) or binned by ``factor``. Positions
    outside the plane's pixel edges are NaN; a pixel at an edge keeps its value up to the edge.
    """
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    out = np.empty(sx.shape, dtype=np.float32)
    _bilinear(np.ascontiguousarray(arr), float(xy0[0]), float(xy0[1]), float(factor),
              np.ascontiguousarray(sx, dtype=np.float64), np.ascontiguousarray(sy, dtype=np.float64), out)
    return out


def resample_onto(source: Exposure, target: ExposureInfo, x_range: Optional[Sequence[float]] = None,
                  y_range: Optional[Sequence[float]] = None, width: int = 800, height: int = 800,
                  plane: str = "image") -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """The source's plane on the target's grid: ``(values (h, w), x_range, y_range)``.

    The ranges are the target's parent-pixel edges shown (default: the target's whole frame),
    ``w`` x ``h`` at most the screen size and never more cells than target pixels, as
    :func:`~explorer.render.raster.render_plane` chooses them; so a sky position lands on the
    same cell in the target's frame and in this one.
    """
    from ..repo.binning import LEVELS

    fx, fy = full_range(target.shape, target.xy0)
    xr_, yr_ = clamp_range(x_range, fx), clamp_range(y_range, fy)
    w, h = output_size(xr_, yr_, width, height)
    sx, sy = grid_mapping(target, source.info, xr_, yr_, w, h)
    per_cell = source_pixels_per_cell(sx, sy)
    f = max([1] + [lv for lv in LEVELS if per_cell >= lv])
    arr = source.binned(plane, f) if f > 1 else source.plane(plane)
    return sample_plane(arr, source.info.xy0, sx, sy, f), xr_, yr_


def render_aligned(source: Exposure, target: ExposureInfo, stretch: str, cmap: str, width: int = 800,
                   height: int = 800, x_range: Optional[Sequence[float]] = None,
                   y_range: Optional[Sequence[float]] = None,
                   value_range: Optional[tuple[float, float]] = None) -> Frame:
    """The source's image stretched with its own full-frame limits and drawn on the target's grid:
    a :class:`~explorer.render.raster.Frame` whose ranges are the target's parent pixels."""
    from .exposure import plane_limits
    from .stretch import apply_stretch, stretch_range

    values, xr_, yr_ = resample_onto(source, target, x_range, y_range, width, height)
    limits = plane_limits(source, "image")
    if value_range is not None:
        from .display_limits import with_range

        limits = with_range(limits, stretch, *value_range)
    level = apply_stretch(values, limits, stretch)
    rgba = compose_rgba(level, None, {}, [], 0.0, cmap)
    return Frame(rgba, xr_, yr_, values, None, "image", stretch, stretch_range(limits, stretch), {})
