"""DS9 region files in and out, through ``astropy-regions``, on an exposure's parent pixel grid.

Regions come in two kinds: sky regions (``fk5``/``icrs``/``galactic`` in the file) are drawn on
*any* image through that image's WCS; pixel regions (``image`` in the file: 1-based pixels of that
file's own grid) belong to the image they were drawn on. The explorer works in LSST parent pixel
coordinates (0-based, xy0 included), so:

* :func:`read_regions` parses a DS9 file (or text) into ``regions`` objects, with one-line errors;
* :func:`to_parent_pixels` turns each into a pixel region on an exposure's parent grid (sky ones
  through its FITS WCS, whose pixels are local, then shifted by xy0);
* :func:`outline` gives the vertices to draw for a pixel region (circles and ellipses as
  polygons, annuli as two rings, points and lines as they are);
* :func:`write_regions` writes pixel regions drawn on the parent grid back to a DS9 file, in sky
  coordinates (``fk5``, readable on any image; needs the WCS) or in DS9 ``image`` pixels.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .errors import ExplorerError

__all__ = ["RegionsError", "Outline", "read_regions", "to_parent_pixels", "outline", "outlines",
           "write_regions", "regions_text"]


class RegionsError(ExplorerError):
    """A region file that cannot be read or written, or regions that cannot be placed on an image."""


@dataclass
class Outline:
    """What to draw for one region: ``rings`` of (N, 2) parent-pixel vertices (closed unless
    ``closed`` is False: lines, points), the region's kind and its DS9 text label, if any."""

    kind: str
    rings: list[np.ndarray]
    closed: bool = True
    label: Optional[str] = None


def read_regions(source: str | os.PathLike, text: bool = False) -> list:
    """Regions of a DS9 region file (or, with ``text=True``, of DS9 region text)."""
    from regions import Regions

    try:
        if text:
            regs = Regions.parse(str(source), format="ds9")
        else:
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise RegionsError(f"no such region file: {path}")
            regs = Regions.read(path, format="ds9")
    except RegionsError:
        raise
    except Exception as exc:  # regions raises ValueError, TypeError, its own errors...
        what = "region text" if text else os.fspath(source)
        raise RegionsError(f"{what}: not a DS9 region file ({' '.join(str(exc).split())[:160]})") from None
    return list(regs)


def _is_sky(region) -> bool:
    from regions import SkyRegion

    return isinstance(region, SkyRegion)


def _shift(region, dx: float, dy: float):
    """A pixel region moved by (dx, dy) pixels."""
    from regions import PixCoord

    changes: dict[str, Any] = {}
    for name in ("center", "start", "end", "vertices"):
        value = getattr(region, name, None)
        if isinstance(value, PixCoord):
            changes[name] = PixCoord(np.asarray(value.x) + dx, np.asarray(value.y) + dy)
    return region.copy(**changes)


_SKY_POSITIONS = ("center", "start", "end", "vertices")


def _frame_key(frame) -> tuple:
    return (frame.name, *((a, str(getattr(frame, a))) for a in sorted(frame.frame_attributes)))


def _in_frame(regions: list, target) -> list:
    """The sky regions with their positions transformed to ``target`` (the WCS's celestial frame):
    one transform per source frame for all of them, where astropy-regions would transform each
    region's position on its own (about a millisecond each), the bulk of placing a region file."""
    from astropy.coordinates import SkyCoord

    groups: dict[tuple, list] = {}  # frame key -> [(region index, attribute, coordinate)]
    for i, region in enumerate(regions):
        if not _is_sky(region):
            continue
        for name in _SKY_POSITIONS:
            value = getattr(region, name, None)
            if isinstance(value, SkyCoord):
                groups.setdefault(_frame_key(value.frame), []).append((i, name, value))
    changes: dict[int, dict[str, Any]] = {}
    for members in groups.values():
        lon = np.concatenate([np.ravel(c.spherical.lon.deg) for _, _, c in members])
        lat = np.concatenate([np.ravel(c.spherical.lat.deg) for _, _, c in members])
        frame = members[0][2].frame.replicate_without_data()
        moved = SkyCoord(lon, lat, unit="deg", frame=frame).transform_to(target)
        start = 0
        for i, name, c in members:
            n = int(np.size(c.spherical.lon))
            part = moved[start:start + n]
            changes.setdefault(i, {})[name] = part if c.shape else part[0]
            start += n
    return [region.copy(**changes[i]) if i in changes else region for i, region in enumerate(regions)]


def to_parent_pixels(regions: Iterable, info) -> list:
    """Each region as a pixel region on ``info``'s parent grid (an :class:`ExposureInfo`).

    Sky regions need the exposure's WCS (:class:`RegionsError` without one); DS9 ``image``
    regions are taken to be in this exposure's own pixels. Shapes regions cannot convert (e.g.
    spherical ones) raise :class:`RegionsError` naming them.
    """
    out = []
    x0, y0 = info.xy0
    regions = list(regions)
    if info.wcs is not None and any(_is_sky(r) for r in regions):
        from astropy.wcs.utils import wcs_to_celestial_frame

        try:
            regions = _in_frame(regions, wcs_to_celestial_frame(info.wcs))
        except Exception:  # noqa: BLE001 - a frame astropy cannot batch: each region converts itself below
            pass
    for region in regions:
        if _is_sky(region):
            if info.wcs is None:
                raise RegionsError(f"{os.path.basename(info.path)} has no WCS: sky regions cannot be placed on it")
            try:
                local = region.to_pixel(info.wcs)
            except Exception as exc:
                raise RegionsError(f"cannot place the {type(region).__name__} on the image "
                                   f"({' '.join(str(exc).split())[:120]})") from None
        else:
            local = region
        out.append(_shift(local, x0, y0))
    return out


