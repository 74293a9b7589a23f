"""The Gen2 backend on small Gen2 layouts built in a temporary directory (no real files needed).

The layout is the DC2 imsim one: ``_mapper``, an imsim ``registry.sqlite3``, files where the
obs_lsst/obs_base templates put them, and reruns chained through ``repositoryCfg.yaml``.
"""
from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
from astropy.io import fits

from explorer.repo import open_repo
from explorer.repo.errors import (BadDataIdError, BadFileError, DatasetNotFoundError, ExplorerError,
                                  NotARepositoryError, NotOnDiskError, UnknownDatasetTypeError)
from explorer.repo.gen2 import Gen2Repository, band_of
from explorer.repo.gen2_config import parse_skymap_config
from explorer.repo.gen2_paths import DirLister, PathTemplate, walk_template
from explorer.sky import dc2_skymap, union_area_deg2

IMSIM = "lsst.obs.lsst.imsim.ImsimMapper"
RAW_COLUMNS = ("run text, visit int, filter text, dateObs text, expTime double, raftName text, "
               "detectorName text, detector int, snap int, expId int")
# (visit, filter, raftName, detectorName, detector)
ROWS = [(100, "i", "R01", "S00", 10), (100, "i", "R01", "S01", 11),
        (200, "r", "R01", "S00", 10), (200, "r", "R01", "S01", 11)]
DC2_MAKESKYMAP = """import lsst.skymap
config.skyMap['rings'].numRings=120
config.skyMap['rings'].projection='TAN'
config.skyMap['rings'].pixelScale=0.2
config.skyMap['rings'].tractOverlap=0.016666666666666666
config.skyMap['rings'].patchInnerDimensions=[4000, 4000]
config.skyMap['rings'].patchBorder=100
config.skyMap.name='rings'
"""


