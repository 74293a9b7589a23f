"""The Gen2 backend on the real Gen2 repositories in ../shared/lsst-real (read-only; skipped when absent).

Truth comes from the registries themselves, opened here with sqlite3, not from constants.
"""
from __future__ import annotations

import json
import math
import os
import sqlite3

import pytest

from explorer.repo import open_repo
from explorer.repo.errors import DatasetNotFoundError, NotOnDiskError, UnreachableParentError
from explorer.repo.gen2 import Gen2Repository

pytestmark = pytest.mark.real


def _sql(path, query):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def real(real_dir):
    return {
        "imsim": real_dir / "lsst_obs_lsst/data/input/imsim",
        "calib": real_dir / "lsst_obs_lsst/data/input/imsim/CALIB",
        "afwdata": real_dir / "lsst_afwdata/ImSim",
        "obs_test": real_dir / "lsst_obs_test/data/input",
        "calexp_test": real_dir / "lsst_obs_test/data/calexpMetadataObjectsTest",
        "policy_test": real_dir / "lsst_obs_test/tests/policyTest/a",
    }


def _snapshot(paths):
    """(path -> (mtime_ns, size)) of every file and directory under the given roots."""
    out = {}
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [""] + dirnames + filenames:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                out[p] = (st.st_mtime_ns, st.st_size)
    return out


def test_obs_lsst_imsim_inventory_matches_its_registry(real):
    root = real["imsim"]
    reg = root / "registry.sqlite3"
    repo = open_repo(root)
    assert isinstance(repo, Gen2Repository)
    inv = repo.inventory(check_files=True)
    assert inv.kind == "gen2"
    assert inv.instrument == (root / "_mapper").read_text().strip() == "lsst.obs.lsst.imsim.ImsimMapper"
    assert inv.visits == len(_sql(reg, "SELECT DISTINCT visit FROM raw"))
    assert inv.detectors == len(_sql(reg, "SELECT DISTINCT detector FROM raw"))
    assert inv.bands == sorted(r[0] for r in _sql(reg, "SELECT DISTINCT filter FROM raw"))
    assert inv.bands == ["i_sim_1.4"]
    counts = {d.name: (d.count, d.missing) for d in inv.dataset_types}
    # the raw is on disk where the imsim _raw template puts it; the CALIB folder's calibs too
    assert counts["raw"] == (len(_sql(reg, "SELECT * FROM raw")), 0)
    calib_db = root / "CALIB" / "calibRegistry.sqlite3"
    for calib in ("bias", "dark", "flat"):
        assert counts[calib] == (len(_sql(calib_db, f"SELECT * FROM {calib}")), 0)
    assert set(counts) == {"raw", "bias", "dark", "flat"}
    assert inv.collections == [str(root), str(root / "CALIB")]
    assert inv.tracts == [] and inv.patches == 0 and inv.sky_area_deg2 == 0.0
    truth = _sql(reg, "SELECT visit, filter, expTime FROM raw_visit")
    assert [(r["visit"], r["filter"], r["expTime"]) for r in repo.visit_table()] == truth
    loc = repo.locate("raw", {"visit": 204595, "detector": 42})
    assert loc.on_disk and loc.path.endswith("raw/204595/R11/00204595-R11-S20-det042.fits")
    assert loc.component == "[0]"
    assert loc.data_id["visit"] == 204595 and loc.data_id["band"] == "i"
    flat = repo.locate("flat", {"detector": 42, "band": "i"})
    assert flat.on_disk and flat.path.endswith("flat_i_sim_1.4-R11-S20-det042_2022-08-06.fits")
    repo.close()


def test_calib_repository_with_unreachable_absolute_parent(real):
    root = real["calib"]
    repo = open_repo(root)
    assert repo.mapper == "lsst.obs.lsst.imsim.ImsimMapper"  # from !!python/name in repositoryCfg.yaml
    assert repo.unreachable_parents == ["/Users/timj/work/lsstsw3/build/obs_lsst/data/input/imsim"]
    with pytest.raises(UnreachableParentError, match="/Users/timj"):
        repo.require_parents()
    inv = repo.inventory()
    assert any("/Users/timj" in n and "unreachable" in n for n in inv.notes)
    assert inv.collections == [str(root)]
    assert {d.name: d.count for d in inv.dataset_types} == {"bias": 1, "dark": 1, "flat": 1}
    assert inv.visits == 0 and inv.detectors == 1 and inv.bands == ["i_sim_1.4"]
    repo.close()


