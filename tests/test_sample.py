"""The DC2-like sample repository: a real Gen3 butler repository whose pixels and catalogs look real.

One small sample (seed 1) is built per session by the ``sample_gen3`` fixture (tests/conftest.py);
the registry is checked through lsst.daf.butler itself, pixels and catalogs through the project's
afw FITS readers and astropy, and the truth through ``sample_manifest.json``.
"""
from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from explorer.repo.errors import ExplorerError

DEFAULTS = "2.2i/defaults"


@pytest.fixture(scope="module")
def manifest(sample_gen3: Path) -> dict:
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


@pytest.fixture(scope="module")
def butler(sample_gen3: Path):
    from lsst.daf.butler import Butler

    b = Butler(str(sample_gen3), writeable=False)
    yield b
    b.close()


def _on_disk_calexps(manifest: dict) -> list[dict]:
    return [c for c in manifest["calexps"] if c["on_disk"]]


def _exposure(path: Path):
    from explorer.repo.access import open_exposure

    return open_exposure(path)


# ----- size, time, and the butler view ---------------------------------------------------------


def test_small_build_is_small(sample_gen3: Path, manifest: dict, capsys) -> None:
    # its build time is a figure (printed here, and in BENCHMARKS.md), not an assertion: a busy
    # machine is no fault of the sample
    on_disk = sum(p.stat().st_size for p in sample_gen3.rglob("*") if p.is_file())
    with capsys.disabled():
        print(f"\nsmall sample: built in {manifest['seconds']:.1f} s, {on_disk / 1e6:.1f} MB, "
              f"{manifest['files_on_disk']} files")
    assert on_disk < 100e6
    assert manifest["seed"] == 1 and manifest["size"] == "small" and manifest["layout"] == "gen3"
    assert not (sample_gen3 / ".sample-staging").exists(), "the staging folder must be gone"


def test_butler_reports_the_manifest_datasets(butler, manifest: dict) -> None:
    reg = butler.registry
    for name, count in manifest["datasets"].items():
        refs = list(reg.queryDatasets(name, collections=DEFAULTS))
        assert len(refs) == count, name
    expected = {"calexp": "ExposureF", "src": "SourceCatalog", "sourceTable": "DataFrame",
                "deepCoadd_calexp": "ExposureF", "deepCoadd_forced_src": "SourceCatalog",
                "deepCoadd_mergeDet": "SourceCatalog", "objectTable": "DataFrame"}
    for name, sc in expected.items():
        assert reg.getDatasetType(name).storageClass_name == sc
    assert set(reg.getDatasetType("calexp").dimensions.required) == {"instrument", "visit", "detector"}
    assert set(reg.getDatasetType("deepCoadd_calexp").dimensions.required) == {"band", "skymap", "tract", "patch"}
    # every registered file but one is where getURI says
    missing = manifest["missing"]["dataset_id"]
    for name in manifest["datasets"]:
        for ref in reg.queryDatasets(name, collections=DEFAULTS):
            path = Path(butler.getURI(ref).ospath)
            assert path.exists() == (str(ref.id) != missing), path


def test_collections_are_chained_like_dc2(butler) -> None:
    from lsst.daf.butler import CollectionType

    reg = butler.registry
    assert reg.getCollectionType(DEFAULTS) == CollectionType.CHAINED
    assert list(reg.getCollectionChain(DEFAULTS)) == [
        "2.2i/runs/test-med-1/calexp", "2.2i/runs/test-med-1/coadd", "skymaps"]
    for run in ("2.2i/runs/test-med-1/calexp", "2.2i/runs/test-med-1/coadd", "skymaps"):
        assert reg.getCollectionType(run) == CollectionType.RUN


def test_instrument_filters_and_detectors(butler, manifest: dict) -> None:
    reg = butler.registry
    (inst,) = list(reg.queryDimensionRecords("instrument"))
    assert inst.name == "LSSTCam-imSim" and inst.class_name == "lsst.obs.lsst.LsstCamImSim"
    filters = {r.name: r.band for r in reg.queryDimensionRecords("physical_filter")}
    assert filters == {f"{b}_sim_1.4": b for b in "ugrizy"}
    dets = {r.id: r for r in reg.queryDimensionRecords("detector")}
    assert len(dets) == 189
    assert dets[42].full_name == "R11_S20" and dets[0].full_name == "R01_S00" and dets[188].full_name == "R43_S22"
    assert not any(d.raft in ("R00", "R04", "R40", "R44") for d in dets.values())
    assert dets[94].full_name == "R22_S11"
    visits = list(reg.queryDimensionRecords("visit"))
    assert len(visits) == len(manifest["visits"])
    for v in visits:
        assert v.exposure_time == 30.0 and v.region is not None and v.timespan is not None
        assert 20220101 < v.day_obs < 20300101
    n_vdr = len(list(reg.queryDimensionRecords("visit_detector_region")))
    assert n_vdr == 189 * len(visits)


