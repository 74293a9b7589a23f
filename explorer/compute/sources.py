"""Where a catalog's sources fall on an exposure, in its parent-pixel coordinates.

Sky positions go through the exposure's WCS, which is only defined near the exposure: a
distorted (SIP) WCS asked for a point far off its footprint raises ``NoConvergence`` for the
whole batch. So points are first kept to a cap around the footprint, then mapped without raising,
then mapped back: a point whose pixel does not return to its sky position is dropped, never fatal.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..repo.model import ColumnInfo, ExposureInfo
from .catalog import centroid_columns, sky_columns, to_degrees

ID_COLUMNS = ("id", "sourceId", "objectId")


def position_columns(schema: Sequence[ColumnInfo], value_column: Optional[str] = None) -> Optional[dict]:
    """The columns that place a catalog's rows: ``pix`` (x, y) or ``sky`` (ra, dec) with their
    ``units``, an ``id`` column and the ``value`` column; None when the catalog has no positions."""
    names = [c.name for c in schema]
    pix, sky = centroid_columns(names), sky_columns(names)
    if pix is None and sky is None:
        return None
    return {"pix": pix, "sky": sky, "units": {c.name: c.unit for c in schema},
            "id": next((c for c in ID_COLUMNS if c in names), None),
            "value": value_column if value_column in names else None}

ROUND_TRIP_TOLERANCE_ARCSEC = 1.0  # a pixel that does not map back this close is no position
FOOTPRINT_MARGIN = 1.5  # points kept within this many footprint radii of the centre


def sky_to_pixel(info: ExposureInfo, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent-pixel x, y of sky positions; NaN for those the WCS cannot map (off the footprint,
    no convergence, no round trip)."""
    ra_deg, dec_deg = np.asarray(ra_deg, float), np.asarray(dec_deg, float)
    x = np.full(ra_deg.shape, np.nan)
    y = np.full(ra_deg.shape, np.nan)
    ok = np.isfinite(ra_deg) & np.isfinite(dec_deg)
    centre, corners = info.center_sky(), info.corners_sky()
    if centre is not None and corners is not None and np.all(np.isfinite(corners)):
        radius = max(_separation_deg(centre[0], centre[1], corners[:, 0], corners[:, 1]))
        ok &= _separation_deg(centre[0], centre[1], ra_deg, dec_deg) <= FOOTPRINT_MARGIN * radius + 1e-3
    if not ok.any():
        return x, y
    if info.sky is not None:  # the exact mapping (AST), vectorised; it maps in parent pixels already
        with np.errstate(invalid="ignore"):
            px, py = (np.asarray(v, float) for v in info.sky_to_pixel(ra_deg[ok], dec_deg[ok]))
    else:
        wcs = info.wcs
        try:
            px, py = wcs.all_world2pix(ra_deg[ok], dec_deg[ok], 0, quiet=True)
        except Exception:  # noqa: BLE001 - a WCS that cannot invert at all: its linear part then
            px, py = wcs.wcs_world2pix(ra_deg[ok], dec_deg[ok], 0)
        px = np.asarray(px, float) + info.xy0[0]
        py = np.asarray(py, float) + info.xy0[1]
    with np.errstate(invalid="ignore"):
        back_ra, back_dec = info.pixel_to_sky(px, py)
        err = _separation_deg(ra_deg[ok], dec_deg[ok], back_ra, back_dec) * 3600.0
    good = np.isfinite(err) & (err <= ROUND_TRIP_TOLERANCE_ARCSEC)
    x[np.flatnonzero(ok)[good]] = px[good]
    y[np.flatnonzero(ok)[good]] = py[good]
    return x, y


def _separation_deg(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance (haversine), degrees."""
    r1, d1, r2, d2 = (np.radians(np.asarray(v, float)) for v in (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def wanted_columns(cols: dict) -> list[str]:
    """The columns to read for :func:`source_positions`."""
    return list(cols["pix"] or cols["sky"]) + [c for c in (cols["id"], cols["value"]) if c]


def source_positions(info: ExposureInfo, df: pd.DataFrame, cols: dict) -> Optional[pd.DataFrame]:
    """x, y (parent pixels), id, value of each row that maps to a finite position."""
    if cols["pix"] is not None:
        x, y = df[cols["pix"][0]].to_numpy(float), df[cols["pix"][1]].to_numpy(float)
    elif info.has_sky:
        ra_col, dec_col = cols["sky"]
        x, y = sky_to_pixel(info, to_degrees(df[ra_col].to_numpy(float), cols["units"].get(ra_col)),
                            to_degrees(df[dec_col].to_numpy(float), cols["units"].get(dec_col)))
    else:
        return None
    id_col, value_col = cols["id"], cols["value"]
    out = pd.DataFrame({"x": x, "y": y,
                        "id": df[id_col].to_numpy() if id_col else np.arange(len(df)),
                        "value": df[value_col].to_numpy(float) if value_col in df.columns else np.nan})
    return out[np.isfinite(out["x"]) & np.isfinite(out["y"])]
