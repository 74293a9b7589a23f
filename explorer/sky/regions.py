"""Convert RA/Dec vertex arrays to and from ``lsst.sphgeom`` regions.

The Gen3 registry stores tract, patch and visit regions as sphgeom regions (``ConvexPolygon`` for
tracts and patches). The sample generator writes them with :func:`to_sphgeom_polygon`; the Gen3
backend reads them back with :func:`vertices_from_region`.
"""
from __future__ import annotations

import numpy as np

from . import geometry as geo


def to_sphgeom_polygon(vertices) -> "lsst.sphgeom.ConvexPolygon":  # noqa: F821
    """A ``ConvexPolygon`` through ``(N, 2)`` RA/Dec vertices (degrees), in either order.

    Uses ``ConvexPolygon.convexHull`` (as ``lsst.skymap`` does), so the vertex order may be
    clockwise or counter-clockwise; the polygon must be convex and smaller than a hemisphere.
    """
    from lsst.sphgeom import ConvexPolygon, UnitVector3d

    v = np.asarray(vertices, dtype=float)
    if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3 or not np.all(np.isfinite(v)):
        raise ValueError(f"need an (N>=3, 2) array of finite RA/Dec vertices, got shape {v.shape}")
    xyz = geo.radec_to_xyz(v[:, 0], v[:, 1])
    return ConvexPolygon.convexHull([UnitVector3d(*p) for p in xyz])


def vertices_from_region(region) -> np.ndarray:
    """``(N, 2)`` RA/Dec vertices (degrees, RA in [0, 360)) of a sphgeom ``ConvexPolygon``.

    Also accepts a ``Box`` (its four corners, counter-clockwise from the lower-left) and regions
    with a ``getVertices()`` method. Other regions (circles, ellipses) have no vertices and raise
    ValueError.
    """
    from lsst.sphgeom import Box

    if isinstance(region, Box):
        lon, lat = region.getLon(), region.getLat()
        ra0, ra1 = lon.getA().asDegrees(), lon.getB().asDegrees()
        if ra1 < ra0:
            ra1 += 360.0
        d0, d1 = lat.getA().asDegrees(), lat.getB().asDegrees()
        return np.array([[ra0 % 360.0, d0], [ra1 % 360.0, d0], [ra1 % 360.0, d1], [ra0 % 360.0, d1]])
    if not hasattr(region, "getVertices"):
        raise ValueError(f"region {type(region).__name__} has no vertices")
    xyz = np.array([[p.x(), p.y(), p.z()] for p in region.getVertices()], dtype=float)
    ra, dec = geo.xyz_to_radec(xyz)
    return np.stack([ra, dec], axis=-1)
