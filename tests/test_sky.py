"""RingsSkyMap, TractInfo and PatchInfo against facts published by lsst/skymap and its users.

Sources of the expected numbers:
* lsst/skymap tests/test_ringsSkyMap.py: numRings=3 gives 26 tracts; the HSC SSP configuration
  (numRings=120, TAN, 0.168"/px, 1' overlap) with version=0 has tract 9712 at (0, 0.7438016528925696)
  and tract 9813 (COSMOS) at (150.2479338842975, 2.2314049586776834); findTract of every tract
  centre returns that tract (DM-14809); polar points find only the caps (DM-10686).
* lsst/ci_imsim configs/skymap.py: DC2 tract 3828, patch "3,3" is centred at RA 56.6497, Dec -36.4463.
* lincc-frameworks/skymap-convert, outputs computed with the real lsst.skymap on the
  "lsst_cells_v1" sky map (the DC2 rings with 3000x3000-pixel patches): tract 1's outer polygon RAs
  {19.7533906773, 51.8567458466, 308.1413987525, 340.2453942971} (docs/A1 notebook) and the inner
  polygon of tract 1234, patch 56 (README).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from explorer.repo.errors import ExplorerError
from explorer.sky import (DC2_CONFIG, WHOLE_SKY_DEG2, BadCoordinateError, BadPatchError, BadTractError,
                          NotInTractError, PatchInfo, RingsSkyMap, RingsSkyMapConfig, TractInfo,
                          dc2_skymap)

HSC_CONFIG = RingsSkyMapConfig(num_rings=120, projection="TAN", pixel_scale_arcsec=0.168,
                               tract_overlap_deg=1.0 / 60)
CELLS_CONFIG = RingsSkyMapConfig(num_rings=120, projection="TAN", pixel_scale_arcsec=0.2,
                                 tract_overlap_deg=1.0 / 60, patch_inner_dimensions=(3000, 3000))


def _sep_arcsec(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600


def _random_sky(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


@pytest.fixture(scope="module")
def dc2():
    return dc2_skymap()


# --------------------------------------------------------------------------- numbering facts
def test_tract_counts_from_lsst_skymap_tests():
    assert RingsSkyMap(RingsSkyMapConfig(num_rings=3)).num_tracts == 26
    assert len(RingsSkyMap(RingsSkyMapConfig(num_rings=3, ra_start_deg=234.0))) == 26
    assert dc2_skymap().num_tracts == 18938
    assert RingsSkyMap(HSC_CONFIG).num_tracts == 18938


def test_dc2_singleton_and_config(dc2):
    assert dc2 is dc2_skymap()
    assert dc2.name == "DC2"
    assert dc2.config == DC2_CONFIG
    assert (dc2.config.num_rings, dc2.config.projection, dc2.config.pixel_scale_arcsec) == (120, "TAN", 0.2)
    assert dc2.config.patch_inner_dimensions == (4000, 4000) and dc2.config.patch_border == 100
    assert dc2.tract(3828) is dc2.tract(3828)  # cached


def test_hsc_version0_known_tract_centres():
    hsc0 = RingsSkyMap(HSC_CONFIG, version=0)
    assert hsc0.tract(9712).ctr_coord == pytest.approx((0.0, 0.7438016528925696), abs=1e-10)
    assert hsc0.tract(9813).ctr_coord == pytest.approx((150.2479338842975, 2.2314049586776834), abs=1e-10)
    # version 0 repeats ring 0's first tract at the end of ring 0 (DM-14809)
    dup = int(hsc0.ring_nums[0]) + 1
    assert hsc0.tract(dup).ctr_coord == pytest.approx(hsc0.tract(1).ctr_coord, abs=1e-9)
    expect = np.arange(hsc0.num_tracts)
    expect[dup] = 1
    ra, dec = hsc0.all_tract_centers()
    np.testing.assert_array_equal(hsc0.find_tracts(ra, dec), expect)


@pytest.mark.parametrize("config", [DC2_CONFIG, RingsSkyMapConfig(num_rings=3),
                                    RingsSkyMapConfig(num_rings=3, ra_start_deg=234.0)])
def test_dm14809_every_centre_finds_its_tract(config):
    sm = RingsSkyMap(config)
    ra, dec = sm.all_tract_centers()
    np.testing.assert_array_equal(sm.find_tracts(ra, dec), np.arange(sm.num_tracts))
    centres = set(zip((ra * 60).astype(int), (dec * 60).astype(int)))
    assert len(centres) == sm.num_tracts


def test_first_tract_of_last_ring_exists_in_version1():
    sm = RingsSkyMap(HSC_CONFIG)
    ring_size = 180.0 / 121
    dec = 119 * ring_size + (0.5 * ring_size - 90.0)
    tract = sm.find_tract(0.0, dec)
    assert tract.contains(0.0, dec)
    assert sm.find_tracts(0.0, dec)[0] == tract.tract_id


def test_ring_layout_dc2(dc2):
    ring, num = dc2.ring_indices(np.arange(dc2.num_tracts))
    assert ring[0] == -1 and ring[-1] == 120
    np.testing.assert_array_equal(np.bincount(ring[1:-1]), dc2.ring_nums)
    assert dc2.ring_nums[0] == 10 and dc2.ring_nums[60] == dc2.ring_nums.max()
    # tract 1 is ring 0 at raStart; tracts are numbered eastwards
    assert dc2.tract(1).ctr_coord == pytest.approx((0.0, -90 + 180 / 121))
    assert dc2.tract(2).ctr_coord[0] == pytest.approx(36.0)


# --------------------------------------------------------------------------- tract/patch geometry facts
def test_dc2_tract_3828_patch_33_centre(dc2):
    patch = dc2.tract(3828).patch("3,3")
    ra, dec = patch.center_deg
    assert ra == pytest.approx(56.6497, abs=5e-5)
    assert dec == pytest.approx(-36.4463, abs=5e-5)
    # the tract is centred there too (a 7x7-patch tract: patch 3,3 is the middle one)
    assert _sep_arcsec(*dc2.tract(3828).ctr_coord, ra, dec) < 1.0


def test_cells_skymap_tract1_outer_polygon_matches_lsst():
    tract = RingsSkyMap(CELLS_CONFIG).tract(1)
    assert tract.num_patches == (10, 10) and tract.bbox == (0, 0, 30000, 30000)
    v = tract.outer_vertices_deg
    assert sorted(np.round(v[:, 0], 10)) == [19.7533906773, 51.8567458466, 308.1413987525, 340.2453942971]
    assert sorted(set(np.round(v[:, 1], 4))) == [-88.9406, -87.5342, -87.5341]


def test_cells_skymap_patch_polygon_matches_lsst():
    expected = np.array([[353.19436746094334, -61.733705740129906], [353.5462936615678, -61.73505840062234],
                         [353.54818789227375, -61.568395336612376], [353.19815518019567, -61.567052069980534]])
    got = RingsSkyMap(CELLS_CONFIG).tract(1234).patch_from_sequential(56).inner_vertices_deg
    for ra, dec in expected:
        assert _sep_arcsec(got[:, 0], got[:, 1], ra, dec).min() < 1e-6


def test_every_dc2_tract_is_7x7_patches_of_28000_pixels(dc2):
    # all tracts have the same half-size, so the same grid; check with the vectorised frames
    frames = dc2._all_frames()
    assert np.all(frames.dims == 28000)
    for t in (0, 1, 3828, 9469, 18937):
        assert dc2.tract(t).num_patches == (7, 7)
        assert dc2.tract(t).bbox == (0, 0, 28000, 28000)


def test_patch_boxes_and_borders(dc2):
    tract = dc2.tract(3828)
    nx, ny = tract.num_patches
    for x in (0, 1, 3, nx - 1):
        for y in (0, 1, 3, ny - 1):
            p = tract.patch(x, y)
            ix0, iy0, iw, ih = p.inner_bbox
            ox0, oy0, ow, oh = p.outer_bbox
            assert (ix0, iy0, iw, ih) == (4000 * x, 4000 * y, 4000, 4000)
            assert ox0 == (ix0 if x == 0 else ix0 - 100)
            assert oy0 == (iy0 if y == 0 else iy0 - 100)
            assert ox0 + ow == (ix0 + iw if x == nx - 1 else ix0 + iw + 100)
            assert oy0 + oh == (iy0 + ih if y == ny - 1 else iy0 + ih + 100)
    assert len(tract.patches()) == 49 == len(tract)
    assert [p.sequential_index for p in tract.patches()] == list(range(49))


def test_patch_addressing(dc2):
    tract = dc2.tract(3828)
    p = tract.patch(3, 4)
    assert isinstance(p, PatchInfo)
    assert p.name == "3,4" and p.index == (3, 4)
    assert tract.patch("3,4") == p == tract.patch((3, 4)) == tract[(3, 4)]
    assert tract.sequential_index(3, 4) == 4 * 7 + 3 == p.sequential_index
    assert tract.patch_from_sequential(31) == p == tract[31]
    assert p.inner_vertices_deg.shape == (4, 2) and p.outer_vertices_deg.shape == (4, 2)
    grid = tract.patch_vertices_array()
    assert grid.shape == (49, 4, 2)
    np.testing.assert_allclose(grid[31], p.inner_vertices_deg, atol=1e-12)
    np.testing.assert_allclose(tract.patch_vertices_array(outer=True)[31], p.outer_vertices_deg, atol=1e-12)


@pytest.mark.parametrize("bad", [(7, 0), (0, -1), ("a,b",), ("3",), ((1, 2, 3),), (1.5, 2)])
def test_bad_patch_raises(dc2, bad):
    with pytest.raises(BadPatchError) as err:
        dc2.tract(3828).patch(*bad)
    assert isinstance(err.value, ExplorerError) and isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)


def test_bad_sequential_patch_raises(dc2):
    for bad in (-1, 49, 2.0):
        with pytest.raises(BadPatchError):
            dc2.tract(3828).patch_from_sequential(bad)


@pytest.mark.parametrize("bad", [-1, 18938, 10 ** 9, "3828", 3828.0, True, None])
def test_bad_tract_raises(dc2, bad):
    with pytest.raises(BadTractError) as err:
        dc2.tract(bad)
    assert isinstance(err.value, ExplorerError) and isinstance(err.value, ValueError)
    assert "18937" in str(err.value) or "integer" in str(err.value)


def test_bad_coordinates_raise(dc2):
    for ra, dec in ((10.0, 91.0), (np.nan, 0.0), (0.0, np.inf), ("x", 0)):
        with pytest.raises(BadCoordinateError):
            dc2.find_tract(ra, dec)
    assert list(dc2.find_tracts([np.nan, 10.0], [0.0, np.nan])) == [-1, -1]


# --------------------------------------------------------------------------- WCS
@pytest.mark.parametrize("tract_id", [0, 1, 10, 3828, 9469, 18936, 18937])
def test_wcs_agrees_with_numpy_projection(dc2, tract_id):
    tract = dc2.tract(tract_id)
    rng = np.random.default_rng(tract_id)
    x = rng.uniform(-0.5, 27999.5, 200)
    y = rng.uniform(-0.5, 27999.5, 200)
    ra_a, dec_a = tract.wcs.wcs_pix2world(x, y, 0)
    ra_n, dec_n = tract.pixel_to_sky(x, y)
    assert _sep_arcsec(ra_a, dec_a, ra_n, dec_n).max() < 1e-6
    x2, y2 = tract.sky_to_pixel(ra_a, dec_a)
    assert np.abs(x2 - x).max() < 1e-5 and np.abs(y2 - y).max() < 1e-5
    assert tract.wcs.wcs.ctype[0] == "RA---TAN"
    # the tract centre is CRVAL and sits in the middle of the grid (within half a patch-rounding pixel)
    cx, cy = tract.sky_to_pixel(*tract.ctr_coord)
    assert abs(cx - 13999.5) <= 0.5 + 1e-9 and abs(cy - 13999.5) <= 0.5 + 1e-9


def test_tract_pixels_are_02_arcsec_and_north_up(dc2):
    tract = dc2.tract(3828)
    ra0, dec0 = tract.pixel_to_sky(14000.0, 14000.0)
    ra1, dec1 = tract.pixel_to_sky(14000.0, 14001.0)
    ra2, dec2 = tract.pixel_to_sky(14001.0, 14000.0)
    assert _sep_arcsec(ra0, dec0, ra1, dec1) == pytest.approx(0.2, rel=1e-6)
    assert dec1 > dec0  # +y is north
    assert (ra2 - ra0) % 360 > 180  # +x is west (RA decreases)


# --------------------------------------------------------------------------- lookups
def test_find_tract_matches_vectorised_and_inner_region(dc2):
    ra, dec = _random_sky(1000, 12345)
    ids = dc2.find_tracts(ra, dec)
    for k in range(0, 1000, 25):
        tract = dc2.find_tract(ra[k], dec[k])
        assert isinstance(tract, TractInfo) and tract.tract_id == ids[k]
    # every point lies in the inner region and on the pixel grid of its tract
    boxes = dc2.all_tract_inner_boxes()[ids]
    in_dec = (dec >= boxes[:, 2]) & (dec <= boxes[:, 3])
    in_ra = ((ra - boxes[:, 0]) % 360.0) <= (boxes[:, 1] - boxes[:, 0])
    assert np.all(in_dec & in_ra)
    for k in range(0, 1000, 50):
        tract = dc2.tract(int(ids[k]))
        assert tract.contains_inner(ra[k], dec[k])
        # (away from the poles the inner box also lies on the tract's pixel grid)
        assert tract.contains(ra[k], dec[k]) or abs(dec[k]) > 85


def test_inner_regions_tile_the_sky(dc2):
    boxes = dc2.all_tract_inner_boxes()
    ra, dec = _random_sky(300, 7)
    in_dec = (dec[:, None] >= boxes[None, :, 2]) & (dec[:, None] <= boxes[None, :, 3])
    in_ra = ((ra[:, None] - boxes[None, :, 0]) % 360.0) <= (boxes[None, :, 1] - boxes[None, :, 0])
    assert np.all(np.sum(in_dec & in_ra, axis=1) == 1)
    assert dc2.all_tract_inner_areas_deg2().sum() == pytest.approx(WHOLE_SKY_DEG2, rel=1e-12)
    assert dc2.tract(3828).inner_area_deg2 == pytest.approx(dc2.all_tract_inner_areas_deg2()[3828])
    assert dc2.inner_area_deg2(range(dc2.num_tracts)) == pytest.approx(WHOLE_SKY_DEG2, rel=1e-12)
    assert dc2.inner_area_deg2([3828, 3829, 3828]) == pytest.approx(
        dc2.tract(3828).inner_area_deg2 + dc2.tract(3829).inner_area_deg2)
    # the ring box's area: 1.4876 deg of Dec times 360/n deg of RA at the ring's Dec
    n = dc2.ring_nums[dc2.tract(3828).ring]
    assert dc2.tract(3828).inner_area_deg2 == pytest.approx(
        (360 / n) * (180 / 121) * np.cos(np.radians(dc2.tract(3828).ctr_coord[1])), rel=1e-3)


def test_wraparound_at_ra_zero(dc2):
    # How-to-reproduce from lsst/skymap testWraparound: points 10" either side of a tract at RA=0
    ra, dec = dc2.all_tract_centers()
    for tract_id in np.nonzero(ra == 0.0)[0][1:-1:20]:
        for dra in (-10 / 3600, 10 / 3600):
            assert dc2.find_tract((dra % 360), dec[tract_id]).tract_id == tract_id
            assert dc2.find_tracts([dra], [dec[tract_id]])[0] == tract_id


def test_polar_caps():
    sm = RingsSkyMap(RingsSkyMapConfig(num_rings=3))
    for ra in (0, 123, 321, 359.9):
        assert sm.find_all_tracts(ra, 90) == [sm.tract(len(sm) - 1)]
        assert sm.find_all_tracts(ra, -90) == [sm.tract(0)]
    dc2 = dc2_skymap()
    assert dc2.find_tract(200.0, -89.3).tract_id == 0
    assert dc2.find_tract(200.0, 89.3).tract_id == 18937
    assert dc2.find_tract(200.0, -89.2).tract_id != 0
    cap = dc2.tract(0)
    assert cap.inner_box_deg[2:] == pytest.approx((-90.0, -90 + 90 / 121))
    assert cap.contains_inner(123.0, -89.5) and not cap.contains_inner(123.0, -89.0)
    assert dc2.tract(18937).contains_inner(10.0, 90.0)


def test_inner_corners_lie_on_their_tract_grid(dc2):
    # lsst/skymap testCorners: inner-region corners are found in their own tract. The DC2
    # overlap (1') plus the growth to whole patches keeps the inner box inside the pixel grid,
    # except in the three rings next to each pole, whose boxes are wider than the tract at
    # their poleward edge; those corners fall on the polar cap's grid instead.
    from explorer.sky import geometry as geo

    frames = dc2._all_frames()
    inner = dc2.all_tract_inner_vertices()
    x, y = geo.sky_to_pixel(inner[..., 0], inner[..., 1], frames.crpix[:, None, :],
                            frames.centers[:, None, :], dc2._cd, "TAN")
    on_grid = np.all((x > -0.5) & (y > -0.5) & (x < 27999.5) & (y < 27999.5), axis=1)
    near_pole = (frames.rings <= 2) | (frames.rings >= 117)
    assert np.all(on_grid[~near_pole])
    assert not np.all(on_grid[near_pole & (frames.rings >= 0) & (frames.rings < 120)])
    for t in (1, 10, 3828, 9469, 18936):
        for ra, dec in dc2.tract(t).inner_vertices_deg:
            found = [tr.tract_id for tr in dc2.find_all_tracts(ra, dec)]
            assert t in found or (near_pole[t] and {0, 18937} & set(found))


def test_tract_contains_centre_not_opposite(dc2):
    for t in (0, 5, 3828, 12000, 18937):
        tract = dc2.tract(t)
        ra, dec = tract.ctr_coord
        assert tract.contains(ra, dec)
        assert not tract.contains((ra + 180) % 360, -dec)
        assert not tract.contains(np.nan, dec)


def test_find_patch(dc2):
    tract = dc2.tract(3828)
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 27999, 50)
    y = rng.uniform(0, 27999, 50)
    ra, dec = tract.pixel_to_sky(x, y)
    for k in range(50):
        p = tract.find_patch(ra[k], dec[k])
        x0, y0, w, h = p.inner_bbox
        assert x0 - 0.5 <= x[k] < x0 + w - 0.5 + 1e-6 and y0 - 0.5 <= y[k] < y0 + h - 0.5 + 1e-6
    with pytest.raises(NotInTractError):
        tract.find_patch(236.6, 36.4)  # the other side of the sky
    with pytest.raises(LookupError):
        tract.find_patch(60.0, -36.4)  # projectable, but east of the tract's pixel grid


def test_find_patch_list_as_lsst(dc2):
    # lsst/skymap testFindPatchList: a patch's inner box shrunk by border+1 finds only that patch;
    # grown by 2 more pixels it finds the patch and its neighbours.
    tract = dc2.tract(3828)
    for ix, iy in ((0, 0), (0, 1), (5, 0), (5, 6), (6, 6), (3, 3)):
        x0, y0, w, h = tract.patch(ix, iy).inner_bbox
        g = 100 + 1
        xs = np.array([x0 + g, x0 + w - 1 - g, x0 + w - 1 - g, x0 + g], dtype=float)
        ys = np.array([y0 + g, y0 + g, y0 + h - 1 - g, y0 + h - 1 - g], dtype=float)
        ra, dec = tract.pixel_to_sky(xs, ys)
        found = tract.find_patch_list(np.stack([ra, dec], axis=-1))
        assert [p.index for p in found] == [(ix, iy)]
        xs += np.array([-2, 2, 2, -2])
        ys += np.array([-2, -2, 2, 2])
        ra, dec = tract.pixel_to_sky(xs, ys)
        found = {p.index for p in tract.find_patch_list(np.stack([ra, dec], axis=-1))}
        expect = {(ix + dx, iy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                  if 0 <= ix + dx < 7 and 0 <= iy + dy < 7}
        assert found == expect
    assert tract.find_patch_list([(236.6, 36.4)]) == []


def test_find_tract_patch_list(dc2):
    ra, dec = dc2.tract(3828).patch(3, 3).center_deg
    result = dc2.find_tract_patch_list([(ra, dec)])
    assert [(t.tract_id, [p.name for p in ps]) for t, ps in result] == [(3828, ["3,3"])]
    # a small region straddling the boundary between tracts 3828 and 3829 (overlapping tracts)
    box = dc2.tract(3828).inner_box_deg
    pts = [(box[1] - 0.01, dec - 0.01), (box[1] + 0.01, dec - 0.01), (box[1] + 0.01, dec + 0.01),
           (box[1] - 0.01, dec + 0.01)]
    result = dc2.find_tract_patch_list(pts)
    ids = [t.tract_id for t, _ in result]
    assert 3828 in ids and len(ids) == len(set(ids)) >= 2
    for tract, patches in result:
        assert any(tract.contains(r, d) for r, d in pts)
        assert all(p.tract_id == tract.tract_id for p in patches)
    by_id = dict((t.tract_id, ps) for t, ps in result)
    assert {p.name for p in by_id[3828]} == {"0,3"}  # +x is west, so the east edge is x = 0


# --------------------------------------------------------------------------- vectorised whole sky
def test_all_tract_arrays_match_per_tract_objects(dc2):
    ra, dec = dc2.all_tract_centers()
    inner = dc2.all_tract_inner_vertices()
    outer = dc2.all_tract_outer_vertices()
    assert inner.shape == outer.shape == (18938, 4, 2) and ra.shape == (18938,)
    for t in (0, 1, 10, 11, 3828, 9469, 18927, 18937):
        tract = dc2.tract(t)
        assert tract.ctr_coord == (ra[t], dec[t])
        np.testing.assert_allclose(inner[t], tract.inner_vertices_deg, atol=1e-12)
        np.testing.assert_allclose(outer[t], tract.outer_vertices_deg, atol=1e-12)


def test_all_tract_vertices_timing():
    sm = RingsSkyMap(DC2_CONFIG, name="DC2")  # fresh: nothing cached
    t0 = time.perf_counter()
    inner = sm.all_tract_inner_vertices()
    t1 = time.perf_counter()
    outer = sm.all_tract_outer_vertices()
    t2 = time.perf_counter()
    print(f"\nall_tract_inner_vertices: {t1 - t0:.3f} s (incl. per-tract frames); "
          f"all_tract_outer_vertices: {t2 - t1:.3f} s for {sm.num_tracts} tracts")
    assert np.all(np.isfinite(inner)) and np.all(np.isfinite(outer))
    assert np.all((inner[..., 0] >= 0) & (inner[..., 0] < 360))