def _touch(path, data=b"SIMPLE"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def _catalog(path, nrows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cols = [fits.Column(name="id", format="K", array=np.arange(nrows, dtype=np.int64)),
            fits.Column(name="coord_ra", format="D", array=np.zeros(nrows))]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(path)


def _calexp(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    hdus = [fits.PrimaryHDU()]
    for ext, arr in (("IMAGE", np.ones((6, 5), ">f4")), ("MASK", np.zeros((6, 5), ">i4")),
                     ("VARIANCE", np.ones((6, 5), ">f4"))):
        hdu = fits.ImageHDU(arr)
        hdu.header["EXTTYPE"] = ext
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path)


def make_gen2(root, rows=ROWS):
    """A tiny DC2-style imsim Gen2 repository; returns the relative paths it wrote, by dataset type."""
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "_mapper"), "w") as fh:
        fh.write(IMSIM + "\n")
    con = sqlite3.connect(os.path.join(root, "registry.sqlite3"))
    con.execute(f"CREATE TABLE raw (id integer primary key autoincrement, {RAW_COLUMNS})")
    con.execute("CREATE TABLE raw_visit (visit int, filter text, dateObs text, expTime double, unique(visit))")
    for visit, flt, raft, det_name, det in rows:
        con.execute("INSERT INTO raw (run, visit, filter, dateObs, expTime, raftName, detectorName, detector, "
                    "snap, expId) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (str(visit), visit, flt, "2022-10-05T06:53:26", 30.0, raft, det_name, det, 0, visit))
        con.execute("INSERT OR IGNORE INTO raw_visit VALUES (?,?,?,?)", (visit, flt, "2022-10-05", 30.0))
    con.commit()
    con.close()
    written = {"raw": [], "calexp": [], "src": []}
    for visit, flt, raft, det_name, det in rows:
        stem = f"{visit:08d}-{flt}-{raft}-{det_name}-det{det:03d}"
        raw = f"raw/{visit}/{raft}/{visit:08d}-{raft}-{det_name}-det{det:03d}.fits"
        _touch(os.path.join(root, raw))
        written["raw"].append(raw)
        calexp = f"calexp/{visit:08d}-{flt}/{raft}/calexp_{stem}.fits"
        _calexp(os.path.join(root, calexp))
        written["calexp"].append(calexp)
        src = f"src/{visit:08d}-{flt}/{raft}/src_{stem}.fits"
        _catalog(os.path.join(root, src), 5)
        written["src"].append(src)
    coadds = [("i", 3828, "3,3"), ("i", 3828, "3,4"), ("r", 3829, "0,0")]
    written["deepCoadd_calexp"] = []
    written["deepCoadd_forced_src"] = []
    written["deepCoadd_mergeDet"] = []
    for flt, tract, patch in coadds:
        base = f"deepCoadd-results/{flt}/{tract}/{patch}"
        written["deepCoadd_calexp"].append(f"{base}/calexp-{flt}-{tract}-{patch}.fits")
        written["deepCoadd_forced_src"].append(f"{base}/forced_src-{flt}-{tract}-{patch}.fits")
        merged = f"deepCoadd-results/merged/{tract}/{patch}/mergeDet-{tract}-{patch}.fits"
        if merged not in written["deepCoadd_mergeDet"]:
            written["deepCoadd_mergeDet"].append(merged)
    for rels in (written["deepCoadd_calexp"], written["deepCoadd_forced_src"], written["deepCoadd_mergeDet"]):
        for rel in rels:
            _touch(os.path.join(root, rel))
    return written


@pytest.fixture
def gen2(tmp_path):
    root = str(tmp_path / "repo")
    written = make_gen2(root)
    return root, written


def test_inventory_of_a_dc2_style_gen2_repository(gen2):
    root, written = gen2
    repo = open_repo(root)
    assert isinstance(repo, Gen2Repository) and repo.family == "imsim"
    inv = repo.inventory(check_files=True)
    assert inv.instrument == IMSIM
    assert inv.visits == 2 and inv.detectors == 2
    assert inv.bands == ["r", "i"]  # wavelength order
    counts = {d.name: (d.count, d.missing) for d in inv.dataset_types}
    assert counts == {"raw": (4, 0), "calexp": (4, 0), "src": (4, 0), "deepCoadd_calexp": (3, 0),
                      "deepCoadd_forced_src": (3, 0), "deepCoadd_mergeDet": (3, 0)}
    assert inv.dataset_type("calexp").dimensions == ["visit", "filter", "raftName", "detectorName", "detector"]
    assert inv.dataset_type("deepCoadd_calexp").dimensions == ["filter", "tract", "patch"]
    assert inv.tracts == [3828, 3829] and inv.patches == 3
    sm = dc2_skymap()
    expected = union_area_deg2([sm.tract(3828).inner_vertices_deg, sm.tract(3829).inner_vertices_deg])
    assert inv.sky_area_deg2 == pytest.approx(expected, rel=1e-9) and inv.sky_area_deg2 > 1.0
    assert inv.skymap == "DC2" and any("default" in n for n in inv.notes)
    assert inv.sources == 20  # 4 src catalogs of 5 rows, from their headers
    assert inv.collections == [root]
    assert repo.detector_names() == {10: "R01_S00", 11: "R01_S01"} and repo.skymap_name() == "DC2"
    repo.close()


def test_missing_files_are_reported_against_registry_rows_and_sibling_products(gen2):
    root, written = gen2
    os.remove(os.path.join(root, written["calexp"][3]))
    os.remove(os.path.join(root, written["raw"][0]))
    os.remove(os.path.join(root, written["deepCoadd_forced_src"][1]))
    repo = Gen2Repository(root)
    inv = repo.inventory(check_files=True)
    counts = {d.name: (d.count, d.missing) for d in inv.dataset_types}
    assert counts["calexp"] == (3, 1)
    assert counts["raw"] == (3, 1)
    assert counts["deepCoadd_forced_src"] == (2, 1)  # its patch folder still holds the calexp
    assert counts["deepCoadd_calexp"] == (3, 0)
    assert repo.inventory().dataset_type("calexp").missing is None  # only with check_files
    # the absent calexp is known (a registry row of a type that is there) and says "not on disk"
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_exposure("calexp", {"visit": 200, "detector": 11})
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_catalog("deepCoadd_forced_src", {"band": "i", "tract": 3828, "patch": "3,4"})
    repo.close()


def test_locate_with_generic_keys(gen2):
    root, written = gen2
    repo = Gen2Repository(root)
    loc = repo.locate("calexp", {"visit": "100", "detector": "11"})  # CLI strings
    assert loc.on_disk and loc.path == os.path.join(root, written["calexp"][1])
    assert loc.data_id["band"] == "i" and loc.data_id["raftName"] == "R01"
    # band <-> filter, and the Gen3 sequential patch id (y * 7 + x) <-> "x,y"
    by_name = repo.locate("deepCoadd_calexp", {"band": "i", "tract": 3828, "patch": "3,4"})
    by_id = repo.locate("deepCoadd_calexp", {"band": "i", "tract": 3828, "patch": 4 * 7 + 3})
    assert by_name.path == by_id.path == os.path.join(root, written["deepCoadd_calexp"][1])
    assert repo.patch_name(3828, 31) == "3,4" and repo.patch_id("3,4", 3828) == 31
    assert repo.locate("deepCoadd_calexp", {"physical_filter": "r", "tract": 3829, "patch": "0,0"}).on_disk
    exp = repo.get_exposure("calexp", {"visit": 100, "detector": 10})
    assert exp.image.shape == (6, 5) and exp.image.dtype.byteorder in ("=", "<", "|")
    with pytest.raises(BadDataIdError, match="matches 2"):
        repo.locate("calexp", {"visit": 100})
    with pytest.raises(BadDataIdError, match="no data ID key 'ccd'"):
        repo.locate("calexp", {"visit": 100, "ccd": 3})
    with pytest.raises(DatasetNotFoundError):
        repo.locate("calexp", {"visit": 999, "detector": 10})
    with pytest.raises(DatasetNotFoundError):
        repo.locate("deepCoadd_calexp", {"band": "i", "tract": 9999, "patch": "0,0"})
    with pytest.raises(UnknownDatasetTypeError):
        repo.locate("noSuchType", {})
    assert [d["detector"] for d in repo.query_data_ids("calexp", {"band": "r"})] == [10, 11]
    assert [d["patch"] for d in repo.query_data_ids("deepCoadd_calexp", {"tract": 3828})] == ["3,3", "3,4"]
    assert repo.query_data_ids("src", {"visit": 200, "detector": 10})[0]["filter"] == "r"
    assert sorted(repo.tract_regions()) == [3828, 3829]
    assert len(repo.patch_regions(3828)) == 49 and repo.patch_regions(3828)["3,4"].shape[1] == 2
    assert repo.dataset_type_names() == ["calexp", "deepCoadd_calexp", "deepCoadd_forced_src",
                                         "deepCoadd_mergeDet", "raw", "src"]
    repo.close()


def test_rerun_reads_through_parents_and_reports_unreachable_ones(gen2, tmp_path):
    root, written = gen2
    rerun = os.path.join(root, "rerun", "mine")
    os.makedirs(rerun)
    with open(os.path.join(rerun, "repositoryCfg.yaml"), "w") as fh:
        fh.write("!RepositoryCfg_v1\n_mapper: !!python/name:lsst.obs.lsst.imsim.ImsimMapper ''\n"
                 "_mapperArgs: {}\n_parents:\n- ../..\n- !RepositoryCfg_v1\n  _root: /nowhere/on/this/machine\n"
                 "  _parents: []\n- !RepositoryCfg_v1\n  _root: null\n_policy: null\n_root: null\n")
    # the rerun shadows one calexp with its own and adds a coadd
    shadow = os.path.join(rerun, written["calexp"][0])
    _calexp(shadow)
    _touch(os.path.join(rerun, "deepCoadd-results/r/3829/1,0/calexp-r-3829-1,0.fits"))
    repo = open_repo(rerun)
    assert repo.collections() == [rerun, root]
    assert repo.unreachable_parents[0] == "/nowhere/on/this/machine"
    inv = repo.inventory()
    assert any("/nowhere/on/this/machine" in n and "unreachable" in n for n in inv.notes)
    assert any("no _root" in n for n in inv.notes)
    counts = {d.name: d.count for d in inv.dataset_types}
    assert counts["calexp"] == 4 and counts["deepCoadd_calexp"] == 4 and inv.patches == 4
    assert repo.locate("calexp", {"visit": 100, "detector": 10}).path == shadow  # the rerun first
    only_rerun = repo.inventory(collections="*mine")
    assert {d.name: d.count for d in only_rerun.dataset_types} == {"calexp": 1, "deepCoadd_calexp": 1}
    assert only_rerun.visits == 2  # the registry is the parent's, whatever files are selected
    with pytest.raises(ExplorerError, match="no collection matches"):
        repo.inventory(collections="nothing-like-this")
    repo.close()


def test_legacy_parent_symlink(gen2, tmp_path):
    root, _ = gen2
    child = tmp_path / "child"
    child.mkdir()
    (child / "_mapper").write_text(IMSIM + "\n")
    os.symlink(root, child / "_parent")
    repo = open_repo(child)
    assert repo.collections() == [str(child), os.path.realpath(root)]
    assert repo.inventory().dataset_type("calexp").count == 4
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "_mapper").write_text(IMSIM + "\n")
    os.symlink(tmp_path / "gone", broken / "_parent")
    repo = open_repo(broken)
    assert repo.unreachable_parents == [str(tmp_path / "gone")]
    assert repo.inventory().dataset_types == []


