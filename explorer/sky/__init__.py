"""Spherical geometry of LSST sky maps: RingsSkyMap tracts and patches, areas, point -> tract/patch.

No UI imports. Public API::

    from explorer.sky import RingsSkyMap, RingsSkyMapConfig, dc2_skymap, TractInfo, PatchInfo
    from explorer.sky import skymap_by_name  # "DC2", "lsst_cells_v1", "lsst_cells_v2"
    from explorer.sky import polygon_area_deg2, union_area_deg2
"""
from __future__ import annotations

from .errors import BadCoordinateError, BadPatchError, BadTractError, NotInTractError
from .geometry import WHOLE_SKY_DEG2, polygon_area_deg2
from .skymap import (DC2_CONFIG, LSST_CELLS_V1_CONFIG, LSST_CELLS_V2_CONFIG, SKYMAP_CONFIGS, CellTractBuilderConfig,
                     RingsSkyMap, RingsSkyMapConfig, dc2_skymap, skymap_by_name, skymap_names)
from .tract import PatchInfo, TractInfo
from .union import union_area_deg2

__all__ = [
    "RingsSkyMap", "RingsSkyMapConfig", "DC2_CONFIG", "dc2_skymap", "TractInfo", "PatchInfo",
    "CellTractBuilderConfig", "LSST_CELLS_V1_CONFIG", "LSST_CELLS_V2_CONFIG", "SKYMAP_CONFIGS",
    "skymap_by_name", "skymap_names",
    "polygon_area_deg2", "union_area_deg2", "WHOLE_SKY_DEG2",
    "BadTractError", "BadPatchError", "BadCoordinateError", "NotInTractError",
]