def test_visit_regions_contain_their_calexp_centres(butler, sample_gen3: Path, manifest: dict) -> None:
    from lsst.sphgeom import LonLat, UnitVector3d

    reg = butler.registry
    for c in _on_disk_calexps(manifest)[:4]:
        info = _exposure(sample_gen3 / c["path"]).info
        ra, dec = info.center_sky()
        point = UnitVector3d(LonLat.fromDegrees(ra, dec))
        (vdr,) = list(reg.queryDimensionRecords("visit_detector_region", instrument="LSSTCam-imSim",
                                                visit=c["visit"], detector=c["detector"]))
        assert vdr.region.contains(point)
        (visit,) = list(reg.queryDimensionRecords("visit", instrument="LSSTCam-imSim", visit=c["visit"]))
        assert visit.region.contains(point)


def test_skymap_tracts_and_patches(butler, manifest: dict) -> None:
    from explorer.sky import dc2_skymap
    from explorer.sky.regions import vertices_from_region

    reg = butler.registry
    (sm,) = list(reg.queryDimensionRecords("skymap"))
    assert (sm.name, sm.tract_max, sm.patch_nx_max, sm.patch_ny_max) == ("DC2", 18938, 7, 7)
    assert len(sm.hash) == 20
    tracts = {r.id: r for r in reg.queryDimensionRecords("tract")}
    assert set(tracts) == set(manifest["tracts"]) and 3828 in tracts and 3829 in tracts
    dc2 = dc2_skymap()
    t = dc2.tract(3828)
    got = vertices_from_region(tracts[3828].region)
    for ra, dec in t.outer_vertices_deg:
        assert np.min(np.hypot((got[:, 0] - ra) * math.cos(math.radians(dec)), got[:, 1] - dec)) < 1e-6
    patches = list(reg.queryDimensionRecords("patch", skymap="DC2", tract=3828))
    assert len(patches) == 49
    for p in patches:
        info = t.patch(p.cell_x, p.cell_y)
        assert p.id == info.sequential_index == p.cell_y * 7 + p.cell_x
    # every coadd patch's datasets are findable by tract/patch
    for co in manifest["coadds"]:
        refs = list(reg.queryDatasets("deepCoadd_calexp", collections=DEFAULTS, skymap="DC2",
                                      tract=co["tract"], patch=co["patch"]))
        assert sorted(r.dataId["band"] for r in refs) == sorted(co["bands"])


def test_missing_calexp_is_registered_but_absent(butler, sample_gen3: Path, manifest: dict) -> None:
    miss = manifest["missing"]
    assert sum(1 for c in manifest["calexps"] if not c["on_disk"]) == 1
    ref = butler.find_dataset("calexp", miss["data_id"], collections=DEFAULTS)
    assert ref is not None and str(ref.id) == miss["dataset_id"]
    path = Path(butler.getURI(ref).ospath)
    assert path == (sample_gen3 / miss["path"]).resolve()
    assert not path.exists()
    # its src was written: the file went missing later, the catalog did not
    src = butler.find_dataset("src", miss["data_id"], collections=DEFAULTS)
    assert Path(butler.getURI(src).ospath).exists()


def test_datastore_records_hold_the_real_formatter_names(sample_gen3: Path) -> None:
    con = sqlite3.connect(f"file:{sample_gen3 / 'gen3.sqlite3'}?mode=ro", uri=True)
    try:
        rows = dict(con.execute(
            "SELECT r.formatter, COUNT(*) FROM file_datastore_records r GROUP BY r.formatter").fetchall())
    finally:
        con.close()
    assert set(rows) == {"lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter",
                         "lsst.obs.base.formatters.fitsGeneric.FitsGenericFormatter",
                         "lsst.daf.butler.formatters.parquet.ParquetFormatter"}


