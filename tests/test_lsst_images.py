"""Files written by lsst-images itself (../shared/lsst-images) and afw's AST SkyWcs, read by the explorer.

Every number compared here comes from ``expected.json``, which records what lsst.images put in
each file and what lsst.images itself computes (pixel_to_sky, probe values); the readers under
test are :mod:`explorer.repo.lsst_images` (through lsst.images' API) and :mod:`explorer.repo.fits`.
"""
from __future__ import annotations

import json
import math
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from explorer.repo import access
from explorer.repo import fits as F
from explorer.repo.ast_wcs import AstSkyMapping

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
IMAGES = SHARED / "lsst-images"
REAL = SHARED / "lsst-real"
EXPECTED = json.loads((IMAGES / "expected.json").read_text()) if (IMAGES / "expected.json").exists() else {}

needs_images = pytest.mark.skipif(not EXPECTED, reason="../shared/lsst-images is absent")
FILES = sorted(EXPECTED)


def _sep_arcsec(ra1, dec1, ra2, dec2) -> float:
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))  # haversine: exact for tiny angles
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return float(np.degrees(2 * np.arcsin(np.sqrt(h))) * 3600)


def _combined_bits(expected_bits: dict) -> dict[str, int]:
    """The model's bit numbering: HDU k's bits follow the highest bit of HDU k-1."""
    offsets, top = {}, {}
    for v in expected_bits.values():
        top[v["hdu"]] = max(top.get(v["hdu"], -1), v["bit"])
    run = 0
    for hdu in sorted(top):
        offsets[hdu] = run
        run += top[hdu] + 1
    return {name: offsets[v["hdu"]] + v["bit"] for name, v in expected_bits.items()}


@needs_images
@pytest.mark.parametrize("name", FILES)
def test_geometry_and_mask_schema(name):
    exp = EXPECTED[name]
    info = F.read_exposure_info(IMAGES / name)
    assert info.format == "lsst.images"
    assert info.kind == exp["class"]
    assert list(info.shape) == exp["shape"]
    assert list(info.xy0) == exp["xy0"]
    assert info.planes == ["image", "mask", "variance"]
    assert info.units.get("image") == exp["unit"]
    # every plane of every MASK HDU, in the file's order, with its description
    assert [p.name for p in info.mask_schema] == exp["mask"]["planes"]
    assert len(info.mask_hdus) == exp["mask"]["n_mask_hdus"]
    for p in info.mask_schema:
        fb = exp["mask"]["fits_bits"][p.name]
        assert (p.hdu, p.hdu_bit) == (fb["hdu"], fb["bit"])
        assert p.description
    assert info.mask_planes == _combined_bits(exp["mask"]["fits_bits"])


@needs_images
@pytest.mark.parametrize("name", FILES)
def test_pixels_and_every_mask_rectangle(name):
    exp = EXPECTED[name]
    ex = access.open_exposure(IMAGES / name)
    info = ex.info
    x0, y0 = info.xy0
    probe = exp["probe"]
    ix, iy = probe["x"] - x0, probe["y"] - y0
    assert float(ex.image[iy, ix]) == pytest.approx(probe["image"], rel=1e-6)
    assert float(ex.variance[iy, ix]) == pytest.approx(probe["variance"], rel=1e-6)
    assert sorted(info.decode_mask(ex.mask[iy, ix])) == sorted(probe["mask_planes"])
    mask = ex.mask
    as_read = F.read_plane(IMAGES / name, "mask", info)
    assert as_read.dtype == (np.int64 if max(info.mask_planes.values()) >= 31 else np.int32)
    # the cache holds it in the narrowest type that keeps every value
    assert mask.dtype.itemsize <= as_read.dtype.itemsize and np.array_equal(mask, as_read)
    for plane, boxes in exp["mask"]["set"].items():
        bit = np.int64(1 << info.mask_planes[plane])
        want = np.zeros(mask.shape, bool)
        for bx0, by0, bx1, by1 in boxes:  # inclusive-exclusive parent pixel rectangles
            want[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0] = True
        got = (mask & bit) != 0
        assert np.array_equal(got, want), plane
    for plane in exp["mask"]["planes"]:
        if plane not in exp["mask"]["set"]:
            assert not np.any(mask & np.int64(1 << info.mask_planes[plane])), plane