def _ellipse(cx: float, cy: float, a: float, b: float, angle_deg: float, n: int) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ca, sa = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    x, y = a * np.cos(t), b * np.sin(t)
    return np.column_stack([cx + x * ca - y * sa, cy + x * sa + y * ca])


def _rect(cx: float, cy: float, w: float, h: float, angle_deg: float) -> np.ndarray:
    ca, sa = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    x = np.array([-w, w, w, -w]) / 2.0
    y = np.array([-h, -h, h, h]) / 2.0
    return np.column_stack([cx + x * ca - y * sa, cy + x * sa + y * ca])


def _deg(angle) -> float:
    return float(getattr(angle, "to_value", lambda unit: angle)("deg")) if angle is not None else 0.0


def outline(region, n: int = 72) -> Outline:
    """The vertices of a pixel region (parent pixels), ``n`` per ring for curved shapes."""
    import regions as R

    label = (getattr(region, "meta", None) or {}).get("text")
    kind = type(region).__name__.replace("PixelRegion", "").lower()
    if isinstance(region, R.TextPixelRegion) or isinstance(region, R.PointPixelRegion):
        c = region.center
        return Outline(kind, [np.array([[float(c.x), float(c.y)]])], False, label)
    if isinstance(region, R.LinePixelRegion):
        pts = np.array([[float(region.start.x), float(region.start.y)], [float(region.end.x), float(region.end.y)]])
        return Outline(kind, [pts], False, label)
    if isinstance(region, R.PolygonPixelRegion):
        v = region.vertices
        return Outline(kind, [np.column_stack([np.asarray(v.x, float), np.asarray(v.y, float)])], True, label)
    c = getattr(region, "center", None)
    cx, cy = (float(c.x), float(c.y)) if c is not None else (0.0, 0.0)
    if isinstance(region, R.CirclePixelRegion):
        return Outline(kind, [_ellipse(cx, cy, region.radius, region.radius, 0.0, n)], True, label)
    if isinstance(region, R.EllipsePixelRegion):
        return Outline(kind, [_ellipse(cx, cy, region.width / 2, region.height / 2, _deg(region.angle), n)],
                       True, label)
    if isinstance(region, R.RectanglePixelRegion):
        return Outline(kind, [_rect(cx, cy, region.width, region.height, _deg(region.angle))], True, label)
    if isinstance(region, R.CircleAnnulusPixelRegion):
        return Outline(kind, [_ellipse(cx, cy, r, r, 0.0, n) for r in (region.inner_radius, region.outer_radius)],
                       True, label)
    if isinstance(region, R.EllipseAnnulusPixelRegion):
        a = _deg(region.angle)
        return Outline(kind, [_ellipse(cx, cy, region.inner_width / 2, region.inner_height / 2, a, n),
                              _ellipse(cx, cy, region.outer_width / 2, region.outer_height / 2, a, n)], True, label)
    if isinstance(region, R.RectangleAnnulusPixelRegion):
        a = _deg(region.angle)
        return Outline(kind, [_rect(cx, cy, region.inner_width, region.inner_height, a),
                              _rect(cx, cy, region.outer_width, region.outer_height, a)], True, label)
    raise RegionsError(f"cannot draw a {type(region).__name__}")


def outlines(path_or_text: str | os.PathLike, info, text: bool = False) -> list[Outline]:
    """Read a DS9 file (or text) and return what to draw on ``info``'s parent grid."""
    return [outline(r) for r in to_parent_pixels(read_regions(path_or_text, text=text), info)]


def _prepare(regions: Sequence, info, sky: bool) -> list:
    x0, y0 = info.xy0
    out = []
    for region in regions:
        if _is_sky(region):
            out.append(region if sky else region.to_pixel(info.wcs))  # (sky regions pass through)
            continue
        local = _shift(region, -x0, -y0)  # parent -> this file's 0-based pixels
        if sky:
            if info.wcs is None:
                raise RegionsError(f"{os.path.basename(info.path)} has no WCS: write the regions in image pixels")
            out.append(local.to_sky(info.wcs))
        else:
            out.append(local)
    return out


def regions_text(regions: Sequence, info, sky: bool = True) -> str:
    """DS9 region text for pixel regions on ``info``'s parent grid: ``fk5`` (``sky``) or ``image``."""
    from regions import Regions

    return Regions(_prepare(regions, info, sky)).serialize(format="ds9", precision=10)


def write_regions(path: str | os.PathLike, regions: Sequence, info, sky: bool = True) -> str:
    """Write pixel regions drawn on ``info``'s parent grid to a DS9 file (see :func:`regions_text`)."""
    path = os.fspath(path)
    text = regions_text(regions, info, sky=sky)
    try:
        with open(path, "w") as fh:
            fh.write(text)
    except OSError as exc:
        raise RegionsError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
