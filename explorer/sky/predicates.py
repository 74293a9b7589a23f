"""Point-in-polygon and overlap tests for convex spherical polygons given as RA/Dec vertices.

Exact on the sphere (unit vectors; lsst.sphgeom for overlaps). Used by the selection (which
visits overlap a patch), the state (which patch a tap on the sky map falls in) and the views.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import geometry as geo


def contains(vertices: np.ndarray, ra: float, dec: float) -> bool:
    """Whether a convex spherical polygon contains a point (exact, on the sphere)."""
    v = np.asarray(vertices, float)
    xyz = geo.ensure_ccw(geo.radec_to_xyz(v[:, 0], v[:, 1]))
    point = geo.radec_to_xyz(np.array([ra]), np.array([dec]))
    return bool(np.asarray(geo.convex_contains(xyz, point)).ravel()[0])


def find_containing(regions: dict[Any, np.ndarray], ra: float, dec: float) -> Optional[Any]:
    """The key of the first region containing the point (None when none does)."""
    for key, verts in regions.items():
        if verts is not None and len(verts) >= 3 and contains(verts, ra, dec):
            return key
    return None


def overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex spherical polygons (RA/Dec vertices) overlap (lsst.sphgeom, exact)."""
    from .regions import to_sphgeom_polygon

    try:
        return bool(to_sphgeom_polygon(a).overlaps(to_sphgeom_polygon(b)))
    except ValueError:
        return False
