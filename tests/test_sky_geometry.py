"""Spherical areas, unions of polygons and sphgeom region conversion (explorer.sky)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from explorer.sky import WHOLE_SKY_DEG2, dc2_skymap, polygon_area_deg2, union_area_deg2
from explorer.sky import geometry as geo
from explorer.sky.regions import to_sphgeom_polygon, vertices_from_region

OCTANT_DEG2 = 4 * np.pi / 8 * (180 / np.pi) ** 2


def _clip(subject: np.ndarray, clipper: np.ndarray) -> np.ndarray:
    """Independent check: Sutherland-Hodgman clipping of convex CCW unit-vector polygons."""
    out = subject
    for a, b in zip(clipper, np.roll(clipper, -1, axis=0)):
        n = np.cross(a, b)
        if len(out) == 0:
            break
        new = []
        for p, q in zip(out, np.roll(out, -1, axis=0)):
            dp, dq = n @ p, n @ q
            if dp >= 0:
                new.append(p)
            if (dp >= 0) != (dq >= 0):
                x = (dp * q - dq * p) * np.sign(dp - dq)  # on n.x = 0, between p and q
                new.append(x / np.linalg.norm(x))
        out = np.array(new)
    return out


def _area_xyz(v):
    return abs(float(geo.polygon_signed_area_sr(v))) * geo.SQDEG_PER_SR if len(v) >= 3 else 0.0


def _xyz(vertices):
    return geo.ensure_ccw(geo.radec_to_xyz(vertices[:, 0], vertices[:, 1]))


def _square(ra, dec, size):
    return np.array([[ra, dec], [ra + size, dec], [ra + size, dec + size], [ra, dec + size]])


# --------------------------------------------------------------------------- polygon areas
def test_octant_area():
    assert polygon_area_deg2([[0, 0], [90, 0], [0, 90]]) == pytest.approx(OCTANT_DEG2, rel=1e-12)
    # either orientation, any starting vertex, RA wrapping through 0
    assert polygon_area_deg2([[0, 90], [90, 0], [0, 0]]) == pytest.approx(OCTANT_DEG2, rel=1e-12)
    assert polygon_area_deg2([[315, 0], [45, 0], [0, 90]]) == pytest.approx(OCTANT_DEG2, rel=1e-12)


def test_small_polygon_areas():
    # a 1x1 degree box at the equator with great-circle edges: just under 1 deg^2
    assert polygon_area_deg2(_square(10, -0.5, 1)) == pytest.approx(1.0, rel=1e-4)
    # a DC2 tract: 28000 pixels of 0.2" on a side, a little less on the sphere (gnomonic)
    tract = dc2_skymap().tract(3828)
    side = 28000 * 0.2 / 3600
    area = polygon_area_deg2(tract.outer_vertices_deg)
    assert area < side ** 2 and area == pytest.approx(side ** 2, rel=1e-3)
    # a patch inner box: 4000 pixels on a side
    patch = tract.patch(3, 3)
    assert polygon_area_deg2(patch.inner_vertices_deg) == pytest.approx((4000 * 0.2 / 3600) ** 2, rel=1e-5)


def test_polygon_area_rejects_bad_input():
    for bad in ([[0, 0], [1, 1]], np.zeros((4, 3)), [[0, 0], [1, np.nan], [0, 1]]):
        with pytest.raises(ValueError):
            polygon_area_deg2(bad)


def test_exact_box_area_matches_fine_polygon():
    # the RA/Dec box formula against a polygon with many vertices along the parallels
    ra = np.linspace(20, 30, 2001)
    ring = np.concatenate([np.stack([ra, np.full_like(ra, 40.0)], -1),
                           np.stack([ra[::-1], np.full_like(ra, 45.0)], -1)])
    assert float(geo.box_area_deg2(10, 40, 45)) == pytest.approx(polygon_area_deg2(ring), rel=1e-6)


# --------------------------------------------------------------------------- unions
def test_union_simple_cases():
    a = _square(10, 0, 1)
    assert union_area_deg2([a]) == pytest.approx(polygon_area_deg2(a), rel=1e-12)
    assert union_area_deg2([a, a[::-1]]) == pytest.approx(polygon_area_deg2(a), rel=1e-12)  # duplicate
    far = _square(200, 50, 2)
    assert union_area_deg2([a, far]) == pytest.approx(polygon_area_deg2(a) + polygon_area_deg2(far), rel=1e-12)
    inside = _square(10.2, 0.2, 0.5)
    assert union_area_deg2([a, inside]) == pytest.approx(polygon_area_deg2(a), rel=1e-12)
    neighbour = _square(11, 0, 1)  # abutting along a shared edge
    assert union_area_deg2([a, neighbour]) == pytest.approx(
        polygon_area_deg2(a) + polygon_area_deg2(neighbour), rel=1e-9)
    assert union_area_deg2([]) == 0.0
    with pytest.raises(ValueError):
        union_area_deg2([np.array([[0, 0], [2, 0], [1, 0.2], [2, 2], [0, 2]])])  # not convex


@pytest.mark.parametrize("pair", [(3828, 3829), (3828, 3828 + 200), (1, 2), (0, 5), (18937, 18930)])
def test_union_of_adjacent_dc2_tracts_matches_clipping(pair):
    sm = dc2_skymap()
    va, vb = (sm.tract(t).outer_vertices_deg for t in pair)
    union = union_area_deg2([va, vb])
    a, b = polygon_area_deg2(va), polygon_area_deg2(vb)
    inter = _area_xyz(_clip(_xyz(va), _xyz(vb)))
    assert union == pytest.approx(a + b - inter, rel=1e-9)
    if inter > 0:
        assert union < a + b


def test_union_of_three_overlapping_tracts_inclusion_exclusion():
    sm = dc2_skymap()
    ids = [3828, 3829, sm.find_tract(*sm.tract(3828).ctr_coord[:1], sm.tract(3828).ctr_coord[1] + 1.49).tract_id]
    vs = [_xyz(sm.tract(t).outer_vertices_deg) for t in ids]
    single = sum(_area_xyz(v) for v in vs)
    pairs = sum(_area_xyz(_clip(vs[i], vs[j])) for i, j in ((0, 1), (0, 2), (1, 2)))
    triple = _area_xyz(_clip(_clip(vs[0], vs[1]), vs[2]))
    got = union_area_deg2([sm.tract(t).outer_vertices_deg for t in ids])
    assert got == pytest.approx(single - pairs + triple, rel=1e-9)


def test_union_of_patches_equals_tract():
    tract = dc2_skymap().tract(3828)
    inner = [p.inner_vertices_deg for p in tract.patches()]
    outer = [p.outer_vertices_deg for p in tract.patches()]
    whole = polygon_area_deg2(tract.outer_vertices_deg)
    # inner boxes tile the tract (pixel edges map to great circles under TAN)
    assert union_area_deg2(inner) == pytest.approx(whole, rel=1e-9)
    assert union_area_deg2(outer) == pytest.approx(whole, rel=1e-9)
    assert sum(polygon_area_deg2(v) for v in outer) > whole


def test_whole_sky_unions():
    sm = dc2_skymap()
    t0 = time.perf_counter()
    outer = union_area_deg2(list(sm.all_tract_outer_vertices()))
    t1 = time.perf_counter()
    inner = union_area_deg2(list(sm.all_tract_inner_vertices()))
    t2 = time.perf_counter()
    print(f"\nunion of 18938 outer tract polygons: {t1 - t0:.2f} s; inner: {t2 - t1:.2f} s")
    # the tracts overlap: together they cover the sphere exactly once
    assert outer == pytest.approx(WHOLE_SKY_DEG2, rel=1e-9)
    # inner regions are RA/Dec boxes; their 4-corner great-circle polygons miss ~0.07% of the sky
    assert inner == pytest.approx(WHOLE_SKY_DEG2, rel=1e-3)
    assert sum(polygon_area_deg2(v) for v in sm.all_tract_outer_vertices()[::97]) > 0


# --------------------------------------------------------------------------- sphgeom regions
def test_sphgeom_round_trip():
    from lsst.sphgeom import Box, ConvexPolygon, LonLat, UnitVector3d

    tract = dc2_skymap().tract(3828)
    poly = to_sphgeom_polygon(tract.outer_vertices_deg)
    assert isinstance(poly, ConvexPolygon)
    assert poly.contains(UnitVector3d(LonLat.fromDegrees(*tract.ctr_coord)))
    assert not poly.contains(UnitVector3d(LonLat.fromDegrees(tract.ctr_coord[0] + 180, 0)))
    back = vertices_from_region(poly)
    assert back.shape == (4, 2)
    for ra, dec in tract.outer_vertices_deg:
        d = np.hypot(((back[:, 0] - ra + 180) % 360 - 180) * np.cos(np.radians(dec)), back[:, 1] - dec)
        assert d.min() < 1e-10
    assert polygon_area_deg2(back) == pytest.approx(polygon_area_deg2(tract.outer_vertices_deg), rel=1e-12)
    # a tract straddling RA = 0 and a polar cap convert too
    for t in (1, 0, 18937):
        v = dc2_skymap().tract(t).outer_vertices_deg
        assert polygon_area_deg2(vertices_from_region(to_sphgeom_polygon(v))) == pytest.approx(
            polygon_area_deg2(v), rel=1e-12)
    box = Box(LonLat.fromDegrees(350, -10), LonLat.fromDegrees(10, 10))
    corners = vertices_from_region(box)
    assert corners.tolist() == [[350, -10], [10, -10], [10, 10], [350, 10]]
    with pytest.raises(ValueError):
        to_sphgeom_polygon([[0, 0], [1, 1]])