@needs_images
@pytest.mark.parametrize("name", FILES)
def test_exact_sky_positions(name):
    exp = EXPECTED[name]
    info = F.read_exposure_info(IMAGES / name)
    assert info.sky_exact and info.has_sky
    pts = exp["sky"] + [dict(x=exp["probe"]["x"], y=exp["probe"]["y"], ra_deg=exp["probe"]["ra_deg"],
                             dec_deg=exp["probe"]["dec_deg"])]
    xs = np.array([p["x"] for p in pts], float)
    ys = np.array([p["y"] for p in pts], float)
    ra, dec = info.pixel_to_sky(xs, ys)  # one vectorised call
    for k, p in enumerate(pts):
        assert _sep_arcsec(ra[k], dec[k], p["ra_deg"], p["dec_deg"]) < 0.01
    bx, by = info.sky_to_pixel([p["ra_deg"] for p in pts], [p["dec_deg"] for p in pts])
    assert np.allclose(bx, xs, atol=1e-4) and np.allclose(by, ys, atol=1e-4)
    c = info.center_sky()
    assert c is not None and all(math.isfinite(v) for v in c)


@needs_images
@pytest.mark.parametrize("name", FILES)
def test_calibration_band_visit_psf(name):
    exp = EXPECTED[name]
    info = F.read_exposure_info(IMAGES / name)
    if "zero_point_mag" in exp:
        assert info.zero_point_mag == pytest.approx(exp["zero_point_mag"], abs=1e-6)
    if "photometric_scaling_nJy_per_electron" in exp:
        assert info.photo_calib["mean"] == pytest.approx(exp["photometric_scaling_nJy_per_electron"])
        # DESIGN.md's formula, -2.5 log10(scaling * 1e-9 / 3631); the writer's summary used 31.4 for
        # 2.5 log10(3631e9), so the two agree to 1e-4 mag only
        scaling = exp["photometric_scaling_nJy_per_electron"]
        assert info.photo_calib["zero_point_instrumental"] == pytest.approx(-2.5 * math.log10(scaling * 1e-9 / 3631))
        zero_point = info.photo_calib["zero_point_instrumental"]
        assert zero_point == pytest.approx(exp["instrumental_zero_point_mag"], abs=1e-4)
    if "summary_stats_zeroPoint" in exp:
        assert info.summary_stats["zeroPoint"] == pytest.approx(exp["summary_stats_zeroPoint"])
    if "band" in exp:
        assert info.filter_label["band"] == exp["band"]
    if "physical_filter" in exp:
        assert info.filter_label["physical"] == exp["physical_filter"]
    if "visit" in exp:
        assert info.visit_info["visit"] == exp["visit"]
        assert info.visit_info["exposure_time"] > 0
        assert info.visit_info["date"].startswith("20")
        assert "boresight_ra" in info.visit_info
    if "detector" in exp:
        assert info.detector["id"] == exp["detector"]
    if "psf" in exp:
        psf = info.psf
        assert psf is not None and psf.image is not None
        assert psf.sigma_pixels == pytest.approx(exp["psf"]["sigma_pix"])
        assert psf.image.array.shape == (exp["psf"]["stamp_size"],) * 2
        assert psf.image.array.sum() == pytest.approx(1.0, abs=1e-6)
        # FWHM from sigma and the exact pixel scale (0.2"/px)
        assert psf.fwhm_arcsec == pytest.approx(exp["psf"]["sigma_pix"] * 2.3548 * 0.2, rel=1e-3)


@needs_images
def test_cell_coadd_grid_missing_cells_and_cell_psfs():
    exp = EXPECTED["cell_coadd.fits"]
    info = F.read_exposure_info(IMAGES / "cell_coadd.fits")
    cells = info.cells
    assert cells is not None
    assert list(cells.cell_shape) == exp["cell_shape"]
    assert cells.tract == exp["tract"] and cells.patch == exp["patch"]
    assert cells.skymap == "lsst_cells_v2"
    assert [list(c) for c in cells.missing] == exp["missing_cells"]
    # The cells cover the image exactly, and the missing cell is where NO_DATA is set.
    covered = cells.cells()
    x0s = {cells.cell_bbox(i, j)[0] for i, j in covered}
    y0s = {cells.cell_bbox(i, j)[1] for i, j in covered}
    assert min(x0s) == info.xy0[0] and min(y0s) == info.xy0[1]
    assert max(x0s) + cells.cell_shape[1] == info.xy0[0] + info.shape[1]
    assert max(y0s) + cells.cell_shape[0] == info.xy0[1] + info.shape[0]
    (mi, mj), = cells.missing
    bx, by, bw, bh = cells.cell_bbox(mi, mj)
    assert [bx, by, bx + bw, by + bh] == exp["mask"]["set"]["NO_DATA"][0]
    # one PSF image per present cell, none for the missing one
    assert len(cells.psfs) == len(covered) - 1
    assert cells.psf(mi, mj) is None
    for p in cells.psfs:
        assert p.array.ndim == 2 and p.array.sum() == pytest.approx(1.0, rel=1e-3)
    px, py = exp["probe"]["x"], exp["probe"]["y"]
    assert cells.cell_of(px, py) in covered