def test_dataset_ids_are_reproducible(butler, manifest: dict) -> None:
    """DATAID_TYPE_RUN ids: recomputed from data ID, type and run alone, they match the registry."""
    from lsst.daf.butler import DatasetIdGenEnum, DatasetRef

    c = manifest["calexps"][0]
    ref = butler.find_dataset("calexp", instrument="LSSTCam-imSim", visit=c["visit"], detector=c["detector"],
                              collections=DEFAULTS)
    again = DatasetRef(ref.datasetType, ref.dataId, run=ref.run, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
    assert again.id == ref.id and str(ref.id) == c["dataset_id"]


# ----- determinism -------------------------------------------------------------------------------


def test_same_seed_same_pixels_and_rows(sample_gen3: Path, manifest: dict) -> None:
    from astropy.io import fits

    from explorer.sample import content as C

    c = _on_disk_calexps(manifest)[0]
    again = C.synthesize_calexp(C.build_content(1, "small"), c["visit"], c["detector"])
    with fits.open(sample_gen3 / c["path"]) as hdul:
        for k, arr in ((1, again.image), (2, again.mask), (3, again.variance)):
            assert np.array_equal(hdul[k].data, arr), k
    other = C.synthesize_calexp(C.build_content(2, "small"), c["visit"], c["detector"]) \
        if c["visit"] in C.build_content(2, "small").visit_by_id else None
    if other is not None:
        assert not np.array_equal(other.image, again.image)
    content = C.build_content(1, "small")
    m1 = C.measure_visit_detector(content, c["visit"], c["detector"], again)
    m2 = C.measure_visit_detector(C.build_content(1, "small"), c["visit"], c["detector"], again)
    assert np.array_equal(m1.ids, m2.ids) and np.array_equal(m1.table["psfFlux"], m2.table["psfFlux"])
    assert len(m1.ids) == manifest["rows"]["src"][f"{c['visit']},{c['detector']}"]


def test_different_seed_changes_the_sky() -> None:
    from explorer.sample import content as C

    a, b = C.build_content(1, "small"), C.build_content(2, "small")
    assert [v.id for v in a.visits] != [v.id for v in b.visits] or [v.ra for v in a.visits] != [v.ra for v in b.visits]
    box = (56.6, 56.7, -36.5, -36.4)
    assert not np.array_equal(a.truth.in_box(*box)["ra"], b.truth.in_box(*box)["ra"])
    assert np.array_equal(a.truth.in_box(*box), C.build_content(1, "small").truth.in_box(*box))


# ----- pixels ------------------------------------------------------------------------------------


def _bits(info, name: str) -> int:
    return 1 << info.mask_planes[name]


def test_calexps_look_like_sky(sample_gen3: Path, manifest: dict) -> None:
    for c in _on_disk_calexps(manifest):
        exp = _exposure(sample_gen3 / c["path"])
        info = exp.info
        img = np.asarray(exp.image, dtype=float)
        var = np.asarray(exp.variance, dtype=float)
        mask = np.asarray(exp.mask)
        assert img.shape == (c["bbox"][3], c["bbox"][2]) and tuple(info.xy0) == tuple(c["xy0"])
        quiet = (mask & (_bits(info, "DETECTED") | _bits(info, "NO_DATA") | _bits(info, "CR")
                         | _bits(info, "BAD") | _bits(info, "SAT") | _bits(info, "EDGE"))) == 0
        pix = img[quiet]
        med = np.median(pix)
        robust = 1.4826 * np.median(np.abs(pix - med))
        expected = math.sqrt(np.median(var[quiet]))
        assert abs(med) < 0.1 * robust, (c["path"], med, robust)
        assert abs(robust / expected - 1) < 0.2, (c["path"], robust, expected)
        # background-subtracted: the sky level went into the variance, not the image
        assert np.median(var) > 20 * abs(np.median(img))
        # saturation: every pixel at or above the full well is flagged SAT
        sat_level = info.metadata["SATURATE"]
        assert np.all(mask[img >= sat_level] & _bits(info, "SAT"))
        # bad columns are interpolated (BAD implies INTRP); the image border is EDGE
        bad = (mask & _bits(info, "BAD")) != 0
        assert np.all(mask[bad] & _bits(info, "INTRP"))
        assert np.all(mask[:10, :] & _bits(info, "EDGE")) and np.all(mask[:, -10:] & _bits(info, "EDGE"))
        assert np.all(mask[10:-10, 10:-10] & _bits(info, "EDGE") == 0)
        # cosmic rays, a dropped readout segment (NO_DATA), and detections covering part of the image
        assert np.any(mask & _bits(info, "CR"))
        assert np.any(mask & _bits(info, "NO_DATA"))
        frac = np.mean((mask & _bits(info, "DETECTED")) != 0)
        assert 0.005 < frac < 0.5
        # the PSF, zero point and filter are those of the visit
        visit = next(v for v in manifest["visits"] if v["id"] == c["visit"])
        assert info.filter_label == {"band": visit["band"], "physical": visit["physical_filter"]}
        assert info.zero_point_mag == pytest.approx(visit["zero_point"], abs=1e-6)
        assert info.psf.kind == "GaussianPsf"
        assert info.psf.fwhm_arcsec == pytest.approx(visit["seeing_fwhm"], rel=0.02)
        assert info.visit_info["exposure_time"] == 30.0
        assert info.detector["id"] == c["detector"] and info.detector["name"] == c["detector_name"]
    # across the sample: saturated stars with bleed trails exist (the planted bright star)
    sat_counts = [c["stats"]["sat"] for c in _on_disk_calexps(manifest)]
    assert max(sat_counts) > 50
    assert sum(1 for c in _on_disk_calexps(manifest) if c["stats"]["bad"] > 0) >= 1


def test_bleed_trails_run_along_columns(sample_gen3: Path, manifest: dict) -> None:
    c = max(_on_disk_calexps(manifest), key=lambda c: c["stats"]["sat"])
    exp = _exposure(sample_gen3 / c["path"])
    sat = (np.asarray(exp.mask) & _bits(exp.info, "SAT")) != 0
    from scipy import ndimage

    labels, n = ndimage.label(sat)
    sizes = ndimage.find_objects(labels)
    tallest = max(sl[0].stop - sl[0].start for sl in sizes)
    widest_of_tallest = [sl[1].stop - sl[1].start for sl in sizes if sl[0].stop - sl[0].start == tallest][0]
    assert tallest > 2 * widest_of_tallest  # a trail: much taller than wide


def test_mask_planes_read_back_with_their_bits(sample_gen3: Path, manifest: dict) -> None:
    from astropy.io import fits

    c = _on_disk_calexps(manifest)[0]
    info = _exposure(sample_gen3 / c["path"]).info
    assert info.mask_planes == manifest["mask_planes"]["calexp"]
    for name in ("BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "SUSPECT", "NO_DATA",
                 "CROSSTALK"):
        assert name in info.mask_planes
    with fits.open(sample_gen3 / c["path"]) as hdul:
        assert hdul[2].header["EXTTYPE"] == "MASK" and hdul[2].header["EXTNAME"] == "MASK"
        assert hdul[2].data.dtype.kind == "i" and hdul[2].data.dtype.itemsize == 4
        assert hdul[0].header["AR_HDU"] == 5 and hdul[4].header["EXTTYPE"] == "ARCHIVE_INDEX"
        assert hdul[1].header["LTV1"] == -c["xy0"][0] and hdul[1].header["CRVAL1A"] == c["xy0"][0]
        names = [n.strip() for n in hdul[4].data["name"]]
        assert {"PhotoCalib", "GaussianPsf", "Detector", "FilterLabel"} <= set(names)
    assert info.decode_mask(_bits(info, "SAT") | _bits(info, "CR")) == ["SAT", "CR"]
    co = manifest["coadds"][0]
    cpath = sample_gen3 / manifest["paths"]["deepCoadd_calexp"][
        f"band={co['bands'][0]},patch={co['patch']},skymap=DC2,tract={co['tract']}"]
    cinfo = _exposure(cpath).info
    assert cinfo.mask_planes == manifest["mask_planes"]["coadd"]
    assert {"CLIPPED", "SENSOR_EDGE", "INEXACT_PSF", "REJECTED"} <= set(cinfo.mask_planes)


def test_wcs_matches_the_visit_pointing(sample_gen3: Path, manifest: dict) -> None:
    from explorer.sample import camera, content as C, optics

    content = C.build_content(1, "small")
    for c in _on_disk_calexps(manifest)[:3]:
        info = _exposure(sample_gen3 / c["path"]).info
        assert "SIP" in info.wcs.wcs.ctype[0]
        v = content.visit_by_id[c["visit"]]
        det = camera.DETECTOR_BY_ID[c["detector"]]
        x0, y0, w, h = c["bbox"]
        xs = np.array([x0, x0 + w - 1, x0 + w / 2])
        ys = np.array([y0, y0 + h - 1, y0 + h / 3])
        ra, dec = info.pixel_to_sky(xs, ys)
        ra2, dec2 = optics.pixel_to_sky(v.pointing, det, xs, ys)
        assert np.max(np.hypot((ra - ra2) * np.cos(np.radians(dec)), dec - dec2)) * 3600 < 0.001
        assert abs(info.metadata["BORE-RA"] - v.ra) < 1e-9 and abs(info.metadata["BORE-DEC"] - v.dec) < 1e-9
        scale = info.wcs.proj_plane_pixel_scales()
        assert float(scale[0].to_value("arcsec")) == pytest.approx(0.2, rel=1e-6)


# ----- catalogs ----------------------------------------------------------------------------------


def _catalog(path: Path, columns=None):
    from explorer.repo.access import read_catalog

    return read_catalog(path, columns=columns)


def test_src_catalog_layout(sample_gen3: Path, manifest: dict) -> None:
    from astropy.io import fits

    c = _on_disk_calexps(manifest)[0]
    key = f"detector={c['detector']},instrument=LSSTCam-imSim,visit={c['visit']}"
    path = sample_gen3 / manifest["paths"]["src"][key]
    with fits.open(path) as hdul:
        h = hdul[1].header
        assert h["AFW_TYPE"] == "SOURCE" and h["AFW_TABLE_VERSION"] == 3
        assert h["TTYPE1"] == "flags" and h["TFORM1"].endswith("X")
        flags = [h[k] for k in h if k.startswith("TFLAG")]
        for f in ("base_PixelFlags_flag_saturated", "base_PsfFlux_flag", "calib_psf_used"):
            assert f in flags
        assert hdul[1].data["id"].dtype.kind == "i" and hdul[1].data["id"].dtype.itemsize == 8
        assert h[f"TUNIT{hdul[1].data.names.index('coord_ra') + 1}"] == "rad"
    df = _catalog(path)
    assert len(df) == manifest["rows"]["src"][f"{c['visit']},{c['detector']}"]
    for col in ("id", "coord_ra", "coord_dec", "parent", "base_SdssCentroid_x", "base_SdssCentroid_y",
                "base_PsfFlux_instFlux", "base_PsfFlux_instFluxErr", "base_CircularApertureFlux_12_0_instFlux",
                "ext_photometryKron_KronFlux_instFlux", "ext_photometryKron_KronFlux_instFluxErr",
                "base_ClassificationExtendedness_value", "deblend_nChild", "base_PixelFlags_flag_saturated"):
        assert col in df.columns, col
    assert df["id"].is_unique
    # parents and children: every non-zero parent is a row with deblend_nChild equal to its children
    kids = df[df["parent"] != 0]
    if len(kids):
        counts = kids["parent"].value_counts()
        parents = df.set_index("id").loc[counts.index, "deblend_nChild"]
        assert np.array_equal(parents.to_numpy(), counts.to_numpy())


def test_src_positions_land_on_image_peaks(sample_gen3: Path, manifest: dict) -> None:
    checked = 0
    for c in _on_disk_calexps(manifest):
        key = f"detector={c['detector']},instrument=LSSTCam-imSim,visit={c['visit']}"
        df = _catalog(sample_gen3 / manifest["paths"]["src"][key])
        exp = _exposure(sample_gen3 / c["path"])
        img = np.asarray(exp.image, dtype=float)
        x0, y0 = exp.info.xy0
        snr = df["base_PsfFlux_instFlux"] / df["base_PsfFlux_instFluxErr"]
        good = df[(snr > 30) & (df["parent"] == 0) & (df["deblend_nChild"] == 0)
                  & ~df["base_PixelFlags_flag_saturated"] & ~df["base_PixelFlags_flag_edge"]
                  & ~df["base_PixelFlags_flag_cr"] & ~df["base_PixelFlags_flag_bad"]]
        ok = 0
        for x, y in zip(good["base_SdssCentroid_x"] - x0, good["base_SdssCentroid_y"] - y0):
            ix, iy = int(round(x)), int(round(y))
            win = img[iy - 4:iy + 5, ix - 4:ix + 5]
            py, px = np.unravel_index(np.argmax(win), win.shape)
            ok += math.hypot(px - 4 + ix - x, py - 4 + iy - y) < 1.6
        checked += len(good)
        assert ok >= 0.9 * len(good), (c["path"], ok, len(good))
        # sky coordinates are the WCS of the centroid (radians in the file)
        ra, dec = exp.info.pixel_to_sky(df["base_SdssCentroid_x"].to_numpy(), df["base_SdssCentroid_y"].to_numpy())
        d = np.hypot((np.degrees(df["coord_ra"]) - ra) * np.cos(np.radians(dec)), np.degrees(df["coord_dec"]) - dec)
        assert np.max(d) * 3600 < 0.01
    assert checked > 30


def test_same_stars_in_different_visits(sample_gen3: Path, manifest: dict) -> None:
    """The true sky is shared: bright point sources of two visits match on the sky to < 0.1 arcsec."""
    from scipy.spatial import cKDTree

    primaries = {}
    for c in _on_disk_calexps(manifest):
        primaries.setdefault(c["visit"], c)
    cats = []
    for c in list(primaries.values())[:2]:
        key = f"detector={c['detector']},instrument=LSSTCam-imSim,visit={c['visit']}"
        df = _catalog(sample_gen3 / manifest["paths"]["src"][key])
        snr = df["base_PsfFlux_instFlux"] / df["base_PsfFlux_instFluxErr"]
        df = df[(snr > 50) & (df["deblend_nChild"] == 0) & (df["parent"] == 0)]
        cats.append(np.column_stack([np.degrees(df["coord_ra"]) * math.cos(math.radians(-36.45)),
                                     np.degrees(df["coord_dec"])]))
    dist, _ = cKDTree(cats[1]).query(cats[0])
    assert np.sum(dist * 3600 < 0.1) >= 3


def test_source_table_matches_src(sample_gen3: Path, manifest: dict) -> None:
    for visit, n in manifest["rows"]["sourceTable"].items():
        path = sample_gen3 / manifest["paths"]["sourceTable"][f"instrument=LSSTCam-imSim,visit={visit}"]
        df = _catalog(path)
        assert len(df) == n == sum(v for k, v in manifest["rows"]["src"].items() if k.split(",")[0] == visit)
        for col in ("sourceId", "coord_ra", "coord_dec", "visit", "detector", "band", "psFlux", "psFluxErr"):
            assert col in df.columns
        assert (df["visit"] == int(visit)).all() and df["sourceId"].is_unique
        assert df["coord_dec"].between(-40, -33).all()  # degrees, not radians
        band = next(v["band"] for v in manifest["visits"] if v["id"] == int(visit))
        assert set(df["band"]) == {band}


def test_coadd_catalogs(sample_gen3: Path, manifest: dict) -> None:
    from explorer.sky import dc2_skymap

    for co in manifest["coadds"]:
        key = f"patch={co['patch']},skymap=DC2,tract={co['tract']}"
        obj = _catalog(sample_gen3 / manifest["paths"]["objectTable"][key])
        assert len(obj) == manifest["rows"]["objectTable"][f"{co['tract']},{co['patch']}"]
        assert (obj["tract"] == co["tract"]).all() and (obj["patch"] == co["patch"]).all()
        for b in co["bands"]:
            assert f"{b}_psFlux" in obj.columns and f"{b}_kronFlux" in obj.columns
            forced = _catalog(sample_gen3 / manifest["paths"]["deepCoadd_forced_src"][f"band={b},{key}"])
            assert np.array_equal(forced["id"].to_numpy(), obj["objectId"].to_numpy())
        assert "refExtendedness" in obj.columns and obj["objectId"].is_unique
        merge = _catalog(sample_gen3 / manifest["paths"]["deepCoadd_mergeDet"][key])
        assert len(merge) == len(obj)
        # objects lie in the coadd's pixels, which lie in the patch
        t = dc2_skymap().tract(co["tract"])
        x, y = t.sky_to_pixel(obj["coord_ra"].to_numpy(), obj["coord_dec"].to_numpy())
        bx, by, bw, bh = co["bbox"]
        assert np.all((x > bx - 1) & (x < bx + bw) & (y > by - 1) & (y < by + bh))
        cpath = sample_gen3 / manifest["paths"]["deepCoadd_calexp"][f"band={co['bands'][0]},{key}"]
        info = _exposure(cpath).info
        assert tuple(info.xy0) == (bx, by)
        ox, oy, ow, oh = t.patch(*co["patch_xy"]).outer_bbox
        assert ox <= bx and bx + bw <= ox + ow and oy <= by and by + bh <= oy + oh
        cra, cdec = info.pixel_to_sky(bx + 10.0, by + 20.0)
        tra, tdec = t.pixel_to_sky(bx + 10.0, by + 20.0)
        assert abs(float(cra) - float(tra)) < 1e-9 and abs(float(cdec) - float(tdec)) < 1e-9


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    from explorer.sample import SampleError, make_sample

    (tmp_path / "something").write_text("x")
    with pytest.raises(SampleError, match="not an empty directory"):
        make_sample(tmp_path)
    with pytest.raises(ExplorerError, match="unknown sample size"):
        make_sample(tmp_path / "new", size="huge")
    assert not (tmp_path / "new").exists()


def test_products_are_the_same_in_any_order(sample_gen3: Path, manifest: dict) -> None:
    """The Gen2 writer's contract: iter_products gives the files' content whatever the call order."""
    from explorer.sample import content as C

    content = C.build_content(1, "small")
    first_visit = manifest["calexps"][0]["visit"]
    prods = []
    for p in C.iter_products(content):
        if p.data_id.get("visit") not in (None, first_visit):
            break
        prods.append(p)
    kinds = [p.dataset_type for p in prods]
    assert kinds[:2] == ["calexp", "src"] and "sourceTable" in kinds
    table = next(p for p in prods if p.dataset_type == "sourceTable").make()  # before any src or calexp
    src = next(p for p in prods if p.dataset_type == "src").make()  # calexp never made: recomputed
    key = f"{src.data['id'][0] >> 22}"
    assert int(key) == first_visit * 1000 + prods[0].data_id["detector"]
    on_disk = _catalog(sample_gen3 / manifest["paths"]["src"][
        f"detector={prods[0].data_id['detector']},instrument=LSSTCam-imSim,visit={first_visit}"])
    assert np.array_equal(on_disk["id"].to_numpy(), src.data["id"])
    assert np.array_equal(on_disk["base_PixelFlags_flag_saturated"].to_numpy(),
                          src.flags[:, src.flag_names.index("base_PixelFlags_flag_saturated")])
    assert len(table) == manifest["rows"]["sourceTable"][str(first_visit)]
    assert all(p.on_disk for p in prods if p.dataset_type != "calexp")


def test_large_layout_streams_catalogs_for_every_detector(tmp_path: Path, monkeypatch) -> None:
    """The large recipe, shrunk (6 visits, 64-pixel images): sourceTable rows from all 189 detectors."""
    import dataclasses

    from explorer.sample import content as C, make_sample

    tiny = dataclasses.replace(C.SIZES["large"], visits_per_band=1, calexp_bands=("r",), calexp_visits_per_band=1,
                               calexp_box=(64, 64), coadd_box=(64, 64), coadd_bands=("r",),
                               coadd_patches=((3828, 3, 3),))
    monkeypatch.setitem(C.SIZES, "large", tiny)
    seen = []
    root = make_sample(tmp_path / "large", size="large", seed=3, progress=seen.append)
    m = json.loads((root / "sample_manifest.json").read_text())
    assert m["datasets"]["sourceTable"] == 6 and m["datasets"]["calexp"] == 1
    assert any("sourceTable visit" in s for s in seen)
    cal = m["calexps"][0]
    for visit, n in m["rows"]["sourceTable"].items():
        df = _catalog(root / m["paths"]["sourceTable"][f"instrument=LSSTCam-imSim,visit={visit}"])
        assert len(df) == n > 1000
        assert df["detector"].nunique() > 150
        if int(visit) == cal["visit"]:
            rows = df[df["detector"] == cal["detector"]]
            assert len(rows) == m["rows"]["src"][f"{cal['visit']},{cal['detector']}"]
    assert m["row_totals"]["sourceTable"] == sum(m["rows"]["sourceTable"].values())
