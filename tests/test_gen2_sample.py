"""The Gen2 layout of the sample: the same content as the Gen3 sample, so both backends must agree.

Compared: visits, detectors, bands, tracts, patches, sources, known datasets per shared type (and
which are missing), their data IDs, the pixels of a calexp, and the sky area. Two definitions of
DESIGN.md differ on purpose and are compared accordingly: Gen2 ``count`` is files found (Gen3
counts registered datasets, so Gen3 count = Gen2 count + missing), and the Gen2 sky area is the
union of the tracts' *inner* regions (Gen3 reads the registry's regions, which lsst.skymap -- and
the sample -- register as the *outer* polygons), so the Gen2 area is checked against the inner
union of the very tracts the Gen3 inventory reports.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.repo import open_repo
from explorer.repo.errors import NotOnDiskError
from explorer.repo.gen2 import Gen2Repository
from explorer.sample import MANIFEST_NAME, make_sample
from explorer.sample.gen2 import GEN2_NAMES
from explorer.sky import dc2_skymap, union_area_deg2


@pytest.fixture(scope="module")
def sample_gen2(tmp_path_factory):
    return make_sample(tmp_path_factory.mktemp("sample2") / "dc2-gen2", layout="gen2", size="small", seed=1)


@pytest.fixture(scope="module")
def both(sample_gen2, sample_gen3):
    g2, g3 = open_repo(sample_gen2), open_repo(sample_gen3)
    yield g2, g3, g2.inventory(check_files=True), g3.inventory(check_files=True)
    g2.close()
    g3.close()


def test_gen2_sample_layout(sample_gen2):
    assert (sample_gen2 / "_mapper").read_text().strip() == "lsst.obs.lsst.imsim.ImsimMapper"
    manifest = json.loads((sample_gen2 / MANIFEST_NAME).read_text())
    assert manifest["layout"] == "gen2"
    missing = manifest["missing"]
    assert missing["path"].startswith(f"calexp/{missing['data_id']['visit']:08d}-")
    assert not (sample_gen2 / missing["path"]).exists()
    repo = open_repo(sample_gen2)
    assert isinstance(repo, Gen2Repository)
    for by_id in manifest["paths"].values():
        for rel in by_id.values():
            if rel != missing["path"]:
                assert (sample_gen2 / rel).is_file(), rel


def test_gen2_and_gen3_samples_give_the_same_inventory(both):
    g2, g3, inv2, inv3 = both
    assert inv2.kind == "gen2" and inv3.kind == "gen3"
    assert (inv2.visits, inv2.detectors, inv2.bands) == (inv3.visits, inv3.detectors, inv3.bands)
    assert (inv2.tracts, inv2.patches, inv2.sources) == (inv3.tracts, inv3.patches, inv3.sources)
    assert inv2.skymap == inv3.skymap == "DC2"
    for gen3_name, gen2_name in GEN2_NAMES.items():
        d2, d3 = inv2.dataset_type(gen2_name), inv3.dataset_type(gen3_name)
        assert d2 is not None and d3 is not None, gen3_name
        assert (d2.count + d2.missing, d2.missing) == (d3.count, d3.missing), gen3_name
    assert inv3.dataset_type("calexp").missing == 1
    sm = dc2_skymap()
    inner = union_area_deg2([sm.tract(t).inner_vertices_deg for t in inv3.tracts])
    assert inv2.sky_area_deg2 == pytest.approx(inner, rel=0.005)
    # the only Gen2-only entry: raws the registry lists (18 visits x 189 detectors) but the sample lacks
    raw = inv2.dataset_type("raw")
    assert (raw.count, raw.missing) == (0, inv2.visits * inv2.detectors)


def test_same_data_ids_and_missing_dataset(both, sample_gen3):
    g2, g3, _, _ = both
    ids3 = {(d["visit"], d["detector"]) for d in g3.query_data_ids("calexp")}
    ids2 = {(d["visit"], d["detector"]) for d in g2.query_data_ids("calexp")}
    assert ids2 == ids3 and len(ids2) == 12
    coadd3 = {(d["band"], d["tract"], g3.patch_name(d["tract"], d["patch"]))
              for d in g3.query_data_ids("deepCoadd_calexp")}
    coadd2 = {(d["band"], d["tract"], d["patch"]) for d in g2.query_data_ids("deepCoadd_calexp")}
    assert coadd2 == coadd3
    # the calexp Gen3 registers without a file is the one Gen2 knows (from its src) but cannot find
    manifest3 = json.loads((sample_gen3 / MANIFEST_NAME).read_text())
    miss3 = next(c for c in manifest3["calexps"] if not c["on_disk"])
    key = {"visit": miss3["visit"], "detector": miss3["detector"]}
    for repo in (g2, g3):
        with pytest.raises(NotOnDiskError, match="not on disk"):
            repo.get_exposure("calexp", dict(key))


def test_same_pixels_and_catalog_rows_through_both_backends(both):
    g2, g3, _, _ = both
    d = next(iter(g3.query_data_ids("calexp")))
    key = {"visit": d["visit"], "detector": d["detector"]}
    try:
        e3 = g3.get_exposure("calexp", key)
    except NotOnDiskError:
        d = g3.query_data_ids("calexp")[1]
        key = {"visit": d["visit"], "detector": d["detector"]}
        e3 = g3.get_exposure("calexp", key)
    e2 = g2.get_exposure("calexp", dict(key))
    assert e2.info.xy0 == e3.info.xy0 and e2.info.shape == e3.info.shape
    np.testing.assert_array_equal(e2.image, e3.image)
    np.testing.assert_array_equal(e2.mask, e3.mask)
    assert e2.info.mask_planes == e3.info.mask_planes
    patch3 = g3.query_data_ids("deepCoadd_forced_src")[0]
    c3 = g3.get_catalog("deepCoadd_forced_src", patch3)
    c2 = g2.get_catalog("deepCoadd_forced_src", {"band": patch3["band"], "tract": patch3["tract"],
                                                 "patch": patch3["patch"]})  # Gen3 sequential patch id
    assert len(c2) == len(c3) > 0 and list(c2.columns) == list(c3.columns)
