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


def overlap_counts(polygons: list, others: list) -> list[int]:
    """For each polygon (RA/Dec vertices), how many of ``others`` (sphgeom regions) overlap it:
    pairs are pre-selected by bounding circles with numpy, then tested exactly with sphgeom."""
    from .regions import to_sphgeom_polygon

    if not polygons or not others:
        return [0] * len(polygons)
    regions = [to_sphgeom_polygon(v) for v in polygons]
    circles = [r.getBoundingCircle() for r in regions]
    pc = np.array([[c.getCenter().x(), c.getCenter().y(), c.getCenter().z()] for c in circles])
    pr = np.array([c.getOpeningAngle().asRadians() for c in circles])
    ocircles = [o.getBoundingCircle() for o in others]
    oc = np.array([[c.getCenter().x(), c.getCenter().y(), c.getCenter().z()] for c in ocircles])
    orad = np.array([c.getOpeningAngle().asRadians() for c in ocircles])
    counts = []
    for i, region in enumerate(regions):
        near = np.nonzero(np.arccos(np.clip(oc @ pc[i], -1, 1)) <= pr[i] + orad)[0]
        counts.append(sum(1 for j in near if region.overlaps(others[j])))
    return counts
