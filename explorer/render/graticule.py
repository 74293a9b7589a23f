"""Sky axes over an image: an RA/Dec grid (labelled graticule) and a N/E compass, traced through the
exposure's exact WCS (:meth:`~explorer.repo.model.ExposureInfo.sky_to_pixel`), never a linear
approximation, so the lines bend where the WCS does.

:func:`graticule` picks round RA (in hours, minutes, seconds of time) and Dec (degrees, arcminutes,
arcseconds) spacings giving a few lines across the view, traces each line as a polyline in parent
pixels, and labels it where it enters the view (RA lines at the bottom, Dec lines at the left).
:func:`compass` gives the pixel directions of north and east at a point. Both are pure functions
of the exposure's WCS and the view (no UI).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..repo.model import ExposureInfo

__all__ = ["Compass", "Graticule", "GridLabel", "GridLine", "compass", "format_dec", "format_ra", "graticule"]

# spacings, in seconds of time (RA) and arcseconds (Dec)
RA_STEPS_S = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600)
DEC_STEPS_AS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 18000,
                36000, 108000)
SAMPLES = 13  # per side of the grid of view pixels whose sky positions set the spacing
POINTS = 80  # points along each traced line


@dataclass
class GridLine:
    """One line of constant RA (``kind`` "ra") or Dec ("dec"), ``value`` in degrees; ``x``, ``y``
    parent pixels (NaN where the line leaves the image, which breaks the polyline)."""

    kind: str
    value: float
    x: np.ndarray
    y: np.ndarray


@dataclass
class GridLabel:
    """A line's label: where it is drawn (on the line, parent pixels), its text and value."""

    kind: str
    value: float
    x: float
    y: float
    text: str


@dataclass
class Graticule:
    lines: list[GridLine] = field(default_factory=list)
    labels: list[GridLabel] = field(default_factory=list)
    ra_step_deg: float = 0.0
    dec_step_deg: float = 0.0


@dataclass
class Compass:
    """Arrows of equal length from (x, y) towards north and east, in parent pixels."""

    x: float
    y: float
    north: tuple[float, float]  # tip
    east: tuple[float, float]


