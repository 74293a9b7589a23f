"""Where the sky lands on the camera: one visit's exact sky <-> detector-pixel mapping and its TAN-SIP WCS.

The model: a gnomonic (TAN) projection about the boresight, rotated by the sky angle
(``rotSkyPos``), with a small radial optical distortion ``r_ideal = r (1 + k r^2)`` in focal-plane
pixels. Because the distortion is a cubic polynomial about the boresight, the per-detector FITS
WCS with ``CRPIX`` at the boresight is *exactly* TAN-SIP of order 3 (``A_3_0 = A_1_2 = B_2_1 =
B_0_3 = k``); the inverse polynomial ``AP/BP = -k`` is good to ~1e-3 pixel. Rendering and catalogs
use the exact mapping below, so they agree with the WCS written into every calexp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import PIXEL_SCALE_ARCSEC, DetectorGeom

DISTORTION_K = 1.0e-13  # per focal-plane pixel^2: ~3 pixels at the edge of the 3.5 degree field


@dataclass(frozen=True)
class Pointing:
    """Boresight RA, Dec and sky rotation angle of one visit (degrees)."""

    ra: float
    dec: float
    rot: float

    @property
    def cd(self) -> np.ndarray:
        """2x2 CD matrix (deg / pixel) for focal-plane pixel axes; east-left when rot = 0."""
        s = PIXEL_SCALE_ARCSEC / 3600.0
        t = np.radians(self.rot)
        return s * np.array([[-np.cos(t), np.sin(t)], [np.sin(t), np.cos(t)]])


def sky_to_tangent(pointing: Pointing, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic standard coordinates (xi east, eta north; degrees) about the boresight."""
    a = np.radians(np.asarray(ra, dtype=float))
    d = np.radians(np.asarray(dec, dtype=float))
    a0, d0 = np.radians(pointing.ra), np.radians(pointing.dec)
    cos_c = np.sin(d) * np.sin(d0) + np.cos(d) * np.cos(d0) * np.cos(a - a0)
    xi = np.cos(d) * np.sin(a - a0) / cos_c
    eta = (np.sin(d) * np.cos(d0) - np.cos(d) * np.sin(d0) * np.cos(a - a0)) / cos_c
    xi = np.where(cos_c > 0, xi, np.nan)
    eta = np.where(cos_c > 0, eta, np.nan)
    return np.degrees(xi), np.degrees(eta)


