"""The survey-scale sample (``make-sample --size survey``): a registry-heavy repository written by
the real butler with a handful of files. Built here at a tiny size (the benchmark builds the big
ones); checked through the registry, the CLI and the files it does write."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), timeout=300)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    from explorer.sample.survey import write_survey

    root = tmp_path_factory.mktemp("survey") / "repo"
    return root, write_survey(root, visits=10, tracts=2, seed=2)


def test_registry_holds_what_the_manifest_says(survey):
    from lsst.daf.butler import Butler

    root, manifest = survey
    butler = Butler.from_config(str(root), writeable=False)
    try:
        with butler.query() as q:
            assert q.dimension_records("visit_detector_region").count() == 10 * 189
            assert q.dimension_records("visit").count() == 10
            assert q.dimension_records("tract").count() == 2
        for name, n in manifest["datasets"].items():
            with butler.query() as q:
                assert q.datasets(name, collections=manifest["collections"]["defaults"]).count() == n
    finally:
        butler.close()
    assert manifest["datasets"]["calexp"] == 10 * 189
    assert manifest["datasets"]["deepCoadd_calexp"] == 2 * 49 * 6


def test_detector_regions_are_real_polygons_inside_their_visit(survey):
    from lsst.daf.butler import Butler
    from lsst.sphgeom import ConvexPolygon

    root, manifest = survey
    butler = Butler.from_config(str(root), writeable=False)
    try:
        visits = {r.id: r for r in butler.query_dimension_records("visit")}
        records = butler.query_dimension_records("visit_detector_region", limit=400)
        for r in records:
            assert isinstance(r.region, ConvexPolygon) and len(r.region.getVertices()) == 4
            assert visits[r.visit].region.contains(r.region.getCentroid())
    finally:
        butler.close()


def test_inventory_counts_and_missing_files(survey):
    root, manifest = survey
    result = _cli("inventory", str(root), "--check-files", "--json")
    assert result.returncode == 0, result.stderr
    inv = json.loads(result.stdout)
    by_name = {d["name"]: d for d in inv["dataset_types"]}
    assert by_name["calexp"]["count"] == 1890
    assert by_name["calexp"]["missing"] == 1890 - len(manifest["files_on_disk"])
    assert by_name["deepCoadd_calexp"]["missing"] == by_name["deepCoadd_calexp"]["count"]
    assert inv["visits"] == 10 and inv["detectors"] == 189 and inv["tracts"] == manifest["tracts"]
    assert inv["bands"] == list("ugrizy")


def test_the_files_on_disk_read_and_sit_where_the_registry_says(survey):
    """The handful of real calexps: their WCS centre falls inside their detector's registry region."""
    from lsst.sphgeom import LonLat, UnitVector3d
    from lsst.daf.butler import Butler

    root, manifest = survey
    entry = manifest["files_on_disk"][0]
    result = _cli("exposure", str(root), "--dataset", "calexp", "--data-id",
                  f"visit={entry['visit']},detector={entry['detector']}", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["on_disk"] and info["shape"] == [256, 256]
    butler = Butler.from_config(str(root), writeable=False)
    try:
        (rec,) = butler.query_dimension_records("visit_detector_region", visit=entry["visit"],
                                                detector=entry["detector"], instrument=manifest["instrument"])
    finally:
        butler.close()
    ra, dec = info["wcs_center"]
    assert rec.region.contains(UnitVector3d(LonLat.fromDegrees(ra, dec)))
    missing = _cli("exposure", str(root), "--dataset", "calexp", "--data-id",
                   f"visit={entry['visit']},detector=100", "--json")
    assert missing.returncode == 2 and "not on disk" in missing.stderr


def test_make_sample_offers_the_survey_size_for_gen3_only(tmp_path):
    result = _cli("make-sample", str(tmp_path / "x"), "--size", "survey", "--layout", "gen2")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "gen3" in result.stderr
    assert not (tmp_path / "x").exists()


def test_sizes_reach_a_million_datasets():
    from explorer.sample.survey import SURVEY_SIZES

    assert SURVEY_SIZES["survey"].expected_datasets() >= 1_000_000
    assert 20_000 <= SURVEY_SIZES["survey-25k"].expected_datasets() <= 30_000


def test_locate_all_of_datasets_never_written_asks_the_datastore_once(survey):
    """A visit whose calexps are registered but were never written (the survey sample's usual case,
    and a real repository's failed or pending quanta): one batched datastore question, not one per
    detector, and the answer (no file) is remembered."""
    from explorer.repo import open_repo

    root, manifest = survey
    repo = open_repo(root)
    visit = repo.query_data_ids("calexp")[0]["visit"]
    single = {"n": 0}
    get_uri = repo.butler.getURI

    def counting_get_uri(*args, **kwargs):
        single["n"] += 1
        return get_uri(*args, **kwargs)

    repo.butler.getURI = counting_get_uri
    found = repo.locate_all("calexp", {"visit": visit})
    absent = [loc for loc in found if not loc.on_disk]
    assert len(absent) > 1 and all(loc.path is None for loc in absent)
    assert single["n"] == 0, single  # (it was one failing getURI per detector)
    again = repo.locate_all("calexp", {"visit": visit})
    assert [loc.data_id for loc in again] == [loc.data_id for loc in found] and single["n"] == 0
