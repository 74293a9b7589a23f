"""What an exposure says about itself (WCS, VisitInfo, zero point, PSF, metadata), as tables,
and the readout of one pixel under the pointer (value, mask planes set, RA/Dec)."""
from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pandas as pd

from ..render.pixel import pixel_index
from ..repo.model import Exposure, ExposureInfo


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


def overview_table(info: ExposureInfo, dataset_type: Optional[str] = None,
                   data_id: Optional[dict[str, Any]] = None) -> pd.DataFrame:
    """Shape, xy0, filter, detector, zero point, PSF, centre."""
    ny, nx = info.shape
    rows: list[tuple[str, str]] = []
    if dataset_type:
        rows.append(("dataset", dataset_type))
    if data_id:
        rows.append(("data ID", ", ".join(f"{k}={v}" for k, v in data_id.items())))
    rows += [("size", f"{nx} × {ny} pixels"), ("xy0", f"{info.xy0[0]}, {info.xy0[1]}"),
             ("planes", ", ".join(info.planes))]
    if info.filter_label:
        rows.append(("filter", " / ".join(str(v) for v in info.filter_label.values() if v)))
    if info.detector:
        named = [str(info.detector[k]) for k in ("id", "name") if info.detector.get(k) is not None]
        rows.append(("detector", " ".join(named)))
    if info.zero_point_mag is not None:
        rows.append(("zero point", f"{info.zero_point_mag:.4f} mag (AB, 1 count)"))
    if info.photo_calib:
        rows.append(("PhotoCalib mean", f"{info.photo_calib.get('mean', float('nan')):.6g} nJy/count"))
    if info.psf is not None:
        psf = info.psf.kind
        if info.psf.fwhm_arcsec:
            psf += f", FWHM {info.psf.fwhm_arcsec:.3f}″"
        if info.psf.sigma_pixels:
            psf += f" (σ {info.psf.sigma_pixels:.3f} px)"
        rows.append(("PSF", psf))
    centre = info.center_sky()
    if centre is not None:
        rows.append(("centre RA, Dec", f"{centre[0]:.6f}, {centre[1]:.6f} deg"))
    rows.append(("file", info.path))
    return pd.DataFrame(rows, columns=["property", "value"])


def wcs_table(info: ExposureInfo) -> pd.DataFrame:
    """The WCS's FITS keywords (CTYPE, CRVAL, CRPIX, CD, SIP orders) and the pixel scale."""
    if info.wcs is None:
        return pd.DataFrame([("WCS", "none")], columns=["keyword", "value"])
    w = info.wcs
    rows = [("CTYPE", ", ".join(w.wcs.ctype)), ("CRVAL (deg)", ", ".join(f"{v:.8f}" for v in w.wcs.crval)),
            ("CRPIX (1-based, local)", ", ".join(f"{v:.3f}" for v in w.wcs.crpix))]
    try:
        cd = w.wcs.cd if w.wcs.has_cd() else w.pixel_scale_matrix
    except Exception:
        cd = w.pixel_scale_matrix
    rows.append(("CD (deg/px)", "; ".join(", ".join(f"{v:.6e}" for v in row) for row in np.asarray(cd))))
    scale = math.sqrt(abs(np.linalg.det(np.asarray(w.pixel_scale_matrix)))) * 3600.0
    rows.append(("pixel scale", f"{scale:.4f} arcsec/px"))
    if w.sip is not None:
        rows.append(("SIP order", f"A {w.sip.a_order}, B {w.sip.b_order}"))
    rows.append(("convention", "RA/Dec from LSST 0-based parent pixels (xy0 included)"))
    return pd.DataFrame(rows, columns=["keyword", "value"])


def visit_info_table(info: ExposureInfo) -> pd.DataFrame:
    return pd.DataFrame([(k, _fmt(v)) for k, v in info.visit_info.items()], columns=["key", "value"])


def metadata_table(info: ExposureInfo) -> pd.DataFrame:
    return pd.DataFrame([(k, _fmt(v)) for k, v in info.metadata.items()], columns=["keyword", "value"])


def pixel_readout(exposure: Exposure, x: float, y: float) -> Optional[dict[str, Any]]:
    """Value, variance, mask planes and RA/Dec of the pixel under parent-pixel position (x, y).

    None when the position is off the image. Pixel centres are integers (LSST convention); the
    pixel is :func:`~explorer.render.pixel.pixel_index`'s (``floor(x + 0.5)``).
    """
    info = exposure.info
    hit = pixel_index(x, y, info.xy0, info.shape)
    if hit is None:
        return None
    ix, iy, jx, jy = hit
    out: dict[str, Any] = {"x": ix, "y": iy, "value": float(exposure.image[jy, jx])}
    if "variance" in info.plane_hdus:
        out["variance"] = float(exposure.variance[jy, jx])
    if "mask" in info.plane_hdus:
        bits = int(exposure.mask[jy, jx])
        out["mask"] = bits
        out["mask_planes"] = info.decode_mask(bits)
    if info.wcs is not None:
        ra, dec = info.pixel_to_sky(float(ix), float(iy))
        out["ra"], out["dec"] = float(ra), float(dec)
    return out


def sexagesimal(ra: float, dec: float) -> str:
    """RA as h:m:s and Dec as ±d:m:s."""
    h = (ra % 360.0) / 15.0
    hh = int(h)
    mm = int((h - hh) * 60)
    ss = ((h - hh) * 60 - mm) * 60
    sign = "-" if dec < 0 else "+"
    d = abs(dec)
    dd = int(d)
    dm = int((d - dd) * 60)
    ds = ((d - dd) * 60 - dm) * 60
    return f"{hh:02d}:{mm:02d}:{ss:06.3f} {sign}{dd:02d}:{dm:02d}:{ds:05.2f}"
