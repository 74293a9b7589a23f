"""FITS cutouts of an exposure: a box of its image, mask and variance planes in the afw layout.

A cutout is what ``Exposure.getCutout`` / a subimage is in afw: the planes sliced (pixels equal
to the source's), the same sky (the FITS WCS with ``CRPIX`` shifted by the box's offset, so every
pixel keeps its RA/Dec), ``xy0`` moved to the box corner (``LTV1/LTV2 = -xy0`` and the ``A``
LINEAR alternate WCS), the mask's ``MP_<NAME> = bit`` cards kept, and the primary header (the
exposure's metadata and VisitInfo cards) copied. The afw archive (PSF, PhotoCalib, FilterLabel,
Detector, the archived SkyWcs) is kept byte for byte after the planes: its objects are in parent
pixel coordinates, so they stay right for the cutout and the file still reads in afw. Files whose
planes are not HDUs 1-3 (very old afw) lose their archive (``AR_HDU`` is then dropped).

:func:`sky_box` places a box of a given size on an RA/Dec centre (the nearest pixel is the box's
centre pixel; :class:`CutoutError` when the centre is not on the image), :func:`view_box` takes
the pixels of the current view; :func:`write_cutout` writes the file (:func:`cutout_bytes` returns
it for a download). The source file is only read.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .errors import ExplorerError
from .model import PLANES, Exposure

__all__ = ["CutoutError", "CutoutBox", "sky_box", "pixel_box", "view_box", "write_cutout", "cutout_bytes",
           "MAX_CUTOUT_PIXELS"]

MAX_CUTOUT_PIXELS = 64 * 1024**2  # one plane; a full LSSTCam detector is 16 M pixels
_STRUCTURAL = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND", "XTENSION", "PCOUNT",
               "GCOUNT", "BZERO", "BSCALE", "BLANK", "CHECKSUM", "DATASUM", "ZIMAGE", "ZBITPIX", "ZNAXIS",
               "ZNAXIS1", "ZNAXIS2", "ZTILE1", "ZTILE2", "ZCMPTYPE", "ZQUANTIZ", "ZDITHER0", "ZSIMPLE",
               "ZEXTEND", "ZTENSION", "ZPCOUNT", "ZGCOUNT", "ZHECKSUM", "ZDATASUM", "ZBLANK", "ZVAL1",
               "ZVAL2", "ZNAME1", "ZNAME2", "THEAP", "TFIELDS"}
_WCS_KEY = re.compile(r"^(CRPIX|CRVAL|CTYPE|CUNIT|CDELT|CD\d_|PC\d_|PV\d_|CROTA|A_|B_|AP_|BP_|LTV|LTM|"
                      r"RADESYS|EQUINOX|LONPOLE|LATPOLE|WCSAXES|MJD-OBS)")


class CutoutError(ExplorerError):
    """The cutout cannot be made: centre not on the image, bad size, no WCS, unwritable output."""


@dataclass(frozen=True)
class CutoutBox:
    """A box of parent pixels (xy0 included): corner ``(x0, y0)``, size ``nx`` x ``ny``."""

    x0: int
    y0: int
    nx: int
    ny: int
    center: Optional[tuple[float, float]] = None  # requested centre, parent pixel coordinates
    clipped: bool = False  # the requested box reached past the image and was cut at its edge

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx


def _clip(info, x0: int, y0: int, nx: int, ny: int, center=None) -> CutoutBox:
    fy, fx = info.shape
    ix0, iy0 = info.xy0
    lo_x, lo_y = max(x0, ix0), max(y0, iy0)
    hi_x, hi_y = min(x0 + nx, ix0 + fx), min(y0 + ny, iy0 + fy)
    if hi_x <= lo_x or hi_y <= lo_y:
        raise CutoutError(f"the box {nx} x {ny} at ({x0}, {y0}) does not overlap the image "
                          f"({fx} x {fy} at {tuple(ix0 for ix0 in info.xy0)})")
    clipped = (lo_x, lo_y, hi_x, hi_y) != (x0, y0, x0 + nx, y0 + ny)
    return CutoutBox(int(lo_x), int(lo_y), int(hi_x - lo_x), int(hi_y - lo_y), center, clipped)


def _check_size(nx: int, ny: int) -> tuple[int, int]:
    try:
        nx, ny = int(nx), int(ny)
    except (TypeError, ValueError):
        raise CutoutError(f"cutout size must be whole pixels, not {nx!r} x {ny!r}") from None
    if nx < 1 or ny < 1:
        raise CutoutError(f"cutout size must be at least 1 x 1 pixels, not {nx} x {ny}")
    if nx * ny > MAX_CUTOUT_PIXELS:
        raise CutoutError(f"cutout of {nx} x {ny} pixels is larger than the {MAX_CUTOUT_PIXELS:,} allowed")
    return nx, ny


def pixel_box(exposure: Exposure, x0: int, y0: int, nx: int, ny: int) -> CutoutBox:
    """A box in parent pixels (e.g. the current view), cut at the image's edges."""
    nx, ny = _check_size(nx, ny)
    return _clip(exposure.info, int(x0), int(y0), nx, ny)