def test_hostile_yaml_is_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    repo_dir = tmp_path / "hostile"
    repo_dir.mkdir()
    (repo_dir / "repositoryCfg.yaml").write_text(
        "!RepositoryCfg_v1\n"
        f"_mapper: !!python/object/apply:os.system ['touch {marker}']\n"
        f"_mapperArgs: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n"
        "_parents: [!!python/name:os.system '', !!python/object/apply:os.system ['touch {marker}']]\n"
        f"_policy: !!python/object/apply:builtins.exec ['open(\"{marker}\", \"w\")']\n")
    repo = open_repo(repo_dir)
    inv = repo.inventory()
    assert not marker.exists()
    assert repo.mapper is None and repo.family == "obs_base"
    assert any("no mapper" in n for n in inv.notes)
    bad = tmp_path / "malformed"
    bad.mkdir()
    (bad / "repositoryCfg.yaml").write_text("_parents: [unclosed\n  : : :\n")
    with pytest.raises(NotARepositoryError, match="malformed YAML"):
        open_repo(bad)
    recursive = tmp_path / "recursive"
    recursive.mkdir()
    (recursive / "repositoryCfg.yaml").write_text("_parents: &loop [*loop]\n")  # a list that holds itself
    assert any("unusable parent" in n for n in open_repo(recursive).inventory().notes)
    scalar = tmp_path / "scalar"
    scalar.mkdir()
    (scalar / "repositoryCfg.yaml").write_text("just a string\n")
    with pytest.raises(NotARepositoryError, match="not a repository configuration"):
        open_repo(scalar)