def test_afwdata_lsstsim_registry_only(real):
    root = real["afwdata"]
    reg = root / "registry.sqlite3"
    repo = open_repo(root)
    inv = repo.inventory(check_files=True)
    assert inv.instrument == "lsst.obs.lsstSim.lsstSimMapper.LsstSimMapper"
    assert inv.visits == len(_sql(reg, "SELECT DISTINCT visit FROM raw")) == 2
    assert inv.detectors == len(_sql(reg, "SELECT DISTINCT raft, sensor FROM raw"))
    assert inv.bands == sorted(r[0] for r in _sql(reg, "SELECT DISTINCT filter FROM raw"))
    raw_files = len(_sql(reg, "SELECT DISTINCT visit, filter, snap, raft, sensor, channel FROM raw"))
    raw = inv.dataset_type("raw")
    assert (raw.count, raw.missing) == (0, raw_files)  # registered, none copied
    assert inv.dataset_type("calexp") is None  # its only calexp is a Git LFS file, absent
    ids = repo.query_data_ids("raw", {"visit": 85408556})
    assert len(ids) == len(_sql(reg, "SELECT DISTINCT snap, channel FROM raw WHERE visit = 85408556"))
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_exposure("raw", ids[0])
    # the lsstSim path transform: raft "2,3" is R23 in file names
    loc = repo.locate("raw", ids[0])
    assert "/R23/S11/imsim_85408556_R23_S11_C" in loc.path and not loc.on_disk
    with pytest.raises(DatasetNotFoundError, match="calexp"):
        repo.locate("calexp", {"visit": 85408556, "raft": "2,3", "sensor": "1,1"})
    repo.close()


def test_obs_test_input_missing_raws_and_defects(real):
    root = real["obs_test"]
    reg = root / "registry.sqlite3"
    repo = open_repo(root)
    inv = repo.inventory(check_files=True)
    assert inv.instrument == "lsst.obs.test.testMapper.TestMapper"
    assert inv.visits == len(_sql(reg, "SELECT DISTINCT visit FROM raw")) == 3
    assert inv.detectors == 1  # no detector column: a one-CCD camera
    assert inv.bands == ["g", "r"]
    raw = inv.dataset_type("raw")
    present = [v for v, f in _sql(reg, "SELECT visit, filter FROM raw")
               if (root / "raw" / f"raw_v{v}_f{f}.fits.gz").exists()]
    assert (raw.count, raw.missing) == (len(present), 3 - len(present)) == (1, 2)
    assert inv.dataset_type("defects").count == 1
    assert [d["visit"] for d in repo.query_data_ids("raw", {"band": "g"})] == [1, 2]
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_exposure("raw", {"visit": 3})
    repo.close()


def test_obs_test_calexp_reads_through_get_exposure(real):
    repo = open_repo(real["calexp_test"])
    assert repo.mapper == "lsst.obs.test.MapperForTestCalexpMetadataObjects"
    inv = repo.inventory()
    assert [(d.name, d.count) for d in inv.dataset_types] == [("calexp", 1)]
    exp = repo.get_exposure("calexp", {})
    assert exp.info.path.endswith("example-calexp.fits.gz")  # the template's .fits, found compressed
    assert exp.image.shape == (4, 8)
    assert exp.info.zero_point_mag == pytest.approx(2.5 * math.log10(1722367118085.0))
    repo.close()


def test_policy_override_in_repository_cfg(real):
    repo = Gen2Repository(str(real["policy_test"]))
    assert repo.mapper == "lsst.obs.test.testMapper.TestMapper"
    assert repo.template_for("raw").text == "raw/v%(visit)d_f%(filter)s.fits.gz"
    assert repo.template_for("calexp").text == "calexp/calexp_v%(visit)d_f%(filter)s.fits"


def test_cli_inventory_json_on_a_real_gen2_repo(real, capsys):
    from explorer.cli import main

    assert main(["inventory", str(real["obs_test"]), "--json", "--check-files"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "gen2" and out["visits"] == 3 and out["bands"] == ["g", "r"]
    raw = next(d for d in out["dataset_types"] if d["name"] == "raw")
    assert raw["count"] == 1 and raw["missing"] == 2 and raw["dimensions"] == ["visit", "filter"]


def test_nothing_is_written_into_the_real_repositories(real):
    roots = [real[k] for k in ("imsim", "afwdata", "obs_test", "calexp_test")]
    before = _snapshot(roots)
    for root in roots:
        repo = open_repo(root)
        inv = repo.inventory(check_files=True)
        for d in inv.dataset_types:
            for data_id in repo.query_data_ids(d.name)[:2]:
                try:
                    repo.get_exposure(d.name, data_id)
                except Exception:
                    pass
        repo.close()
    assert _snapshot(roots) == before


def test_old_style_rerun_with_only_a_parent_link(real, tmp_path):
    """A Gen2 rerun made before repositoryCfg.yaml existed holds nothing but a `_parent` link."""
    from explorer.repo import detect_kind, open_repo

    rerun = tmp_path / "rerun"
    rerun.mkdir()
    (rerun / "_parent").symlink_to(real["obs_test"])
    assert detect_kind(rerun) == "gen2"
    inv = open_repo(rerun).inventory()
    parent = open_repo(real["obs_test"]).inventory()
    assert inv.instrument == parent.instrument == "lsst.obs.test.testMapper.TestMapper"
    assert inv.visits == parent.visits and inv.bands == parent.bands
    assert inv.collections == [str(rerun), str(real["obs_test"])]