def view_box(exposure: Exposure, x_range: tuple[float, float], y_range: tuple[float, float]) -> CutoutBox:
    """The pixels a view shows (any part of them), from its parent-pixel edges as the image pane
    reports them (pixel ``i`` spans ``i - 0.5 .. i + 0.5``), cut at the image's edges."""
    (xlo, xhi), (ylo, yhi) = sorted(map(float, x_range)), sorted(map(float, y_range))
    if not all(math.isfinite(v) for v in (xlo, xhi, ylo, yhi)):
        raise CutoutError(f"bad view range x {x_range} y {y_range}")
    i0, i1 = math.floor(xlo - 0.5) + 1, math.ceil(xhi + 0.5) - 1
    j0, j1 = math.floor(ylo - 0.5) + 1, math.ceil(yhi + 0.5) - 1
    return pixel_box(exposure, i0, j0, max(1, i1 - i0 + 1), max(1, j1 - j0 + 1))


def sky_box(exposure: Exposure, ra: float, dec: float, nx: int, ny: Optional[int] = None) -> CutoutBox:
    """A ``nx`` x ``ny`` box centred on the pixel nearest to (``ra``, ``dec``) (degrees).

    The centre pixel is at index ``nx // 2``, ``ny // 2`` of the box. A box reaching past the image
    is cut at its edge (``clipped``); a centre off the image raises :class:`CutoutError`.
    """
    info = exposure.info
    nx, ny = _check_size(nx, nx if ny is None else ny)
    if info.wcs is None:
        raise CutoutError(f"{info.path} has no WCS: a cutout by RA/Dec needs one")
    if not (math.isfinite(ra) and math.isfinite(dec) and -90.0 <= dec <= 90.0):
        raise CutoutError(f"bad centre RA {ra} Dec {dec}: Dec must lie in [-90, 90]")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy's iterative inverse warns far off the image
            x, y = (float(v) for v in info.sky_to_pixel(ra % 360.0, dec))
    except Exception:  # astropy's inverse SIP does not converge far off the image
        x, y = math.nan, math.nan
    fy, fx = info.shape
    ix0, iy0 = info.xy0
    on = (math.isfinite(x) and math.isfinite(y) and ix0 - 0.5 <= x < ix0 + fx - 0.5
          and iy0 - 0.5 <= y < iy0 + fy - 0.5)
    if on:  # a far-away position can map back onto the image through a wrapped projection: check
        back_ra, back_dec = (float(v) for v in info.pixel_to_sky(x, y))
        on = _separation_arcsec(ra, dec, back_ra, back_dec) < 1.0
    if not on:
        corners = info.corners_sky()
        where = "" if corners is None else (
            f" (it covers RA {corners[:, 0].min():.4f}..{corners[:, 0].max():.4f}, "
            f"Dec {corners[:, 1].min():.4f}..{corners[:, 1].max():.4f})")
        raise CutoutError(f"centre RA {ra:.6f} Dec {dec:.6f} is not on the image {os.path.basename(info.path)}{where}")
    cx, cy = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
    return _clip(info, cx - nx // 2, cy - ny // 2, nx, ny, center=(x, y))


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    r1, d1, r2, d2 = (math.radians(v) for v in (ra1, dec1, ra2, dec2))
    s = (math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2)
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(s)))) * 3600.0


def _plane_header(src_hdr, name: str, dx: int, dy: int, x0: int, y0: int):
    """The source plane's header for the cutout: WCS moved by (dx, dy) local pixels, xy0 set."""
    from astropy.io import fits

    hdr = fits.Header()
    for card in src_hdr.cards:
        key = card.keyword
        if key in _STRUCTURAL or key in ("", "COMMENT", "HISTORY") and not str(card.value).strip():
            continue
        hdr.append(card, end=True)
    for axis, delta in (("1", dx), ("2", dy)):
        key = f"CRPIX{axis}"
        if key in hdr and isinstance(hdr[key], (int, float)):
            hdr[key] = float(hdr[key]) - delta
    hdr["LTV1"] = -x0
    hdr["LTV2"] = -y0
    if str(hdr.get("CTYPE1A", "")).strip() == "LINEAR" or "CRVAL1A" in hdr:
        hdr["CRVAL1A"] = x0
        hdr["CRVAL2A"] = y0
    hdr["EXTTYPE"] = name.upper()
    hdr["EXTNAME"] = name.upper()
    hdr["INHERIT"] = True
    return hdr