def test_skymap_from_config_files(gen2):
    root, _ = gen2
    cfg = os.path.join(root, "config", "makeSkyMap.py")
    os.makedirs(os.path.dirname(cfg))
    with open(cfg, "w") as fh:
        fh.write(DC2_MAKESKYMAP + f"import os\nos.system('touch {root}/PWNED')\n")
    repo = Gen2Repository(root)
    inv = repo.inventory()
    assert inv.skymap == "DC2" and any("identified from" in n and cfg in n for n in inv.notes)
    assert not os.path.exists(os.path.join(root, "PWNED"))  # the config is read, never run
    with open(cfg, "w") as fh:
        fh.write(DC2_MAKESKYMAP.replace("numRings=120", "numRings=60"))
    repo = Gen2Repository(root)
    inv = repo.inventory()
    assert inv.skymap.startswith("rings") and repo.skymap()[0].config.num_rings == 60
    sm = repo.skymap()[0]
    assert inv.sky_area_deg2 == pytest.approx(
        union_area_deg2([sm.tract(3828).inner_vertices_deg, sm.tract(3829).inner_vertices_deg]))
    with open(cfg, "w") as fh:
        fh.write("config.skyMap.name='healpix'\n")
    inv = Gen2Repository(root).inventory()
    assert inv.sky_area_deg2 == 0.0 and any("cannot compute" in n for n in inv.notes)
    assert inv.tracts == [3828, 3829]  # the data is still listed


