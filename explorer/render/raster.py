"""Screen-resolution rendering of exposure planes: downsample, stretch, colour, overlay masks.

This is the explorer's image pipeline without any UI: given a pixel plane, the visible range in
LSST parent-pixel coordinates (xy0 included) and the screen size, it returns an RGBA frame no
larger than the screen (and no larger than the number of image pixels visible), so a
16-megapixel calexp never travels to the browser whole. Image and variance planes are averaged
with datashader's raster aggregation; mask planes are OR-ed bitwise (a mean of bit fields means
nothing) by a numba kernel, then drawn in afw.display colours over the stretched image. Wide views
start from a copy binned by a power of two (an image-pyramid level, cached by the data layer), so
a whole-frame view costs about a million pixels, not sixteen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numba
import numpy as np

from ..repo.bits import narrowest
from .colors import mask_plane_colors, rgb
from .stretch import Limits, apply_stretch

NAN_RGB = (40, 10, 50)  # pixels without data (NaN): a dark violet, never mistaken for sky


@dataclass
class Frame:
    """One rendered view of a plane: ``rgba`` rows go bottom to top (y increasing)."""

    rgba: np.ndarray  # (h, w, 4) uint8
    x_range: tuple[float, float]  # parent-pixel edges covered (left, right)
    y_range: tuple[float, float]  # (bottom, top)
    values: np.ndarray  # (h, w) float32 downsampled plane values (NaN outside the image)
    mask_bits: Optional[np.ndarray] = None  # (h, w) OR of the mask bits in each cell
    plane: str = "image"
    stretch: str = "zscale"
    value_range: tuple[float, float] = (0.0, 1.0)  # data values shown black .. white
    mask_colors: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.rgba.shape[:2]

    @property
    def nbytes(self) -> int:
        return int(self.rgba.nbytes)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.x_range[0], self.y_range[0], self.x_range[1], self.y_range[1]


def full_range(shape: tuple[int, int], xy0: tuple[int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
    """Edges of the whole frame in parent-pixel coordinates (pixel centres are integers)."""
    ny, nx = shape
    x0, y0 = xy0
    return (x0 - 0.5, x0 + nx - 0.5), (y0 - 0.5, y0 + ny - 0.5)


def output_size(x_range: tuple[float, float], y_range: tuple[float, float], width: int,
                height: int) -> tuple[int, int]:
    """(w, h) of the grid to compute: the screen size, but never more cells than image pixels."""
    span_x = max(x_range[1] - x_range[0], 1.0)
    span_y = max(y_range[1] - y_range[0], 1.0)
    w = int(max(1, min(int(width), math.ceil(span_x))))
    h = int(max(1, min(int(height), math.ceil(span_y))))
    return w, h


def clamp_range(rng: Optional[Sequence[float]], full: tuple[float, float]) -> tuple[float, float]:
    """A requested axis range, defaulting to the full frame and never empty or inverted."""
    if rng is None or len(rng) != 2 or not all(np.isfinite(rng)):
        return full
    lo, hi = float(min(rng)), float(max(rng))
    if hi - lo < 1.0:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5, mid + 0.5
    return lo, hi


def downsample_mean(arr: np.ndarray, xy0: tuple[int, int], x_range: tuple[float, float],
                    y_range: tuple[float, float], w: int, h: int, factor: int = 1) -> np.ndarray:
    """Mean of the pixels in each cell of a ``w`` x ``h`` grid over the ranges (datashader raster).

    ``factor > 1``: ``arr`` is the plane binned by that factor (:mod:`explorer.repo.binning`), its
    block ``I`` centred on parent pixel ``x0 + I f + (f - 1) / 2``.
    """
    import datashader as ds
    import xarray as xr

    ny, nx = arr.shape
    x0, y0 = xy0
    f = int(factor)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    da = xr.DataArray(arr, dims=("y", "x"),
                      coords={"y": np.arange(ny, dtype=np.float64) * f + y0 + (f - 1) / 2.0,
                              "x": np.arange(nx, dtype=np.float64) * f + x0 + (f - 1) / 2.0})
    canvas = ds.Canvas(plot_width=w, plot_height=h, x_range=x_range, y_range=y_range)
    out = canvas.raster(da, agg="mean", nan_value=np.nan)
    return np.asarray(out.values, dtype=np.float32)


@numba.njit(cache=True, nogil=True)
def _or_downsample(mask, x0, y0, xlo, ylo, dx, dy, w, h, f, out):  # pragma: no cover - compiled
    # ``mask`` may be binned by ``f``: full-resolution index ranges map to block ranges
    ny, nx = mask.shape
    for j in range(h):
        ya = int(math.floor(ylo + j * dy - y0 + 0.5))
        yb = int(math.floor(ylo + (j + 1) * dy - y0 + 0.5))
        if yb <= ya:
            yb = ya + 1
        ya = max(ya, 0) // f
        yb = min((yb + f - 1) // f, ny)
        for i in range(w):
            xa = int(math.floor(xlo + i * dx - x0 + 0.5))
            xb = int(math.floor(xlo + (i + 1) * dx - x0 + 0.5))
            if xb <= xa:
                xb = xa + 1
            xa = max(xa, 0) // f
            xb = min((xb + f - 1) // f, nx)
            acc = 0
            for yy in range(ya, yb):
                for xx in range(xa, xb):
                    acc |= mask[yy, xx]
            out[j, i] = acc


def downsample_or(mask: np.ndarray, xy0: tuple[int, int], x_range: tuple[float, float],
                  y_range: tuple[float, float], w: int, h: int, factor: int = 1) -> np.ndarray:
    """Bitwise OR of the mask pixels in each cell (a plane set anywhere in the cell shows);
    ``factor > 1``: ``mask`` is binned by that factor (OR of blocks, so no bit is lost).

    The result is in the narrowest unsigned type that holds every value it has (``uint8`` when
    only planes 0-7 are set, as in most views): a page keeps its last frame, and an ``int64``
    cell of a 800 x 800 frame would be 5 MB for a few bits."""
    dx = (x_range[1] - x_range[0]) / w
    dy = (y_range[1] - y_range[0]) / h
    out = np.zeros((int(h), int(w)), dtype=mask.dtype if mask.dtype.kind in "iu" else np.int64)
    _or_downsample(mask, float(xy0[0]), float(xy0[1]), float(x_range[0]), float(y_range[0]),
                   float(dx), float(dy), int(w), int(h), int(factor), out)
    return narrowest(out)


@numba.njit(cache=True, nogil=True)
def _compose(level, lut, bits, plane_bits, plane_rgb, alpha, nan_rgb, out):  # pragma: no cover
    h, w = level.shape
    nplanes = plane_bits.shape[0]
    for j in range(h):
        for i in range(w):
            v = level[j, i]
            if v != v:  # NaN: no data
                r = float(nan_rgb[0])
                g = float(nan_rgb[1])
                b = float(nan_rgb[2])
            else:
                k = int(v * 255.0 + 0.5)
                if k < 0:
                    k = 0
                elif k > 255:
                    k = 255
                r = float(lut[k, 0])
                g = float(lut[k, 1])
                b = float(lut[k, 2])
            if nplanes > 0:
                m = bits[j, i]
                if m != 0:
                    for p in range(nplanes):
                        if m & plane_bits[p]:
                            r = r * (1.0 - alpha) + plane_rgb[p, 0] * alpha
                            g = g * (1.0 - alpha) + plane_rgb[p, 1] * alpha
                            b = b * (1.0 - alpha) + plane_rgb[p, 2] * alpha
            out[j, i, 0] = int(r + 0.5)
            out[j, i, 1] = int(g + 0.5)
            out[j, i, 2] = int(b + 0.5)
            out[j, i, 3] = 255


_LUTS: dict[str, np.ndarray] = {}
COLORMAPS = ("gray", "viridis", "magma", "inferno", "cividis")


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 lookup table of a colormap name."""
    if name not in _LUTS:
        if name == "gray":
            ramp = np.arange(256, dtype=np.uint8)
            lut = np.stack([ramp, ramp, ramp], axis=1)
        else:
            from bokeh import palettes

            table = {"viridis": palettes.Viridis256, "magma": palettes.Magma256,
                     "inferno": palettes.Inferno256, "cividis": palettes.Cividis256}
            if name not in table:
                raise ValueError(f"unknown colormap {name!r} (use one of {', '.join(COLORMAPS)})")
            lut = np.array([[int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)] for c in table[name]],
                           dtype=np.uint8)
        _LUTS[name] = lut
    return _LUTS[name]