def _archive_tail(info, gz: bool) -> Optional[tuple[str, int]]:
    """(path, byte offset) of the afw archive HDUs to copy after the planes, when the layout allows."""
    if gz or info.plane_hdus != {"image": 1, "mask": 2, "variance": 3}:
        return None
    ar = info.metadata.get("AR_HDU")
    if not isinstance(ar, int) or isinstance(ar, bool) or ar < 5:
        return None
    return info.path, ar - 1  # the HDU index of ARCHIVE_INDEX; the tail runs to the end of the file


def write_cutout(exposure: Exposure, box: CutoutBox, out: str | os.PathLike) -> dict[str, Any]:
    """Write the cutout ``box`` of ``exposure`` to ``out`` (a new FITS file, replaced atomically).

    Returns a summary: ``path``, ``shape`` [ny, nx], ``xy0`` [x0, y0], ``planes``, ``mask_planes``,
    ``clipped``, ``archive_kept`` and ``bytes``.
    """
    from astropy.io import fits

    from .fitsio import check_signature, open_fits

    info = exposure.info
    out = os.fspath(out)
    if os.path.exists(out) and os.path.exists(info.path) and os.path.samefile(out, info.path):
        raise CutoutError(f"refusing to overwrite the source file {info.path} with its cutout")
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise CutoutError(f"cannot write {out}: no such directory {parent}")
    ix0, iy0 = info.xy0
    dx, dy = box.x0 - ix0, box.y0 - iy0
    sl = (slice(dy, dy + box.ny), slice(dx, dx + box.nx))
    gz = check_signature(info.path)
    with open_fits(info.path, gz) as hdul:
        primary_src = hdul[0].header
        plane_headers = {name: hdul[i].header.copy() for name, i in info.plane_hdus.items()}
        primary = fits.Header()
        image_in_primary = info.plane_hdus.get("image") == 0
        for card in primary_src.cards:
            if card.keyword in _STRUCTURAL or (image_in_primary and _WCS_KEY.match(card.keyword)):
                continue
            primary.append(card, end=True)
    tail = _archive_tail(info, gz)
    if tail is None:
        for key in [k for k in primary if k == "AR_HDU" or k.endswith("_ID") or k.startswith("ARCHIVE_ID")]:
            del primary[key]
    hdus: list = [fits.PrimaryHDU(header=primary)]
    for name in PLANES:
        if name not in info.plane_hdus:
            continue
        data = np.ascontiguousarray(exposure.plane(name)[sl])
        if name == "mask" and data.dtype.itemsize < 4:  # narrowed in the cache; afw's layout is int32
            data = data.astype(np.int32)
        hdus.append(fits.ImageHDU(data=data, header=_plane_header(plane_headers[name], name, dx, dy,
                                                                  box.x0, box.y0)))
    tmp = f"{out}.part-{os.getpid()}"
    try:
        fits.HDUList(hdus).writeto(tmp, overwrite=True, output_verify="silentfix")
        if tail is not None:
            _append_hdus(tail[0], tail[1], tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise CutoutError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {
        "path": os.path.abspath(out),
        "shape": [box.ny, box.nx],
        "xy0": [box.x0, box.y0],
        "planes": [p for p in PLANES if p in info.plane_hdus],
        "mask_planes": dict(info.mask_planes),
        "clipped": box.clipped,
        "archive_kept": tail is not None,
        "bytes": os.path.getsize(out),
    }


def cutout_bytes(exposure: Exposure, box: CutoutBox) -> bytes:
    """The cutout FITS file as bytes (for a download button): :func:`write_cutout` to a private
    temporary file, read back and removed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cutout-") as tmp:
        path = os.path.join(tmp, "cutout.fits")
        write_cutout(exposure, box, path)
        with open(path, "rb") as fh:
            return fh.read()


def _append_hdus(src: str, first_hdu: int, dest: str) -> None:
    """Copy HDUs ``first_hdu``.. of ``src`` (to its end) byte for byte onto the end of ``dest``."""
    from .fitsio import open_fits

    with open_fits(src) as hdul:
        try:
            start = int(hdul[first_hdu]._header_offset)
        except IndexError:
            return
    with open(src, "rb") as fin, open(dest, "ab") as fout:
        fin.seek(start)
        while True:
            chunk = fin.read(4 * 1024**2)
            if not chunk:
                break
            fout.write(chunk)
