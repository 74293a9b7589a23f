"""``make-sample --release dp1|dp2``: repositories shaped like Rubin's DP1 and DP2, read back by the
explorer as a user would (inventory, exposures through the Gen3 backend, the page's state)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.repo import open_repo
from explorer.sample import SampleError, make_sample
from explorer.sky import skymap_by_name


def _sep_arcsec(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))) * 3600


@pytest.fixture(scope="module", params=["dp1", "dp2"])
def release(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param) / "repo"
    make_sample(root, release=request.param, seed=3)
    manifest = json.loads((root / "sample_manifest.json").read_text())
    return request.param, root, manifest


EXPECT = {
    "dp1": {"instrument": "LSSTComCam", "skymap": "lsst_cells_v1", "detectors": 9, "image_sc": "ExposureF",
            "coadd_sc": "ExposureF", "format": "afw"},
    "dp2": {"instrument": "LSSTCam", "skymap": "lsst_cells_v2", "detectors": 189, "image_sc": "VisitImage",
            "coadd_sc": "CellCoadd", "format": "lsst.images"},
}


def test_inventory_has_release_names(release):
    name, root, manifest = release
    exp = EXPECT[name]
    repo = open_repo(str(root))
    try:
        inv = repo.inventory()
    finally:
        repo.close()
    assert inv.instrument == exp["instrument"]
    types = {d.name: d for d in inv.dataset_types}
    assert set(types) == {"visit_image", "deep_coadd", "source", "object", "difference_image", "template_coadd"}
    assert types["difference_image"].storage_class == ("DifferenceImage" if name == "dp2" else "ExposureF")
    assert types["template_coadd"].storage_class == exp["coadd_sc"]
    assert types["visit_image"].storage_class == exp["image_sc"]
    assert types["deep_coadd"].storage_class == exp["coadd_sc"]
    assert types["source"].storage_class == types["object"].storage_class == "ArrowAstropy"
    assert inv.detectors == exp["detectors"]
    assert inv.tracts == manifest["tracts"] and manifest["skymap"] == exp["skymap"]
    assert all(str(v["id"]).startswith(str(v["day_obs"])) for v in manifest["visits"])


def test_visit_images_read_with_exact_sky(release):
    name, root, manifest = release
    exp = EXPECT[name]
    repo = open_repo(str(root))
    try:
        shown = [i for i in manifest["visit_images"] if i["on_disk"]]
        for entry in shown[:3]:
            ex = repo.get_exposure("visit_image", {"instrument": exp["instrument"], "visit": entry["visit"],
                                                   "detector": entry["detector"]})
            info = ex.info
            assert info.format == exp["format"]
            assert list(info.xy0) == entry["bbox"][:2] and info.shape == (entry["bbox"][3], entry["bbox"][2])
            assert info.filter_label["band"] == entry["band"]
            assert info.filter_label["physical"] == entry["physical_filter"]
            assert info.zero_point_mag == pytest.approx(31.4, abs=1e-3)  # calibrated: nJy pixels
            assert info.psf is not None and info.psf.sigma_pixels > 0
            if name == "dp2":
                assert info.kind == "VisitImage" and info.sky_exact
                assert info.visit_info["visit"] == entry["visit"]
                assert info.detector["id"] == entry["detector"]
                assert info.psf.image is not None
                assert all(p.description for p in info.mask_schema)
            # exact sky agrees with the FITS WCS the content model made the pixels with
            x0, y0 = info.xy0
            xs = np.array([x0, x0 + 511, x0 + 256.0])
            ys = np.array([y0, y0 + 511, y0 + 256.0])
            ra, dec = info.pixel_to_sky(xs, ys)
            ra2, dec2 = info.wcs.all_pix2world(xs - x0, ys - y0, 0)
            assert np.max(_sep_arcsec(ra, dec, ra2, dec2)) < 0.01
            assert np.isfinite(ex.image).mean() > 0.9
        miss = manifest["missing"]["data_id"]
        with pytest.raises(Exception, match="not on disk"):
            repo.get_exposure("visit_image", miss)
    finally:
        repo.close()


def test_coadds_are_in_the_cells_tract_frame(release):
    name, root, manifest = release
    exp = EXPECT[name]
    tract = skymap_by_name(exp["skymap"]).tract(manifest["tracts"][0])
    repo = open_repo(str(root))
    try:
        for c in manifest["coadds"][:2]:
            ex = repo.get_exposure("deep_coadd", {"skymap": exp["skymap"], "tract": c["tract"], "patch": c["patch"],
                                                  "band": c["band"]})
            info = ex.info
            x0, y0 = info.xy0
            patch = tract.patch_from_sequential(c["patch"])
            ob = patch.outer_bbox
            assert ob[0] <= x0 and x0 + info.shape[1] <= ob[0] + ob[2]
            assert ob[1] <= y0 and y0 + info.shape[0] <= ob[1] + ob[3]
            # positions agree with the skymap's own tract WCS: the frame shift is right
            xs = np.array([x0, x0 + info.shape[1] - 1.0])
            ys = np.array([y0, y0 + info.shape[0] - 1.0])
            ra, dec = info.pixel_to_sky(xs, ys)
            tra, tdec = tract.pixel_to_sky(xs, ys)
            assert np.max(_sep_arcsec(ra, dec, tra, tdec)) < 0.01
            if name == "dp2":
                cells = info.cells
                assert info.kind == "CellCoadd" and cells is not None
                assert cells.skymap == "lsst_cells_v2" and cells.tract == c["tract"] and cells.patch == c["patch"]
                assert cells.cell_shape == (150, 150)
                assert cells.grid_origin == (ob[0], ob[1])
                assert (x0 - ob[0]) % 150 == 0 and (y0 - ob[1]) % 150 == 0
                assert len(cells.psfs) + len(cells.missing) == cells.num_cells[0] * cells.num_cells[1]
                nod = 1 << info.mask_planes["NO_DATA"]
                for i, j in cells.missing:  # a missing cell has no data anywhere
                    bx, by, bw, bh = cells.cell_bbox(i, j)
                    block = ex.mask[by - y0:by - y0 + bh, bx - x0:bx - x0 + bw]
                    assert np.all(block & nod)
    finally:
        repo.close()


def test_catalogs_in_degrees_and_njy(release):
    name, root, manifest = release
    exp = EXPECT[name]
    repo = open_repo(str(root))
    try:
        tract = manifest["tracts"][0]
        obj = repo.get_catalog("object", {"skymap": exp["skymap"], "tract": tract})
        assert len(obj) == manifest["object_rows"] > 0
        t = skymap_by_name(exp["skymap"]).tract(tract)
        assert np.all(t.contains(obj["coord_ra"].to_numpy(), obj["coord_dec"].to_numpy()))
        units = obj.attrs.get("units", {})
        assert units.get("coord_ra") == "deg" and units.get("coord_dec") == "deg"
        for b in ("g", "r", "i"):
            flux = obj[f"{b}_psfFlux"].to_numpy()
            assert np.nanmedian(flux) > 0
            assert units.get(f"{b}_psfFlux") == "nJy"
        v = manifest["visits"][0]["id"]
        src_visit = next(i["visit"] for i in manifest["visit_images"])
        src = repo.get_catalog("source", {"instrument": exp["instrument"], "visit": src_visit})
        assert {"coord_ra", "coord_dec", "psfFlux", "visit", "detector"} <= set(src.columns)
        assert src.attrs.get("units", {}).get("psfFlux") == "nJy"
        assert set(src["visit"]) == {src_visit} and v > 2_000_000_000_000
        assert np.all(np.abs(src["coord_dec"]) <= 90)
    finally:
        repo.close()


def test_default_page_has_a_picture(release):
    from explorer.state import ExplorerState

    name, root, _ = release
    st = ExplorerState(repo=str(root))
    ex = st.exposure()
    assert ex is not None and ex.dataset_type == "deep_coadd"
    frame = st.render_image(width=400, height=400)
    assert frame.shape[0] > 0 and frame.shape[1] > 0
    st.image_kind = "calexp"
    ex = st.exposure()
    assert ex is not None and ex.dataset_type == "visit_image"


def test_release_argument_is_checked(tmp_path):
    with pytest.raises(SampleError, match="unknown release"):
        make_sample(tmp_path / "x", release="dp9")
    with pytest.raises(SampleError, match="Gen3"):
        make_sample(tmp_path / "y", release="dp1", layout="gen2")


def test_difference_images_and_templates(release):
    """difference_image: sources cancel, what is left is noise as the variance plane says;
    template_coadd: in the same cells tract frame as deep_coadd."""
    name, root, manifest = release
    exp = EXPECT[name]
    repo = open_repo(str(root))
    try:
        ids = repo.query_data_ids("difference_image")
        assert len(ids) >= 2
        for d in ids[:2]:
            key = {k: d[k] for k in ("instrument", "visit", "detector")}
            diff = repo.get_exposure("difference_image", key)
            sci = repo.get_exposure("visit_image", key)
            assert diff.info.shape == sci.info.shape and diff.info.xy0 == sci.info.xy0
            if name == "dp2":
                assert diff.info.kind == "DifferenceImage" and diff.info.sky_exact
            good = np.isfinite(diff.image) & np.isfinite(diff.variance) & (diff.variance > 0)
            z = diff.image[good] / np.sqrt(diff.variance[good])
            robust = 1.4826 * np.median(np.abs(z - np.median(z)))
            assert 0.8 < robust < 1.2 and abs(np.median(z)) < 0.1
            # sources cancel: where the science image is > 20 sigma, the difference is mostly noise
            # (cosmic rays, saturated and interpolated pixels differ between realisations: left out)
            flagged = 0
            for plane in ("CR", "SAT", "INTRP", "BAD", "SUSPECT", "NO_DATA", "EDGE"):
                flagged |= 1 << sci.info.mask_planes[plane]
            with np.errstate(invalid="ignore", divide="ignore"):
                bright = good & (sci.image / np.sqrt(sci.variance) > 20) & ((sci.mask & flagged) == 0)
            assert bright.sum() > 20
            assert np.median(np.abs(diff.image[bright] / np.sqrt(diff.variance[bright]))) < 3
        templates = repo.query_data_ids("template_coadd")
        assert templates
        t = templates[0]
        tmpl = repo.get_exposure("template_coadd", {k: t[k] for k in ("skymap", "tract", "patch", "band")})
        deep = repo.get_exposure("deep_coadd", {k: t[k] for k in ("skymap", "tract", "patch", "band")})
        assert tmpl.info.xy0 == deep.info.xy0 and tmpl.info.shape == deep.info.shape
        assert exp["coadd_sc"] != "CellCoadd" or tmpl.info.kind == "CellCoadd"
        # deeper: less noise than the deep coadd
        assert np.nanmedian(tmpl.variance) < np.nanmedian(deep.variance)
    finally:
        repo.close()