@needs_images
def test_second_mask_hdu_combined_bits_past_31():
    info = F.read_exposure_info(IMAGES / "masked_image_36planes.fits")
    assert info.mask_planes["EXTRA21"] == 30 and info.mask_planes["EXTRA22"] == 31
    assert info.mask_planes["STREAK"] == 35
    mask = access.open_exposure(IMAGES / "masked_image_36planes.fits").mask
    streak = (mask >> 35) & 1
    assert streak.sum() == 160  # one full row of the 160-pixel-wide image (EXPECTED: -50..110 x 135..136)


@needs_images
def test_cli_exposure_json_on_lsst_images(capsys):
    from explorer.cli import main

    exp = EXPECTED["visit_image_tan.fits"]
    p = exp["sky"][2]
    assert main(["exposure", str(IMAGES / "visit_image_tan.fits"), "--pixel", str(p["x"]), str(p["y"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shape"] == exp["shape"] and out["xy0"] == exp["xy0"]
    assert out["mask_planes"] == {k: v["bit"] for k, v in exp["mask"]["fits_bits"].items()}
    assert _sep_arcsec(out["sky"][0], out["sky"][1], p["ra_deg"], p["dec_deg"]) < 0.01
    assert out["zero_point_mag"] == pytest.approx(exp["zero_point_mag"])
    assert out["visit_info"]["visit"] == exp["visit"]
    assert out["on_disk"] is True and out["metadata_cards"] > 0


# ----- afw's AST SkyWcs ------------------------------------------------------------------------
V2 = REAL / "lsst_afw" / "tests" / "data" / "exposure-version-2.fits"
needs_real = pytest.mark.skipif(not V2.exists(), reason="../shared/lsst-real is absent")


@needs_real
def test_afw_skywcs_ast_matches_header_tan():
    info = F.read_exposure_info(V2)
    assert info.sky is not None and info.sky_exact
    # TAN at CRVAL (30, 40), CRPIX 5 (1-based) -> parent pixel (4, 4) with xy0 = (0, 0)
    ra, dec = info.pixel_to_sky(4.0, 4.0)
    assert _sep_arcsec(ra, dec, 30.0, 40.0) < 1e-6
    xs, ys = np.meshgrid(np.arange(10.0), np.arange(10.0))
    ra, dec = info.sky.pixel_to_sky(xs, ys)
    ra2, dec2 = info.wcs.all_pix2world(xs, ys, 0)
    assert max(_sep_arcsec(a, b, c, d) for a, b, c, d in zip(ra.ravel(), dec.ravel(), ra2.ravel(), dec2.ravel())) < 1e-6


@needs_real
def test_ast_only_skywcs_still_has_exact_sky(tmp_path):
    """An afw exposure whose WCS is in the archive only (no FITS cards): positions still exact."""
    from astropy.io import fits

    src = F.read_exposure_info(V2)
    dst = tmp_path / "ast-only.fits"
    shutil.copy(V2, dst)
    with fits.open(dst, mode="update") as hdul:
        for hdu in hdul[:4]:
            for key in [k for k in hdu.header if k[:5] in ("CTYPE", "CRVAL", "CRPIX", "CD1_1", "CD1_2", "CD2_1",
                                                           "CD2_2", "RADES", "WCSAX", "EQUIN")
                        and not k.endswith("A")]:
                del hdu.header[key]
    assert F.make_wcs(fits.getheader(dst, 1), fits.getheader(dst, 0)) is None  # really no FITS WCS left
    info = F.read_exposure_info(dst)
    assert info.sky is not None
    xs, ys = np.array([0.0, 9.0, 4.0]), np.array([0.0, 9.0, 4.0])
    ra, dec = info.pixel_to_sky(xs, ys)
    ra0, dec0 = src.pixel_to_sky(xs, ys)
    assert max(_sep_arcsec(*v) for v in zip(ra, dec, ra0, dec0)) < 1e-6
    assert info.wcs is not None  # a fitted approximation for code that wants an astropy WCS
    assert info.center_sky() is not None


@needs_real
def test_ast_mapping_pickles_and_vectorises():
    info = F.read_exposure_info(V2)
    m = pickle.loads(pickle.dumps(info.sky))
    assert isinstance(m, AstSkyMapping)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 9, 100_000), rng.uniform(0, 9, 100_000)
    ra, dec = m.pixel_to_sky(x, y)
    assert ra.shape == (100_000,) and np.all(np.isfinite(ra))
    bx, by = m.sky_to_pixel(ra, dec)
    assert np.allclose(bx, x, atol=1e-6) and np.allclose(by, y, atol=1e-6)


@needs_real
def test_afw_mask_planes_get_descriptions():
    info = F.read_exposure_info(V2)
    desc = info.mask_descriptions()
    assert set(info.mask_planes) == {p.name for p in info.mask_schema}
    assert "cosmic ray" in desc["CR"] and "saturated" in desc["SAT"]


def _write_distorted_masked_image(path, k=3e-11):
    """A MaskedImage whose projection is not a FITS WCS (a cubic distortion before TAN), written by
    lsst.images with the TAN part as its FITS approximation; returns lsst.images' own projection."""
    import astropy.units as u
    import astropy.wcs
    from lsst.images import (Box, DetectorFrame, Image, Mask, MaskedImage, MaskPlane, MaskSchema, SkyFrame,
                             SkyProjection, Transform)
    from lsst.images._transforms import _ast as ast  # lsst.images' AST bridge (no public PolyMap)

    det_box = Box.factory[0:4000, 0:4072]
    frame = DetectorFrame(instrument="LSSTCam", visit=1, detector=94, bbox=det_box)
    hdr = {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRPIX1": 2036.5, "CRPIX2": 2000.5, "CRVAL1": 53.1,
           "CRVAL2": -28.1, "CD1_1": -0.2 / 3600, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 0.2 / 3600}
    tan = Transform.from_fits_wcs(astropy.wcs.WCS(hdr), frame, SkyFrame.ICRS, in_bounds=det_box)
    coeff = np.array([[1.0, 1, 1, 0], [k, 1, 3, 0], [k, 1, 1, 2], [1.0, 2, 0, 1], [k, 2, 0, 3], [k, 2, 2, 1]])
    shift = ast.ShiftMap([-2035.5, -1999.5])
    dist = ast.CmpMap(ast.CmpMap(shift, ast.PolyMap(coeff, 2, "IterInverse=1"), True), shift.inverted(), True)
    exact = Transform(frame, frame, dist, det_box, det_box).then(tan)
    proj = SkyProjection(exact, fits_approximation=tan)
    img = Image(np.zeros((100, 120), np.float32), yx0=(50, 30), unit=u.nJy, sky_projection=proj)
    var = Image(np.ones((100, 120), np.float32), yx0=(50, 30), unit=u.nJy ** 2)
    mask = Mask(0, schema=MaskSchema([MaskPlane("BAD", "bad")]), bbox=img.bbox)
    MaskedImage(img, mask=mask, variance=var).write(str(path))
    return proj


def test_non_fits_projection_is_exact_and_the_header_only_approximate(tmp_path):
    from lsst.images import XY

    path = tmp_path / "distorted.fits"
    proj = _write_distorted_masked_image(path)
    info = F.read_exposure_info(path)
    assert info.sky_exact
    xs = np.array([30.0, 149.0, 90.0, 100.5])
    ys = np.array([50.0, 149.0, 100.0, 120.25])
    truth = proj.pixel_to_sky(XY(xs, ys))  # lsst.images' own answer
    ra, dec = info.pixel_to_sky(xs, ys)
    assert max(_sep_arcsec(*v) for v in zip(ra, dec, truth.ra.deg, truth.dec.deg)) < 0.01
    # the header's FITS WCS is the approximation, measurably off: the reader must not use it
    ra2, dec2 = info.wcs.all_pix2world(xs - info.xy0[0], ys - info.xy0[1], 0)
    assert max(_sep_arcsec(*v) for v in zip(ra2, dec2, truth.ra.deg, truth.dec.deg)) > 0.05
    bx, by = info.sky_to_pixel(truth.ra.deg, truth.dec.deg)
    assert np.allclose(bx, xs, atol=1e-3) and np.allclose(by, ys, atol=1e-3)


EXAMPLE = REAL / "lsst_obs_test" / "data" / "calexpMetadataObjectsTest" / "example-calexp.fits.gz"


@pytest.mark.skipif(not EXAMPLE.exists(), reason="../shared/lsst-real is absent")
def test_afw_gaussian_psf_gives_an_image():
    info = F.read_exposure_info(EXAMPLE)
    psf = info.psf
    assert psf.kind == "GaussianPsf" and psf.image is not None
    assert psf.image.array.shape == (psf.params["dimensions_y"], psf.params["dimensions_x"])
    assert psf.image.array.sum() == pytest.approx(1.0)
    from explorer.repo.lsst_images import moment_sigma

    assert moment_sigma(psf.image.array) == pytest.approx(psf.sigma_pixels, rel=0.05)


@needs_real
def test_garbled_skywcs_row_falls_back_to_the_header(tmp_path):
    """A SkyWcs archive row that is not AST text costs the exact mapping, not the exposure."""
    raw = bytearray(V2.read_bytes())
    start = raw.index(b"Begin FrameSet")  # the AST text lives in the SkyWcs row's heap: garble it in place
    junk = b"\n Begin Nonsense\n ??? = ]]]\n" * 40
    raw[start:start + len(junk)] = junk
    dst = tmp_path / "garbled.fits"
    dst.write_bytes(bytes(raw))
    info = F.read_exposure_info(dst)
    assert info.sky is None and not info.sky_exact
    assert info.wcs is not None and info.has_sky
    ra, dec = info.pixel_to_sky(4.0, 4.0)
    assert _sep_arcsec(ra, dec, 30.0, 40.0) < 1e-6


@needs_images
def test_corrupt_json_tree_is_a_clear_error(tmp_path):
    from astropy.io import fits

    from explorer.errors import ExplorerError

    src = IMAGES / "visit_image_tan.fits"
    raw = bytearray(src.read_bytes())
    addr = int(fits.getheader(src, 0)["JSONADDR"])
    start = raw.index(b'{"', addr)  # the JSON document in the tree HDU's heap
    raw[start:start + 64] = b"#" * 64
    dst = tmp_path / "corrupt-tree.fits"
    dst.write_bytes(bytes(raw))
    with pytest.raises(ExplorerError, match="corrupt-tree.fits") as err:
        F.read_exposure_info(dst)
    assert "\n" not in str(err.value)


@needs_images
def test_planes_past_bit_31_reach_the_rendered_frame():
    """The 36th plane (bit 35, in the second MASK HDU) survives binning and screen rendering."""
    from explorer.render.raster import render_plane

    ex = access.open_exposure(IMAGES / "masked_image_36planes.fits")
    info = ex.info
    planes = {"image": ex.image, "mask": ex.mask}
    for width in (160, 40):  # full resolution, and a binned level
        frame = render_plane(planes, info.xy0, "mask", None, "linear", info.mask_planes, ["STREAK"],
                             width=width, height=width * 3 // 4, binned=ex.binned)
        streak = (frame.mask_bits >> info.mask_planes["STREAK"]) & 1
        assert streak.any() and streak.sum() <= width  # one row of the image: at most one row of cells


def test_catalog_positions_use_the_exact_mapping(tmp_path):
    """Sources drawn on the image are placed through the exact projection, not its FITS approximation."""
    from lsst.images import XY

    from explorer.compute.sources import sky_to_pixel

    proj = _write_distorted_masked_image(tmp_path / "distorted.fits")
    info = F.read_exposure_info(tmp_path / "distorted.fits")
    xs = np.array([31.0, 148.0, 90.25, 100.5])
    ys = np.array([51.0, 148.0, 100.0, 120.75])
    truth = proj.pixel_to_sky(XY(xs, ys))
    px, py = sky_to_pixel(info, truth.ra.deg, truth.dec.deg)
    assert np.allclose(px, xs, atol=1e-3) and np.allclose(py, ys, atol=1e-3)


def test_an_afw_header_wcs_without_an_archived_skywcs_is_exact(write_afw_exposure, tmp_path):
    """An afw file that stores no SkyWcs in its archive has only its header WCS: afw reads that
    WCS, so positions from it are exact and the readout must not say "approx."."""
    tan = {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRPIX1": 5.0, "CRPIX2": 5.0, "CRVAL1": 30.0,
           "CRVAL2": 40.0, "CD1_1": -5.5e-5, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 5.5e-5}
    image = np.zeros((8, 8), np.float32)
    path = write_afw_exposure(tmp_path / "plain.fits", image, np.zeros((8, 8), np.int32), image + 1,
                              primary_cards=tan)
    info = F.read_exposure_info(path)
    assert info.sky is None and info.wcs is not None
    assert info.sky_exact