def tangent_to_sky(pointing: Pointing, xi, eta) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`sky_to_tangent`."""
    x = np.radians(np.asarray(xi, dtype=float))
    y = np.radians(np.asarray(eta, dtype=float))
    a0, d0 = np.radians(pointing.ra), np.radians(pointing.dec)
    rho = np.hypot(x, y)
    c = np.arctan(rho)
    with np.errstate(invalid="ignore", divide="ignore"):
        dec = np.arcsin(np.cos(c) * np.sin(d0) + np.where(rho > 0, y * np.sin(c) * np.cos(d0) / rho, 0.0))
        ra = a0 + np.arctan2(x * np.sin(c), rho * np.cos(d0) * np.cos(c) - y * np.sin(d0) * np.sin(c))
    return np.degrees(ra) % 360.0, np.degrees(dec)


def sky_to_fp(pointing: Pointing, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec (deg) -> distorted focal-plane pixel coordinates (boresight at 0, 0)."""
    xi, eta = sky_to_tangent(pointing, ra, dec)
    inv = np.linalg.inv(pointing.cd)
    ui = inv[0, 0] * xi + inv[0, 1] * eta
    vi = inv[1, 0] * xi + inv[1, 1] * eta
    # Undo the distortion: solve r (1 + k r^2) = r_ideal by Newton's method (converges in 3 steps).
    ri = np.hypot(ui, vi)
    r = ri.copy()
    for _ in range(4):
        f = r * (1.0 + DISTORTION_K * r * r) - ri
        r = r - f / (1.0 + 3.0 * DISTORTION_K * r * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(ri > 0, r / ri, 1.0)
    return ui * scale, vi * scale


def fp_to_sky(pointing: Pointing, u, v) -> tuple[np.ndarray, np.ndarray]:
    """Distorted focal-plane pixel coordinates -> RA, Dec (deg)."""
    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    f = 1.0 + DISTORTION_K * (u * u + v * v)
    ui, vi = u * f, v * f
    cd = pointing.cd
    xi = cd[0, 0] * ui + cd[0, 1] * vi
    eta = cd[1, 0] * ui + cd[1, 1] * vi
    return tangent_to_sky(pointing, xi, eta)


def sky_to_pixel(pointing: Pointing, det: DetectorGeom, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec -> 0-based pixel coordinates of one detector (may fall outside it)."""
    u, v = sky_to_fp(pointing, ra, dec)
    return det.fp_to_pixel(u, v)


def pixel_to_sky(pointing: Pointing, det: DetectorGeom, x, y) -> tuple[np.ndarray, np.ndarray]:
    u, v = det.pixel_to_fp(np.asarray(x, float), np.asarray(y, float))
    return fp_to_sky(pointing, u, v)


def detector_wcs_cards(pointing: Pointing, det: DetectorGeom, xy0: tuple[int, int] = (0, 0)) -> list[tuple]:
    """FITS TAN-SIP cards of a detector image whose first pixel is parent pixel ``xy0``.

    afw writes the WCS of a sub-image in the image's own (local) FITS pixel frame, so ``CRPIX`` is
    shifted by ``-xy0``; the ``A`` alternate WCS (``CRVAL1A = x0``) maps back to parent pixels.
    """
    cx, cy = det.center_fp_pixels
    # 0-based detector pixel of the boresight: where (u, v) = (0, 0).
    bx = (det.nx - 1) / 2.0 - cx
    by = (det.ny - 1) / 2.0 - cy
    cd = pointing.cd
    k = DISTORTION_K
    cards = [
        ("WCSAXES", 2, "Number of WCS axes"),
        ("CTYPE1", "RA---TAN-SIP", "Type of co-ordinate on axis 1"),
        ("CTYPE2", "DEC--TAN-SIP", "Type of co-ordinate on axis 2"),
        ("CRPIX1", bx + 1.0 - xy0[0], "Reference pixel on axis 1"),
        ("CRPIX2", by + 1.0 - xy0[1], "Reference pixel on axis 2"),
        ("CRVAL1", pointing.ra, "Value at ref. pixel on axis 1"),
        ("CRVAL2", pointing.dec, "Value at ref. pixel on axis 2"),
        ("CD1_1", cd[0, 0], "Transformation matrix element"),
        ("CD1_2", cd[0, 1], "Transformation matrix element"),
        ("CD2_1", cd[1, 0], "Transformation matrix element"),
        ("CD2_2", cd[1, 1], "Transformation matrix element"),
        ("CUNIT1", "deg", "Units of coordinate increment and value"),
        ("CUNIT2", "deg", "Units of coordinate increment and value"),
        ("RADESYS", "ICRS", "Reference frame for RA/DEC values"),
        ("A_ORDER", 3, "SIP forward polynomial order, axis 1"),
        ("B_ORDER", 3, "SIP forward polynomial order, axis 2"),
        ("AP_ORDER", 3, "SIP reverse polynomial order, axis 1"),
        ("BP_ORDER", 3, "SIP reverse polynomial order, axis 2"),
    ]
    fwd = {"A": {(3, 0): k, (1, 2): k}, "B": {(2, 1): k, (0, 3): k}}
    for name in ("A", "B"):
        for i in range(4):
            for j in range(4 - i):
                if i + j < 2:
                    continue
                cards.append((f"{name}_{i}_{j}", fwd[name].get((i, j), 0.0), ""))
    for name in ("AP", "BP"):
        src = fwd[name[0]]
        for i in range(4):
            for j in range(4 - i):
                if i + j < 1:
                    continue
                cards.append((f"{name}_{i}_{j}", -src.get((i, j), 0.0), ""))
    return cards


def detector_corners_sky(pointing: Pointing, det: DetectorGeom) -> np.ndarray:
    """(4, 2) RA, Dec of the detector's outer pixel corners, counter-clockwise in pixel space."""
    xs = np.array([-0.5, det.nx - 0.5, det.nx - 0.5, -0.5])
    ys = np.array([-0.5, -0.5, det.ny - 0.5, det.ny - 0.5])
    ra, dec = pixel_to_sky(pointing, det, xs, ys)
    return np.column_stack([ra, dec])
