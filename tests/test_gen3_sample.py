"""The Gen3 backend on the generated sample: the inventory and readers against the generator's truth.

The manifest records what the generator put in (its own bookkeeping, written before the butler
saw anything); the backend learns it back through registry queries and astropy reads only.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from explorer.repo import NotOnDiskError, open_repo
from explorer.repo.cache import shared_cache


@pytest.fixture(scope="module")
def manifest(sample_gen3: Path) -> dict:
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


@pytest.fixture(scope="module")
def repo(sample_gen3: Path):
    repo = open_repo(sample_gen3)
    yield repo
    repo.close()


def test_inventory_matches_the_generator(repo, manifest):
    inv = repo.inventory(check_files=True)
    counts = {d.name: d.count for d in inv.dataset_types}
    assert counts == {k: v for k, v in manifest["datasets"].items()}
    missing = {d.name: d.missing for d in inv.dataset_types}
    assert missing["calexp"] == 1 and sum(missing.values()) == 1
    assert inv.instrument == manifest["instrument"]
    assert inv.bands == manifest["bands"]
    assert inv.visits == len(manifest["visits"])
    assert inv.detectors == manifest["n_detectors"] == 189
    assert inv.tracts == sorted({c["tract"] for c in manifest["coadds"]})
    assert inv.patches == len({(c["tract"], c["patch"]) for c in manifest["coadds"]})
    assert inv.sources == manifest["row_totals"]["src"]
    assert inv.skymap == "DC2"


def test_sky_area_is_the_union_of_the_registry_tract_regions(repo):
    from explorer.sky import dc2_skymap, polygon_area_deg2

    inv = repo.inventory()
    sm = dc2_skymap()
    separate = sum(polygon_area_deg2(sm.tract(t).outer_vertices_deg) for t in inv.tracts)
    # adjacent tracts overlap (tractOverlap = 1 arcmin and the pixel grids reach past the inner
    # regions), so the union is a little less than the sum of the areas, never more
    assert 0.8 * separate < inv.sky_area_deg2 < separate


def test_collection_glob_narrows_the_inventory(repo, manifest):
    coadd_only = repo.inventory(collections=manifest["collections"]["coadd_run"])
    counts = {d.name: d.count for d in coadd_only.dataset_types}
    assert counts["calexp"] == 0 and counts["deepCoadd_calexp"] == manifest["datasets"]["deepCoadd_calexp"]
    assert coadd_only.sources is None


def test_the_registered_but_absent_calexp(repo, manifest):
    gone = manifest["missing"]["data_id"]
    loc = repo.locate("calexp", {"visit": gone["visit"], "detector": gone["detector"]})
    assert loc.path and not loc.on_disk
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_exposure("calexp", {"visit": gone["visit"], "detector": gone["detector"]})


def test_calexp_reads_with_its_wcs_and_zero_point(repo, manifest):
    entry = next(c for c in manifest["calexps"] if c["on_disk"])
    exposure = repo.get_exposure("calexp", {"visit": entry["visit"], "detector": entry["detector"]})
    info = exposure.info
    assert list(info.xy0) == entry["xy0"]
    assert info.shape == (entry["bbox"][3], entry["bbox"][2])
    assert info.zero_point_mag == pytest.approx(entry["zero_point"], abs=1e-6)
    assert info.mask_planes == manifest["mask_planes"]["calexp"]
    assert exposure.image.dtype.isnative and exposure.image.shape == info.shape
    sat = (exposure.mask & (1 << info.mask_planes["SAT"])) != 0
    assert int(sat.sum()) == entry["stats"]["sat"]
    # the calexp's footprint lies inside its visit's region on the sky
    ra, dec = info.center_sky()
    visit = next(v for v in manifest["visits"] if v["id"] == entry["visit"])
    assert abs(dec - visit["dec"]) < 2.0


def test_second_read_costs_no_io(repo, manifest):
    entry = next(c for c in manifest["calexps"] if c["on_disk"])
    data_id = {"visit": entry["visit"], "detector": entry["detector"]}
    first = repo.get_exposure("calexp", data_id).image
    before = shared_cache().stats()
    again = repo.get_exposure("calexp", data_id).image
    after = shared_cache().stats()
    assert again is first
    assert after.misses == before.misses and after.hits > before.hits


def test_catalogs_by_data_id(repo, manifest):
    entry = next(c for c in manifest["calexps"] if c["on_disk"])
    src = repo.get_catalog("src", {"visit": entry["visit"], "detector": entry["detector"]},
                           columns=["coord_ra", "coord_dec", "ext_photometryKron_KronFlux_instFlux"])
    assert len(src) == manifest["rows"]["src"][f"{entry['visit']},{entry['detector']}"]
    assert list(src.columns) == ["coord_ra", "coord_dec", "ext_photometryKron_KronFlux_instFlux"]
    assert np.all(np.abs(src["coord_dec"]) < np.pi / 2)  # radians, as afw stores them
    coadd = manifest["coadds"][0]
    forced = repo.get_catalog("deepCoadd_forced_src", {"tract": coadd["tract"], "patch": coadd["patch"],
                                                       "band": coadd["bands"][0]})
    assert len(forced) > 0 and "ext_photometryKron_KronFlux_instFlux" in forced.columns
    schema = repo.catalog_schema("objectTable", {"tract": coadd["tract"], "patch": coadd["patch"]})
    assert any(c.name == "objectId" for c in schema)


def test_regions_and_patch_names(repo, manifest):
    tracts = repo.tract_regions()
    assert sorted(tracts) == sorted({c["tract"] for c in manifest["coadds"]})
    coadd = manifest["coadds"][0]
    patches = repo.patch_regions(coadd["tract"])
    assert len(patches) == 49 and coadd["patch_name"] in patches
    assert repo.patch_name(coadd["tract"], coadd["patch"]) == coadd["patch_name"]
    assert repo.patch_id(coadd["patch_name"]) == coadd["patch"]
    from explorer.sky import dc2_skymap

    expected = dc2_skymap().tract(coadd["tract"]).patch(coadd["patch_name"]).outer_vertices_deg
    got = patches[coadd["patch_name"]]
    assert np.allclose(np.sort(got[:, 1]), np.sort(expected[:, 1]), atol=1e-6)


def test_data_ids_offered_to_the_app(repo, manifest):
    ids = repo.query_data_ids("calexp")
    assert len(ids) == manifest["datasets"]["calexp"]
    visit = manifest["calexps"][0]["visit"]
    of_visit = repo.query_data_ids("calexp", where={"visit": visit})
    assert {d["detector"] for d in of_visit} == {c["detector"] for c in manifest["calexps"] if c["visit"] == visit}
    assert all(d["band"] in "ugrizy" for d in ids)


def test_detector_regions_contain_each_calexp(repo, manifest):
    """The registry's visit_detector_region polygons: one per detector of every visit, each holding
    the sky position of its calexp's centre (the sample's calexps are cut-outs of their detector)."""
    from explorer.views.sky import contains

    regions = repo.detector_regions()
    assert len(regions) == len(manifest["visits"]) * manifest["n_detectors"]
    for c in [c for c in manifest["calexps"] if c.get("on_disk", True)][:6]:
        info = repo.get_exposure("calexp", {"visit": c["visit"], "detector": c["detector"]}).info
        ra, dec = info.center_sky()
        assert contains(regions[(c["visit"], c["detector"])], ra, dec), c