def format_ra(ra_deg: float, step_s: float = 1.0) -> str:
    """RA as ``03h46m36s`` (tenths of seconds when the spacing needs them)."""
    decimals = 1 if step_s < 1 else 0
    total = round((ra_deg % 360.0) / 15.0 * 3600.0, decimals)
    total %= 86400.0
    h = int(total // 3600)
    m = int((total - h * 3600) // 60)
    s = total - h * 3600 - m * 60
    return f"{h:02d}h{m:02d}m{s:0{3 + decimals if decimals else 2}.{decimals}f}s"


def format_dec(dec_deg: float, step_as: float = 1.0) -> str:
    """Dec as ``-36d27m00s`` (tenths of arcseconds when the spacing needs them)."""
    decimals = 1 if step_as < 1 else 0
    total = round(abs(dec_deg) * 3600.0, decimals)
    d = int(total // 3600)
    m = int((total - d * 3600) // 60)
    s = total - d * 3600 - m * 60
    sign = "-" if dec_deg < 0 and total > 0 else "+"
    return f"{sign}{d:02d}d{m:02d}m{s:0{3 + decimals if decimals else 2}.{decimals}f}s"


def _view(info: ExposureInfo, x_range: Optional[Sequence[float]], y_range: Optional[Sequence[float]]):
    """The part of the view over the image (parent-pixel edges), or None when they do not meet."""
    ny, nx = info.shape
    x0, y0 = info.xy0
    fx = (x0 - 0.5, x0 + nx - 0.5)
    fy = (y0 - 0.5, y0 + ny - 0.5)
    xr = sorted(x_range) if x_range is not None else fx
    yr = sorted(y_range) if y_range is not None else fy
    xa, xb = max(xr[0], fx[0]), min(xr[1], fx[1])
    ya, yb = max(yr[0], fy[0]), min(yr[1], fy[1])
    if xb <= xa or yb <= ya:
        return None
    return (xa, xb), (ya, yb)


def _step(span: float, steps: Sequence[float], unit_deg: float, max_lines: int) -> float:
    for s in steps:
        if span / (s * unit_deg) <= max_lines:
            return s
    return steps[-1]


def _unwrap(ra: np.ndarray, centre: float) -> np.ndarray:
    return (ra - centre + 180.0) % 360.0 - 180.0 + centre


def graticule(info: ExposureInfo, x_range: Optional[Sequence[float]] = None,
              y_range: Optional[Sequence[float]] = None, max_lines: int = 5) -> Graticule:
    """The RA/Dec grid over the part of the view that shows the image (see module docstring).

    Raises ValueError when the exposure has no WCS.
    """
    if not info.has_sky:
        raise ValueError("this exposure has no WCS: no RA/Dec grid")
    view = _view(info, x_range, y_range)
    if view is None:
        return Graticule()
    (xa, xb), (ya, yb) = view
    gx, gy = np.meshgrid(np.linspace(xa, xb, SAMPLES), np.linspace(ya, yb, SAMPLES))
    ra, dec = info.pixel_to_sky(gx.ravel(), gy.ravel())
    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    good = np.isfinite(ra) & np.isfinite(dec)
    if not good.any():
        return Graticule()
    ra, dec = ra[good], dec[good]
    ra_c = float(ra[len(ra) // 2])
    ra_u = _unwrap(ra, ra_c)
    ra_lo, ra_hi = float(ra_u.min()), float(ra_u.max())
    dec_lo, dec_hi = float(dec.min()), float(dec.max())
    near_pole = dec_hi > 89.0 or dec_lo < -89.0
    if near_pole:  # every RA meets here: a few meridians
        ra_lo, ra_hi = ra_c - 180.0, ra_c + 180.0
    ra_step_s = _step(ra_hi - ra_lo, RA_STEPS_S, 15.0 / 3600.0, max_lines)
    dec_step_as = _step(dec_hi - dec_lo, DEC_STEPS_AS, 1.0 / 3600.0, max_lines)
    ra_step, dec_step = ra_step_s * 15.0 / 3600.0, dec_step_as / 3600.0
    out = Graticule(ra_step_deg=ra_step, dec_step_deg=dec_step)

    def inside(px, py):
        return np.isfinite(px) & np.isfinite(py) & (px >= xa) & (px <= xb) & (py >= ya) & (py <= yb)

    pad_ra, pad_dec = 0.1 * (ra_hi - ra_lo), 0.1 * (dec_hi - dec_lo)
    dec_track = np.linspace(max(dec_lo - pad_dec, -90.0), min(dec_hi + pad_dec, 90.0), POINTS)
    ra_track = np.linspace(ra_lo - pad_ra, ra_hi + pad_ra, POINTS)
    for k in range(math.ceil(ra_lo / ra_step - 1e-9), math.floor(ra_hi / ra_step + 1e-9) + 1):
        value = (k * ra_step) % 360.0
        px, py = info.sky_to_pixel(np.full(POINTS, value), dec_track)
        line = _line("ra", value, px, py, inside)
        if line is not None:
            out.lines.append(line)
            i = int(np.nanargmin(np.where(np.isfinite(line.x), line.y, np.nan)))  # where it enters at the bottom
            out.labels.append(GridLabel("ra", value, float(line.x[i]), float(line.y[i]), format_ra(value, ra_step_s)))
    for k in range(math.ceil(dec_lo / dec_step - 1e-9), math.floor(dec_hi / dec_step + 1e-9) + 1):
        value = k * dec_step
        if abs(value) >= 90.0:
            continue
        px, py = info.sky_to_pixel(ra_track % 360.0, np.full(POINTS, value))
        line = _line("dec", value, px, py, inside)
        if line is not None:
            out.lines.append(line)
            i = int(np.nanargmin(np.where(np.isfinite(line.y), line.x, np.nan)))  # where it enters at the left
            out.labels.append(GridLabel("dec", value, float(line.x[i]), float(line.y[i]),
                                        format_dec(value, dec_step_as)))
    return out


def _line(kind: str, value: float, px, py, inside) -> Optional[GridLine]:
    px, py = np.asarray(px, float), np.asarray(py, float)
    keep = inside(px, py)
    if keep.sum() < 2:
        return None
    return GridLine(kind, value, np.where(keep, px, np.nan), np.where(keep, py, np.nan))


def compass(info: ExposureInfo, x_range: Optional[Sequence[float]] = None,
            y_range: Optional[Sequence[float]] = None, size: float = 0.12) -> Optional[Compass]:
    """N and E arrows, ``size`` of the view's width long, from a point inset from the view's
    top-left corner; None when the view does not show the image or the WCS cannot map there."""
    if not info.has_sky:
        return None
    view = _view(info, x_range, y_range)
    if view is None:
        return None
    (xa, xb), (ya, yb) = view
    length = size * min(xb - xa, yb - ya)
    x, y = xa + 1.6 * length, yb - 1.6 * length
    ra, dec = (float(v) for v in info.pixel_to_sky(x, y))
    if not (math.isfinite(ra) and math.isfinite(dec)):
        return None
    d = 1.0 / 3600.0  # one arcsecond: local directions
    nx_, ny_ = (float(v) for v in info.sky_to_pixel(ra, min(dec + d, 90.0)))
    ex_, ey_ = (float(v) for v in info.sky_to_pixel(ra + d / max(math.cos(math.radians(dec)), 1e-6), dec))
    tips = []
    for tx, ty in ((nx_, ny_), (ex_, ey_)):
        vx, vy = tx - x, ty - y
        norm = math.hypot(vx, vy)
        if not (math.isfinite(norm) and norm > 0):
            return None
        tips.append((x + vx / norm * length, y + vy / norm * length))
    return Compass(x, y, tips[0], tips[1])
