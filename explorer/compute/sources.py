"""Where a catalog's sources fall on an exposure, in its parent-pixel coordinates.
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


def wanted_columns(cols: dict) -> list[str]:
    """The columns to read for :func:`source_positions`."""
    return list(cols["pix"] or cols["sky"]) + [c for c in (cols["id"], cols["value"]) if c]


def source_positions(info: ExposureInfo, df: pd.DataFrame, cols: dict) -> Optional[pd.DataFrame]:
    """x, y (parent pixels), id, value of each row that maps to a finite position."""
    if cols["pix"] is not None:
        x, y = df[cols["pix"][0]].to_numpy(float), df[cols["pix"][1]].to_numpy(float)
    elif info.wcs is not None:
        ra_col, dec_col = cols["sky"]
        x, y = info.sky_to_pixel(to_degrees(df[ra_col].to_numpy(float), cols["units"].get(ra_col)),
                                 to_degrees(df[dec_col].to_numpy(float), cols["units"].get(dec_col)))
    else:
        return None
    id_col, value_col = cols["id"], cols["value"]
    out = pd.DataFrame({"x": x, "y": y,
                        "id": df[id_col].to_numpy() if id_col else np.arange(len(df)),
                        "value": df[value_col].to_numpy(float) if value_col in df.columns else np.nan})
    return out[np.isfinite(out["x"]) & np.isfinite(out["y"])]