def compose_rgba(level: np.ndarray, bits: Optional[np.ndarray], mask_planes: dict[str, int],
                 shown: Sequence[str], alpha: float = 0.5, cmap: str = "gray",
                 colors: Optional[dict[str, str]] = None) -> np.ndarray:
    """RGBA (h, w, 4) uint8: ``level`` in [0, 1] through the colormap, shown mask planes blended over.

    Planes are blended in bit order, so with several planes set a pixel shows a mix, the
    highest bit on top, as ds9 draws afw's mask overlays.
    """
    colors = colors or mask_plane_colors(mask_planes)
    order = [n for n, _ in sorted(mask_planes.items(), key=lambda kv: kv[1]) if n in set(shown)]
    plane_bits = np.array([1 << int(mask_planes[n]) for n in order], dtype=np.int64)
    plane_rgb = np.array([rgb(colors[n]) for n in order], dtype=np.float64).reshape(-1, 3)
    if bits is None or not order:
        bits = np.zeros((1, 1), dtype=np.int64) if bits is None else bits
        plane_bits = np.zeros(0, dtype=np.int64)
        plane_rgb = np.zeros((0, 3), dtype=np.float64)
    if bits.shape != level.shape:
        bits = np.zeros(level.shape, dtype=np.int64)
    out = np.empty(level.shape + (4,), dtype=np.uint8)
    _compose(np.ascontiguousarray(level, dtype=np.float32), colormap_lut(cmap),
             np.ascontiguousarray(bits, dtype=np.int64), plane_bits, plane_rgb, float(alpha),
             np.array(NAN_RGB, dtype=np.uint8), out)
    return out


