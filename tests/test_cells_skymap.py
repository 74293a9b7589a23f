"""The cell-based sky maps of DP1/DP2 (lsst_cells_v1, lsst_cells_v2): lsst.skymap's "cells" tract
builder on the DC2 rings. The rules checked are those of lsst/skymap's ``tractBuilder.py``
(``CellTractBuilder``) and its ``tests/test_ringsSkyMapCells.py``; the configuration is
lsst/ci_lsstcam's ``configs/skymap.py`` (numRings 120, TAN, 0.2"/pixel, tractOverlap 1/60 deg,
cells tract builder at its defaults; v2 without a cell border)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from explorer.sky import (DC2_CONFIG, LSST_CELLS_V1_CONFIG, LSST_CELLS_V2_CONFIG, CellTractBuilderConfig,
                          RingsSkyMap, dc2_skymap, skymap_by_name)


@pytest.mark.parametrize("name,cell_border", [("lsst_cells_v1", 50), ("lsst_cells_v2", 0)])
def test_config_facts(name, cell_border):
    sm = skymap_by_name(name)
    cfg = sm.config
    assert sm.name == name and cfg.tract_builder == "cells"
    assert (cfg.num_rings, cfg.projection, cfg.pixel_scale_arcsec) == (120, "TAN", 0.2)
    assert cfg.tract_overlap_deg == pytest.approx(1.0 / 60)
    assert cfg.cells.cell_inner_dimensions == (150, 150)
    assert cfg.cells.num_cells_per_patch_inner == 20 and cfg.cells.num_cells_in_patch_border == 1
    assert cfg.cells.cell_border == cell_border
    assert cfg.patch_inner_dimensions == (3000, 3000)
    assert cfg.patch_border == 150 + cell_border
    assert skymap_by_name(name.upper()) is sm  # one shared instance, any case


def test_same_tracts_as_dc2_but_10x10_patches_of_3000():
    v1, v2, dc2 = skymap_by_name("lsst_cells_v1"), skymap_by_name("lsst_cells_v2"), dc2_skymap()
    assert v1.num_tracts == v2.num_tracts == dc2.num_tracts == 18938
    for sm in (v1, v2):
        assert np.all(sm._all_frames().dims == 30000)
        # the same rings: same tract centres, same tract for every point
        ra, dec = sm.all_tract_centers()
        ra0, dec0 = dc2.all_tract_centers()
        assert np.allclose(ra, ra0) and np.allclose(dec, dec0)
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(0, 360, 2000), np.degrees(np.arcsin(rng.uniform(-1, 1, 2000)))
    assert np.array_equal(v1.find_tracts(ra, dec), dc2.find_tracts(ra, dec))
    for t in (0, 1, 4849, 5063, 18937):
        assert v1.tract(t).num_patches == (10, 10) and v1.tract(t).bbox == (0, 0, 30000, 30000)


@pytest.mark.parametrize("config", [LSST_CELLS_V1_CONFIG, LSST_CELLS_V2_CONFIG])
def test_patch_and_cell_boxes_follow_lsst_skymap(config):
    """As lsst.skymap's testCellInfo: patch and cell boxes, outer boxes not clipped to the tract."""
    c = config.cells
    tract = RingsSkyMap(config).tract(13)
    n = c.num_cells_per_patch_inner + 2
    inner = c.num_cells_per_patch_inner * 150
    outer = n * 150 + 2 * c.cell_border
    for p in tract.patches():
        assert p.num_cells == (n, n)
        assert p.inner_bbox[2:] == (inner, inner)
        assert p.outer_bbox[2:] == (outer, outer)  # the same at the tract edges: no clipping
    nx, ny = tract.num_patches
    for p in (tract[0], tract.patch(nx // 2, ny // 2), tract.patch(nx - 1, ny - 1)):
        ix, iy = p.index
        assert p.inner_bbox[:2] == (ix * inner, iy * inner)
        assert p.outer_bbox[:2] == (ix * inner - 150 - c.cell_border, iy * inner - 150 - c.cell_border)
        for cx in range(n):
            for cy in range(n):
                x0, y0, w, h = p.cell_inner_bbox(cx, cy)
                assert (x0, y0, w, h) == ((cx - 1) * 150 + p.inner_bbox[0], (cy - 1) * 150 + p.inner_bbox[1], 150, 150)
                assert p.cell_outer_bbox(cx, cy) == (x0 - c.cell_border, y0 - c.cell_border,
                                                     150 + 2 * c.cell_border, 150 + 2 * c.cell_border)
        boxes = p.cell_inner_bboxes()
        assert boxes.shape == (n * n, 4)
        assert tuple(boxes[n + 2]) == p.cell_inner_bbox(2, 1)  # sequential index y * nx + x
    ll = tract[0]
    assert ll.outer_bbox[0] < 0 and ll.outer_bbox[1] < 0
    # the outer vertices of an unclipped edge patch reach beyond the tract's pixel grid
    assert ll.outer_vertices_deg.shape == (4, 2) and np.all(np.isfinite(ll.outer_vertices_deg))


def test_find_patch_list_grows_by_the_cells_patch_border():
    v1, v2 = skymap_by_name("lsst_cells_v1"), skymap_by_name("lsst_cells_v2")
    t1, t2 = v1.tract(4849), v2.tract(4849)
    # a point 170 pixels inside patch (5, 5): v1's border (200) reaches the neighbour, v2's (150) does not
    ra, dec = t1.pixel_to_sky(5 * 3000 + 170, 5 * 3000 + 1500)
    names1 = {p.name for p in t1.find_patch_list([(float(ra), float(dec))])}
    names2 = {p.name for p in t2.find_patch_list([(float(ra), float(dec))])}
    assert names1 == {"4,5", "5,5"} and names2 == {"5,5"}
    assert t1.find_patch(float(ra), float(dec)).name == "5,5"


def test_legacy_builder_unchanged():
    assert DC2_CONFIG.tract_builder == "legacy" and DC2_CONFIG.patch_border == 100
    p = dc2_skymap().tract(3828).patch(0, 0)
    assert p.outer_bbox == (0, 0, 4100, 4100) and p.num_cells == (0, 0)


def test_bad_cell_configs_are_refused():
    with pytest.raises(ValueError):
        CellTractBuilderConfig(cell_inner_dimensions=(150, 100))
    with pytest.raises(ValueError):
        CellTractBuilderConfig(num_cells_per_patch_inner=0)
    with pytest.raises(KeyError):
        skymap_by_name("hsc_rings_v1")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_skymap_by_name():
    r = _cli("skymap", "--name", "lsst_cells_v2", "--tract", "4849", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["skymap"] == "lsst_cells_v2" and out["num_tracts"] == 18938
    assert len(out["tracts"][0]["patches"]) == 100
    r = _cli("skymap", "--name", "lsst_cells_v1", "--at", "53.13", "-28.1", "--json")
    assert r.returncode == 0, r.stderr
    assert out["tracts"][0]["tract"] == 4849
    found = json.loads(r.stdout)["tracts"]
    assert found and all(len(t["patches"]) >= 1 for t in found)
    r = _cli("skymap", "--name", "nope")
    assert r.returncode == 2 and "unknown skymap" in r.stderr and len(r.stderr.strip().splitlines()) == 1