def test_parse_skymap_config_reads_text_only():
    got = parse_skymap_config(DC2_MAKESKYMAP)
    assert got == {"name": "rings", "numRings": 120, "projection": "TAN", "pixelScale": 0.2,
                   "tractOverlap": pytest.approx(1 / 60), "patchInnerDimensions": (4000, 4000),
                   "patchBorder": 100}
    assert parse_skymap_config("config.skyMap['rings'].tractOverlap = 1.0/60\n")["tractOverlap"] == \
        pytest.approx(1 / 60)
    assert parse_skymap_config("config.skyMap['rings'].tractBuilder.name='cells'\n")["tractBuilder"] == "cells"
    # settings of another (inactive) choice do not leak in
    assert "numRings" not in parse_skymap_config("config.skyMap.name='rings'\nconfig.skyMap['healpix'].numRings=3\n")


def test_band_of_gen2_filter_names():
    assert [band_of(f) for f in ("i", "i_sim_1.4", "HSC-I", "HSC-I2", "NB0921", "y", "g~ND")] == \
        ["i", "i", "i", "i", "N921", "y", "g"]
    assert band_of("NONE") is None and band_of(None) is None


def test_path_template_fill_and_match():
    t = PathTemplate("calexp/%(visit)08d-%(filter)s/%(raftName)s/calexp_%(visit)08d-%(filter)s-"
                     "%(raftName)s-%(detectorName)s-det%(detector)03d.fits")
    assert t.expand({"visit": "204595", "filter": "i", "raftName": "R11", "detectorName": "S20",
                     "detector": 42}) == "calexp/00204595-i/R11/calexp_00204595-i-R11-S20-det042.fits"
    assert t.match_component(1, "00204595-i_sim_1.4", {}) == {"visit": 204595, "filter": "i_sim_1.4"}
    assert t.match_component(1, "204595-i", {}) is None  # wrong zero padding
    assert t.match_component(1, "000204595-i", {}) is None
    bound = {"visit": 204595, "filter": "i", "raftName": "R11"}
    assert t.match_component(3, "calexp_00204595-i-R11-S20-det042.fits.gz", bound)["detector"] == 42
    assert t.match_component(3, "calexp_00204595-r-R11-S20-det042.fits", bound) is None  # filter disagrees
    raw = PathTemplate("raw/%(run)s/%(raftName)s/%(expId)08d-%(raftName)s-%(detectorName)s-det%(detector)03d"
                       ".fits[0]")
    assert raw.hdu == "[0]" and raw.path.endswith(".fits") and "run" in raw.keys
    with pytest.raises(KeyError):
        raw.expand({"run": "1"})