def outside_cells(full_x: tuple[float, float], full_y: tuple[float, float], x_range: tuple[float, float],
                  y_range: tuple[float, float], w: int, h: int) -> np.ndarray:
    """(h, w) booleans: cells whose centre lies outside the frame."""
    xc = x_range[0] + (np.arange(w) + 0.5) * (x_range[1] - x_range[0]) / w
    yc = y_range[0] + (np.arange(h) + 0.5) * (y_range[1] - y_range[0]) / h
    out_x = (xc < full_x[0]) | (xc > full_x[1])
    out_y = (yc < full_y[0]) | (yc > full_y[1])
    return out_y[:, None] | out_x[None, :]


def render_plane(planes: dict[str, np.ndarray], xy0: tuple[int, int], plane: str, limits: Optional[Limits],
                 stretch: str, mask_planes: dict[str, int], shown: Sequence[str], alpha: float = 0.5,
                 x_range: Optional[Sequence[float]] = None, y_range: Optional[Sequence[float]] = None,
                 width: int = 800, height: int = 800, cmap: str = "gray",
                 binned: Optional[Callable[[str, int], np.ndarray]] = None) -> Frame:
    """Render one plane of an exposure at screen resolution.

    ``planes`` maps "image"/"mask"/"variance" to arrays (only the plane shown and the mask are
    needed); ``limits`` are the full-frame stretch limits of the plane (ignored for the mask
    plane, which is drawn as its colours on black). ``binned(name, factor)``, when given, returns
    a plane binned by a power of two (:meth:`explorer.repo.model.Exposure.binned`): views wide
    enough to show many pixels per screen pixel then rasterize from it rather than from every pixel.
    """
    arr = planes[plane]
    fx, fy = full_range(arr.shape, xy0)
    xr_, yr_ = clamp_range(x_range, fx), clamp_range(y_range, fy)
    w, h = output_size(xr_, yr_, width, height)
    mask = planes.get("mask")
    f = 1
    if binned is not None:
        from ..repo.binning import choose_factor

        f = choose_factor(xr_[1] - xr_[0], yr_[1] - yr_[0], w, h)
    if f > 1:
        arr = binned(plane, f)
        mask = binned("mask", f) if mask is not None and (shown or plane == "mask") else None
    bits = downsample_or(mask, xy0, xr_, yr_, w, h, f) if mask is not None and (shown or plane == "mask") else None
    colors = mask_plane_colors(mask_planes)
    if plane == "mask":
        values = bits.astype(np.float32) if bits is not None else np.zeros((h, w), np.float32)
        level = np.where(outside_cells(fx, fy, xr_, yr_, w, h), np.nan, 0.0).astype(np.float32)
        rgba = compose_rgba(level, bits, mask_planes, shown or list(mask_planes), 1.0, cmap, colors)
        return Frame(rgba, xr_, yr_, values, bits, plane, stretch, (0.0, 0.0), colors)
    values = downsample_mean(arr, xy0, xr_, yr_, w, h, f)
    lim = limits if limits is not None else Limits(0.0, 1.0, 0.0, 1.0, 1.0)
    level = apply_stretch(values, lim, stretch)
    rgba = compose_rgba(level, bits, mask_planes, shown, alpha, cmap, colors)
    from .stretch import stretch_range

    return Frame(rgba, xr_, yr_, values, bits, plane, stretch, stretch_range(lim, stretch), colors)
