"""Multi-amplifier raws (imSim ``SegmentNN`` HDUs with DATASEC/DETSEC): assembled into one CCD image.

An astronomer opening a raw expects to see the detector, so the image plane is the trimmed
detector image: each amplifier's data section (``DATASEC``) placed, and flipped where the
section's direction says so, at its ``DETSEC``. The WCS of that assembled frame is fitted
(TAN-SIP, degree 3) to the per-amplifier header WCSs; imSim's primary-HDU WCS is in a transposed
frame and is not used as is.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Optional

import numpy as np

from .errors import BadFileError
from .fitsio import is_2d_image, make_wcs, plane_label, read_with_astropy

_SEC_RE = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


def parse_section(value: Any) -> Optional[tuple[int, int, int, int]]:
    m = _SEC_RE.match(str(value or ""))
    return tuple(int(g) for g in m.groups()) if m else None  # type: ignore[return-value]


def amp_segments(hdus: list) -> list[tuple[int, tuple, tuple]]:
    """[(hdu index, DATASEC, DETSEC)] when the file is a raw made of several amplifier HDUs."""
    segs = []
    for i, hdu in enumerate(hdus):
        if i == 0 or not is_2d_image(hdu) or plane_label(hdu) in ("mask", "variance"):
            continue
        data_sec, det_sec = parse_section(hdu.header.get("DATASEC")), parse_section(hdu.header.get("DETSEC"))
        if data_sec and det_sec:
            segs.append((i, data_sec, det_sec))
    return segs if len(segs) >= 2 else []


def assembled_shape(segs) -> tuple[int, int]:
    nx = max(max(d[0], d[1]) for _, _, d in segs)
    ny = max(max(d[2], d[3]) for _, _, d in segs)
    return ny, nx


def _amp_placement(data_sec, det_sec):
    """Slices of the amp array and of the detector array, and the flips, for one amplifier."""
    ax0, ax1, ay0, ay1 = data_sec
    dx0, dx1, dy0, dy1 = det_sec
    amp = (slice(min(ay0, ay1) - 1, max(ay0, ay1)), slice(min(ax0, ax1) - 1, max(ax0, ax1)))
    det = (slice(min(dy0, dy1) - 1, max(dy0, dy1)), slice(min(dx0, dx1) - 1, max(dx0, dx1)))
    flip_x = (ax1 - ax0) * (dx1 - dx0) < 0
    flip_y = (ay1 - ay0) * (dy1 - dy0) < 0
    return amp, det, flip_x, flip_y


def det_to_amp(x: np.ndarray, y: np.ndarray, data_sec, det_sec) -> tuple[np.ndarray, np.ndarray]:
    """1-based amp pixel coordinates of 1-based detector coordinates inside one amp's DETSEC."""
    ax0, ax1, ay0, ay1 = data_sec
    dx0, dx1, dy0, dy1 = det_sec
    sx = (ax1 - ax0) / (dx1 - dx0) if dx1 != dx0 else 1.0
    sy = (ay1 - ay0) / (dy1 - dy0) if dy1 != dy0 else 1.0
    return ax0 + (x - dx0) * sx, ay0 + (y - dy0) * sy


def assembled_wcs(hdus, segs, primary_hdr):
    """A TAN-SIP WCS of the assembled detector frame, fitted to the per-amplifier header WCSs."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u
    from astropy.wcs.utils import fit_wcs_from_points

    xs, ys, ras, decs = [], [], [], []
    for i, data_sec, det_sec in segs:
        w = make_wcs(hdus[i].header, primary_hdr)
        if w is None:
            return None
        dx0, dx1, dy0, dy1 = det_sec
        gx, gy = np.meshgrid(np.linspace(min(dx0, dx1), max(dx0, dx1), 4),
                             np.linspace(min(dy0, dy1), max(dy0, dy1), 4))
        gx, gy = gx.ravel(), gy.ravel()
        axp, ayp = det_to_amp(gx, gy, data_sec, det_sec)
        ra, dec = w.all_pix2world(axp, ayp, 1)
        xs.append(gx - 1)  # 0-based detector pixels
        ys.append(gy - 1)
        ras.append(ra)
        decs.append(dec)
    x, y = np.concatenate(xs), np.concatenate(ys)
    world = SkyCoord(np.concatenate(ras) * u.deg, np.concatenate(decs) * u.deg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wcs = fit_wcs_from_points((x, y), world, projection="TAN", sip_degree=3)
        except Exception:
            return None
    return wcs


def assemble(hdus, segs) -> np.ndarray:
    ny, nx = assembled_shape(segs)
    out = np.zeros((ny, nx), dtype=np.float32)
    for i, data_sec, det_sec in segs:
        hdu = hdus[i]
        amp = read_with_astropy(hdu, np.dtype(np.float32))
        a, d, fx, fy = _amp_placement(data_sec, det_sec)
        piece = amp[a]
        if fx:
            piece = piece[:, ::-1]
        if fy:
            piece = piece[::-1, :]
        target = out[d]
        if piece.shape != target.shape:
            raise BadFileError(f"amplifier HDU {i}: DATASEC {data_sec} does not match DETSEC {det_sec}")
        target[...] = piece
    return out