def test_template_walk_lists_only_template_directories(tmp_path, monkeypatch):
    root = tmp_path / "r"
    for rel in ("deepCoadd-results/i/3828/3,3/calexp-i-3828-3,3.fits",
                "deepCoadd-results/i/3828/notapatch/calexp-i-3828-notapatch.fits",
                "deepCoadd-results/i/3828/3,4/calexp-i-3828-3,5.fits"):  # name disagrees with folder
        _touch(str(root / rel))
    for i in range(30):
        _touch(str(root / "unrelated" / f"d{i}" / "x.fits"))
    listed = []
    real_scandir = os.scandir

    def spy(path):
        listed.append(str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    t = PathTemplate("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/calexp-%(filter)s-%(tract)d-%(patch)s.fits")
    found = list(walk_template(str(root), t, DirLister()))
    assert [d for _, d in found] == [{"filter": "i", "tract": 3828, "patch": "3,3"}]
    assert not any("unrelated" in p or "notapatch" in p for p in listed)


def test_not_a_gen2_repository(tmp_path):
    with pytest.raises(NotARepositoryError):
        Gen2Repository(str(tmp_path))
    with pytest.raises(NotARepositoryError):
        Gen2Repository(str(tmp_path / "absent"))


def test_registry_opened_read_only(gen2):
    root, _ = gen2
    reg = os.path.join(root, "registry.sqlite3")
    before = os.stat(reg).st_mtime_ns, sorted(os.listdir(root))
    os.chmod(root, 0o555)  # a read-only directory: immutable=1, and nothing may be created
    try:
        repo = Gen2Repository(root)
        assert repo.inventory().visits == 2
        repo.close()
    finally:
        os.chmod(root, 0o755)
    assert (os.stat(reg).st_mtime_ns, sorted(os.listdir(root))) == before


def test_registry_rows_without_products_are_not_missing(tmp_path):
    """A raw the registry lists is no promise of a calexp: only a sibling product (src) makes one known."""
    root = str(tmp_path / "repo")
    written = make_gen2(root, rows=ROWS + [(300, "g", "R01", "S00", 10)])
    os.remove(os.path.join(root, written["calexp"][-1]))
    os.remove(os.path.join(root, written["src"][-1]))
    os.remove(os.path.join(root, written["calexp"][0]))  # this one's src remains
    inv = Gen2Repository(root).inventory(check_files=True)
    counts = {d.name: (d.count, d.missing) for d in inv.dataset_types}
    assert counts["raw"] == (5, 0) and counts["calexp"] == (3, 1) and counts["src"] == (4, 0)
    assert inv.visits == 3 and inv.bands == ["g", "r", "i"]


def test_hsc_layout_ccd_and_pointing_from_the_registry(tmp_path):
    """HscMapper templates: files under <pointing>/<filter>/corr, detectors are ``ccd``; band from HSC-I."""
    root = tmp_path / "hsc"
    root.mkdir()
    (root / "_mapper").write_text("lsst.obs.hsc.HscMapper\n")
    con = sqlite3.connect(root / "registry.sqlite3")
    con.execute("CREATE TABLE raw (id integer primary key autoincrement, field text, visit int, filter text, "
                "dateObs text, taiObs text, expTime double, pointing int, ccd int)")
    for visit, flt in ((903334, "HSC-R"), (903986, "HSC-I")):
        for ccd in (16, 22, 23):
            con.execute("INSERT INTO raw (field, visit, filter, dateObs, taiObs, expTime, pointing, ccd) "
                        "VALUES (?,?,?,?,?,?,?,?)", ("STRIPE82L", visit, flt, "2013-06-17", "2013-06-17", 30.0,
                                                     671, ccd))
    con.commit()
    con.close()
    _calexp(str(root / "00671/HSC-I/corr/CORR-0903986-022.fits"))
    _catalog(str(root / "00671/HSC-I/output/SRC-0903986-022.fits"), 7)
    _touch(str(root / "deepCoadd-results/HSC-I/9813/4,4/calexp-HSC-I-9813-4,4.fits"))
    repo = open_repo(root)
    assert repo.family == "HSC"
    inv = repo.inventory(check_files=True)
    assert inv.visits == 2 and inv.detectors == 3 and inv.bands == ["HSC-R", "HSC-I"]
    assert {d.name: d.count for d in inv.dataset_types} == {"calexp": 1, "src": 1, "deepCoadd_calexp": 1, "raw": 0}
    assert inv.dataset_type("raw").missing == 6
    assert inv.sources == 7 and inv.tracts == [9813]
    loc = repo.locate("calexp", {"visit": 903986, "detector": 22})  # generic detector -> ccd
    assert loc.on_disk and loc.data_id["ccd"] == 22 and loc.data_id["band"] == "i"
    assert repo.query_data_ids("deepCoadd_calexp", {"band": "i"})[0]["filter"] == "HSC-I"
    assert repo.locate("deepCoadd_calexp", {"band": "i", "tract": 9813, "patch": "4,4"}).on_disk


def test_corrupt_registry_is_a_bad_file(tmp_path):
    root = tmp_path / "corrupt"
    root.mkdir()
    (root / "_mapper").write_text(IMSIM + "\n")
    (root / "registry.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(BadFileError, match="registry.sqlite3: unreadable registry"):
        open_repo(root)
