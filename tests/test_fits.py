"""explorer.repo.fits against real afw-written exposures (facts from ../shared/lsst-real/README.md,
checked independently with astropy here) and against broken files made in tmp_path."""
from __future__ import annotations

import gzip
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from explorer.repo import amp_assembly, fitsio, fits as F
from explorer.repo.errors import BadFileError, ExplorerError

AFW = Path("lsst_afw") / "tests" / "data"
IMSIM = Path("lsst_obs_lsst") / "tests" / "data" / "input" / "imsim"


def _astropy_scaled(path: Path, hdu: int) -> np.ndarray:
    """Pixel values as astropy itself scales them (BZERO applied): the independent truth."""
    with fits.open(path) as h:
        return np.array(h[hdu].data)


# ------------------------------------------------------------------------------------------------
# real files
# ------------------------------------------------------------------------------------------------
@pytest.mark.real
def test_hsc_cutout_layout_xy0_and_uint16_mask(real_dir):
    path = real_dir / AFW / "HSC-0908120-056-small.fits"
    info = F.read_exposure_info(path)
    assert info.shape == (200, 200)
    assert info.xy0 == (100, 100)
    assert info.plane_hdus == {"image": 1, "mask": 2, "variance": 3}
    assert info.mask_planes == {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5,
                                "DETECTED_NEGATIVE": 6, "SUSPECT": 7, "CROSSTALK": 8, "NO_DATA": 9,
                                "UNMASKEDNAN": 10}
    assert info.plane_dtypes == {"image": "float32", "mask": "int32", "variance": "float32"}
    assert info.zero_point_mag is None  # FLUXMAG0 = 0 means "not set"
    assert [r["name"] for r in info.archive] == ["TanWcs", "TanWcs"]
    assert [r["hdu"] for r in info.archive] == [5, 6]  # AR_HDU=5 is 1-based: index at 4, data after it
    mask = F.read_plane(path, "mask", info)
    assert mask.dtype == np.int32 and mask.dtype.isnative
    np.testing.assert_array_equal(mask, _astropy_scaled(path, 2).astype(np.int32))
    assert mask.max() > 0  # DETECTED pixels exist: the BZERO offset really was applied
    image = F.read_plane(path, "image", info)
    assert image.dtype == np.float32 and image.dtype.isnative
    np.testing.assert_array_equal(image, _astropy_scaled(path, 1))


@pytest.mark.real
def test_hsc_cutout_pixel_to_sky_matches_afw_archive_wcs(real_dir):
    """afw's own TanWcs (archive rows: crpix 0-based in the *parent* frame, SIP matrices) evaluated
    at parent pixels must equal ExposureInfo.pixel_to_sky built from the FITS header WCS."""
    path = real_dir / AFW / "HSC-0908120-056-small.fits"
    info = F.read_exposure_info(path)
    with fits.open(path) as h:
        tan, sip = h[5].data[0], h[6].data[0]
    hdr = fits.Header()
    hdr["NAXIS"] = 2
    hdr["CTYPE1"], hdr["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    hdr["CRVAL1"], hdr["CRVAL2"] = (float(v) for v in tan["crval"])
    hdr["CRPIX1"], hdr["CRPIX2"] = (float(v) + 1 for v in tan["crpix"])  # afw 0-based -> FITS 1-based
    cd = tan["cd"]  # Eigen column-major 2x2
    hdr["CD1_1"], hdr["CD2_1"], hdr["CD1_2"], hdr["CD2_2"] = (float(v) for v in cd)
    a = np.array(sip["A"]).reshape(4, 4, order="F")
    b = np.array(sip["B"]).reshape(4, 4, order="F")
    hdr["A_ORDER"] = hdr["B_ORDER"] = 3
    for p in range(4):
        for q in range(4):
            if a[p, q]:
                hdr[f"A_{p}_{q}"] = float(a[p, q])
            if b[p, q]:
                hdr[f"B_{p}_{q}"] = float(b[p, q])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        afw_wcs = WCS(hdr)
    xs = np.array([100.0, 150.5, 299.0, 100.0, 250.0])
    ys = np.array([100.0, 200.0, 299.0, 299.0, 120.25])
    ra, dec = info.pixel_to_sky(xs, ys)
    ra_afw, dec_afw = afw_wcs.all_pix2world(xs, ys, 0)
    sep = np.hypot((ra - ra_afw) * np.cos(np.radians(dec)), dec - dec_afw) * 3600
    assert sep.max() < 1e-6  # arcsec
    # and the FITS convention: local FITS pixel (1, 1) is parent pixel xy0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header_wcs = WCS(fits.getheader(path, 1))
    r0, d0 = header_wcs.all_pix2world(1.0, 1.0, 1)
    r1, d1 = info.pixel_to_sky(100, 100)
    assert abs(float(r1) - float(r0)) < 1e-10 and abs(float(d1) - float(d0)) < 1e-10
    assert info.wcs.sip is not None
    # round trip through sky_to_pixel
    x2, y2 = info.sky_to_pixel(ra, dec)
    np.testing.assert_allclose(x2, xs, atol=1e-6)
    np.testing.assert_allclose(y2, ys, atol=1e-6)


@pytest.mark.real
def test_example_calexp_fluxmag0_psf_visit_info_gz(real_dir):
    path = real_dir / "lsst_obs_test" / "data" / "calexpMetadataObjectsTest" / "example-calexp.fits.gz"
    info = F.read_exposure_info(path)
    assert info.zero_point_mag == pytest.approx(2.5 * math.log10(1722367118085.0), abs=1e-12)
    assert info.photo_calib["mean"] == pytest.approx(3631e9 / 1722367118085.0)
    assert info.compressed  # whole-file gzip
    assert info.shape == (4, 8)
    assert info.mask_planes["CROSSTALK"] == 9 and info.mask_planes["NO_DATA"] == 8
    assert info.mask_planes["UNMASKEDNAN"] == 10
    assert info.filter_label == {"band": "i", "physical": None}
    assert info.detector["name"] == "0_30"
    assert info.psf.kind == "GaussianPsf" and info.psf.sigma_pixels == 1.5
    scale = float(np.sqrt(abs(np.linalg.det(info.wcs.pixel_scale_matrix)))) * 3600
    assert info.psf.fwhm_arcsec == pytest.approx(1.5 * 2.3548200450309493 * scale, rel=0.01)
    vi = info.visit_info
    assert vi["exposure_time"] == 30.0
    assert vi["boresight_ra"] == pytest.approx(320.2499375)
    assert vi["boresight_az"] == pytest.approx(195.48948491)
    assert vi["date"] == "2013-11-02T05:19:17.875517011" and vi["time_system"] == "TAI"
    assert vi["instrument"] == "Hyper Suprime-Cam"
    assert info.metadata["FLUXMAG0"] == 1722367118085.0
    assert isinstance(info.metadata["BGMEAN"], list) and len(info.metadata["BGMEAN"]) == 4  # repeated card
    mask = F.read_plane(path, "mask", info)
    np.testing.assert_array_equal(mask, _astropy_scaled(path, 2).astype(np.int32))
    assert info.wcs.wcs.ctype[0] == "RA---TAN-SIP"


@pytest.mark.real
def test_exposure_version_2_photocalib_filterlabel_visitinfo(real_dir):
    info = F.read_exposure_info(real_dir / AFW / "exposure-version-2.fits")
    assert info.zero_point_mag == pytest.approx(-2.5 * math.log10(1e6 * 1e-9 / 3631), abs=1e-12)
    assert info.photo_calib == {"mean": 1e6, "err": 2e4}
    assert info.filter_label == {"band": "N656", "physical": "ha"}
    assert info.detector["id"] == 1 and info.detector["name"] == "detector 1"
    assert info.detector["serial"] == "xkcd722"
    vi = info.visit_info
    assert vi["exposure_time"] == 30.0 and vi["dark_time"] == 600.0
    assert vi["boresight_ra"] == 30.0 and vi["boresight_dec"] == 40.0
    assert vi["exposure_id"] == 12345 and vi["date"] == "2020-01-20T12:34:56.000000000"
    assert vi["observatory_elevation"] == 2000.0
    assert info.mask_planes["NO_DATA"] == 8 and "CROSSTALK" not in info.mask_planes
    assert info.plane_dtypes["mask"] == "int32"
    # CRPIX = 5 (FITS, 1-based) is LSST pixel 4: the centre of the TAN projection
    ra, dec = info.pixel_to_sky(4, 4)
    assert float(ra) == pytest.approx(30.0, abs=1e-12) and float(dec) == pytest.approx(40.0, abs=1e-12)
    names = {r["name"] for r in info.archive}
    assert {"SkyWcs", "PhotoCalib", "Detector", "FilterLabel"} <= names


@pytest.mark.real
def test_older_calibration_forms(real_dir):
    v1 = F.read_exposure_info(real_dir / AFW / "exposure-version-1.fits")
    assert v1.zero_point_mag == pytest.approx(-2.5 * math.log10(1e6 * 1e-9 / 3631))
    assert v1.filter_label == {"band": None, "physical": "ha"}  # FILTER card, no FilterLabel yet
    nov = F.read_exposure_info(real_dir / AFW / "exposure-noversion.fits")
    assert nov.zero_point_mag == pytest.approx(15.0)  # FLUXMAG0 = 1e6
    assert nov.visit_info["mjd_obs"] == pytest.approx(51544.4992571308)  # from the image HDU


@pytest.mark.real
def test_parent_fits_image_in_primary(real_dir):
    path = real_dir / AFW / "parent.fits"
    info = F.read_exposure_info(path)
    assert info.plane_hdus == {"image": 0, "mask": 1, "variance": 2}
    assert info.shape == (256, 256)
    assert info.mask_planes == {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5,
                                "DETECTED_NEGATIVE": 6}
    assert info.archive == []
    ra, dec = info.pixel_to_sky(127, 127)  # CRPIX 128 (1-based)
    assert float(ra) == pytest.approx(45.0) and float(dec) == pytest.approx(45.0)
    np.testing.assert_array_equal(F.read_plane(path, "mask", info), _astropy_scaled(path, 1).astype(np.int32))
    np.testing.assert_array_equal(F.read_plane(path, "image", info), _astropy_scaled(path, 0))


@pytest.mark.real
def test_modern_extname_exposure_with_piff_psf(real_dir):
    info = F.read_exposure_info(real_dir / "lsst_meas_extensions_piff" / "tests" / "data" / "exp.fits")
    assert info.shape == (301, 110)
    assert info.psf.kind == "PiffPsf" and info.psf.sigma_pixels is None
    assert info.photo_calib is None and info.zero_point_mag is None and info.filter_label is None
    assert set(info.mask_planes) == {"BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE",
                                     "SUSPECT", "NO_DATA"}


@pytest.mark.real
def test_coadd_xy0_and_wcs_offset(real_dir):
    info = F.read_exposure_info(real_dir / "lsst_pipe_tasks" / "tests" / "data" /
                                "testCoaddInputs_coadd_with_version_1_data.fits")
    assert info.xy0 == (100, 100) and info.shape == (10, 10)
    assert info.plane_dtypes["mask"] == "int32"
    # afw's TanWcs crpix is 5 (0-based parent); the header says CRPIX1 = -94 in the local frame
    ra, dec = info.pixel_to_sky(5, 5)
    assert float(ra) == pytest.approx(10.0, abs=1e-10) and float(dec) == pytest.approx(45.0, abs=1e-10)


@pytest.mark.real
def test_compressed_calib(real_dir):
    path = real_dir / IMSIM / "CALIB" / "flat" / "i_sim_1.4" / "2022-08-06" / \
        "flat_i_sim_1.4-R11-S20-det042_2022-08-06.fits"
    info = F.read_exposure_info(path)
    assert info.compressed
    assert info.shape == (4000, 4072)
    assert info.wcs is None
    assert info.mask_planes["CROSSTALK"] == 10 and info.mask_planes["UNMASKEDNAN"] == 9
    assert info.mask_planes["NO_DATA"] == 8
    assert info.detector == {"id": 42, "name": "R11_S20", "serial": "ITL-3800C-102-Dev"}
    assert info.filter_label == {"band": None, "physical": "i_sim_1.4"}
    assert info.visit_info["observation_type"] == "flat"
    mask = F.read_plane(path, "mask", info)
    assert mask.shape == (4000, 4072) and mask.dtype == np.int32 and mask.dtype.isnative


@pytest.mark.real
def test_multi_amp_raw_is_assembled(real_dir):
    path = real_dir / IMSIM / "raw" / "204595" / "R11" / "00204595-R11-S20-det042.fits"
    info = F.read_exposure_info(path)
    assert info.planes == ["image"]
    assert info.shape == (4000, 4072)  # 8 x 509 by 2 x 2000 data pixels per DETSEC
    assert info.visit_info["amplifiers"] == 16
    assert info.visit_info["exposure_time"] == 30.0
    assert info.filter_label == {"band": "i", "physical": None}
    # the fitted WCS agrees with every amplifier's own header WCS
    with fits.open(path) as h:
        for i in (1, 8, 9, 16):
            hdr = h[i].header
            data_sec, det_sec = amp_assembly.parse_section(hdr["DATASEC"]), amp_assembly.parse_section(hdr["DETSEC"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                amp_wcs = WCS(hdr)
            xd = np.linspace(min(det_sec[:2]), max(det_sec[:2]), 7)
            yd = np.linspace(min(det_sec[2:]), max(det_sec[2:]), 7)
            xa, ya = amp_assembly.det_to_amp(xd, yd, data_sec, det_sec)
            ra_amp, dec_amp = amp_wcs.all_pix2world(xa, ya, 1)
            ra, dec = info.pixel_to_sky(xd - 1, yd - 1)
            sep = np.hypot((ra - ra_amp) * np.cos(np.radians(dec)), dec - dec_amp) * 3600
            assert sep.max() < 0.5, sep.max()  # arcsec (0.2"/pixel)
    image = F.read_plane(path, "image", info)
    assert image.shape == (4000, 4072) and image.dtype == np.float32


def test_multi_amp_assembly_places_and_flips(tmp_path):
    """Two amplifiers side by side, the left one read out flipped in x (as imSim's DETSEC [509:1,..])."""
    amp0 = np.arange(4 * 6, dtype=np.int32).reshape(4, 6)  # 1 prescan column + 5 data columns
    amp1 = 1000 + np.arange(4 * 6, dtype=np.int32).reshape(4, 6)
    hdus = [fits.PrimaryHDU()]
    for data, det in ((amp0, "[5:1,1:4]"), (amp1, "[6:10,1:4]")):
        comp = fits.CompImageHDU(data)
        comp.header["EXTNAME"] = "Segment"
        comp.header["DATASEC"] = "[2:6,1:4]"
        comp.header["DETSEC"] = det
        hdus.append(comp)
    path = tmp_path / "raw.fits"
    fits.HDUList(hdus).writeto(path)
    info = F.read_exposure_info(path)
    assert info.shape == (4, 10) and info.planes == ["image"]
    image = F.read_plane(path, "image", info)
    np.testing.assert_array_equal(image[:, :5], amp0[:, 1:][:, ::-1])
    np.testing.assert_array_equal(image[:, 5:], amp1[:, 1:])


@pytest.mark.real
@pytest.mark.parametrize("name", ["ticketdm26260.fits", "ticketdm26260.fits.fz"])
def test_single_image_files(real_dir, name):
    path = real_dir / AFW / name
    info = F.read_exposure_info(path)
    assert info.planes == ["image"] and info.shape == (512, 512)
    assert info.mask_planes == {} and info.wcs is None
    image = F.read_plane(path, "image", info)
    other = F.read_plane(real_dir / AFW / "ticketdm26260.fits", "image")
    np.testing.assert_array_equal(image, other)  # the fpacked copy holds the same pixels
    assert image.max() == pytest.approx(64971.0)


@pytest.mark.real
def test_gzipped_simulator_raw_uint16(real_dir):
    path = real_dir / "lsst_obs_test" / "data" / "input" / "raw" / "raw_v1_fg.fits.gz"
    info = F.read_exposure_info(path)
    assert info.planes == ["image"] and info.shape == (2000, 1026)
    assert info.visit_info["exposure_time"] == 15.0
    assert info.visit_info["boresight_airmass"] == pytest.approx(1.34682439137302)
    assert info.filter_label == {"band": "g", "physical": None}
    image = F.read_plane(path, "image", info)
    np.testing.assert_array_equal(image, _astropy_scaled(path, 0).astype(np.float32))
    assert image.min() >= 0  # unsigned values, BZERO applied


@pytest.mark.real
@pytest.mark.parametrize("name", ["sourceCatalog-hsc-v2.fits", "photoCalib-version1.fits"])
def test_catalogs_are_not_exposures(real_dir, name):
    with pytest.raises(BadFileError, match="no image HDU"):
        F.read_exposure_info(real_dir / AFW / name)


# ------------------------------------------------------------------------------------------------
# broken and hostile files
# ------------------------------------------------------------------------------------------------
@pytest.mark.real
def test_truncated_real_file(real_dir, tmp_path):
    data = (real_dir / AFW / "HSC-0908120-056-small.fits").read_bytes()
    cut = tmp_path / "half.fits"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadFileError, match="half.fits.*truncated"):
        F.read_exposure_info(cut)


@pytest.mark.real
def test_truncated_gzip(real_dir, tmp_path):
    data = (real_dir / "lsst_obs_test" / "data" / "calexpMetadataObjectsTest" / "example-calexp.fits.gz").read_bytes()
    cut = tmp_path / "cut.fits.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadFileError, match="cut.fits.gz: truncated gzip"):
        F.read_exposure_info(cut)


def test_plane_data_cut_after_headers(tmp_path, write_afw_exposure):
    """Headers intact but pixels missing: the plane read must fail cleanly, not return garbage."""
    path = write_afw_exposure(tmp_path / "e.fits", np.ones((50, 60), np.float32),
                              np.zeros((50, 60), np.int32), np.ones((50, 60), np.float32))
    data = path.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[:-2880 * 2])
    with pytest.raises(BadFileError, match="cut.fits"):
        info = F.read_exposure_info(cut)
        F.read_plane(cut, "variance", info)


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"\x00\x01garbage" * 400, "not a FITS"),
    (b"SIMPLE  =                    T" + b" " * 50 + b"NAXIS = nonsense" * 200, "cut.fits|corrupt|truncated|no HDU"),
])
def test_garbage_and_empty(tmp_path, content, match):
    path = tmp_path / "cut.fits"
    path.write_bytes(content)
    with pytest.raises(BadFileError, match=match) as err:
        F.read_exposure_info(path)
    assert "\n" not in str(err.value)


def test_hostile_header_claiming_huge_image(tmp_path):
    """A header that claims a 10^5 x 10^5 float64 image (80 GB) with no data: fast, clean failure."""
    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -64
    hdr["NAXIS"] = 2
    hdr["NAXIS1"] = 100_000
    hdr["NAXIS2"] = 100_000
    path = tmp_path / "huge.fits"
    path.write_bytes(hdr.tostring().encode("ascii"))
    t0 = time.perf_counter()
    with pytest.raises(BadFileError):
        info = F.read_exposure_info(path)
        F.read_plane(path, "image", info)
    assert time.perf_counter() - t0 < 5


def test_unknown_plane_name(tmp_path, write_afw_exposure):
    path = write_afw_exposure(tmp_path / "e.fits", np.ones((5, 6), np.float32),
                              np.zeros((5, 6), np.int32), np.ones((5, 6), np.float32))
    with pytest.raises(ExplorerError, match="unknown plane"):
        F.read_plane(path, "weights")


def test_gzipped_uint16_mask(tmp_path, write_afw_exposure):
    """gzip + an old-style uint16 mask: astropy cannot memory-map it; the reader must still apply BZERO."""
    mask = np.array([[0, 1, 2], [40000, 65535, 32768]], dtype=np.uint16)
    path = write_afw_exposure(tmp_path / "e.fits", np.zeros((2, 3), np.float32), mask,
                              np.ones((2, 3), np.float32), xy0=(7, -3))
    gz = tmp_path / "e.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for p in (path, gz):
        info = F.read_exposure_info(p)
        assert info.xy0 == (7, -3)
        out = F.read_plane(p, "mask", info)
        assert out.dtype == np.int32
        np.testing.assert_array_equal(out, mask.astype(np.int32))


# ------------------------------------------------------------------------------------------------
# a full-size afw exposure: correctness, with timings printed (no timing assertions)
# ------------------------------------------------------------------------------------------------
def test_full_size_exposure_read(tmp_path, write_afw_exposure):
    ny, nx = 4000, 4072
    rng = np.random.default_rng(42)
    image = rng.normal(1000.0, 30.0, (ny, nx)).astype(np.float32)
    mask = rng.integers(0, 1 << 11, (ny, nx), dtype=np.int32)
    variance = np.full((ny, nx), 900.0, dtype=np.float32)
    planes = {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5, "DETECTED_NEGATIVE": 6,
              "SUSPECT": 7, "NO_DATA": 8, "UNMASKEDNAN": 9, "CROSSTALK": 10}
    path = write_afw_exposure(tmp_path / "calexp.fits", image, mask, variance, xy0=(12, 34), mask_planes=planes,
                              primary_cards={"FLUXMAG0": 1e11, "EXPTIME": 30.0, "BORE-RA": 30.0})
    t0 = time.perf_counter()
    info = F.read_exposure_info(path)
    t_info = time.perf_counter() - t0
    assert info.xy0 == (12, 34) and info.shape == (ny, nx) and info.mask_planes == planes
    assert info.zero_point_mag == pytest.approx(27.5)
    timings = {}
    for name, truth in (("image", image), ("mask", mask), ("variance", variance)):
        t0 = time.perf_counter()
        arr = F.read_plane(path, name, info)
        timings[name] = time.perf_counter() - t0
        assert arr.dtype.isnative and arr.dtype == truth.dtype
        np.testing.assert_array_equal(arr, truth)
    print(f"\n4072x4000 afw exposure: info {t_info * 1e3:.1f} ms, "
          + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in timings.items()))


def test_gzip_truncated_inside_a_later_hdu(tmp_path, write_afw_exposure):
    """astropy silently drops a gzipped HDU whose data is cut: the reader must notice (gzip ISIZE)."""
    rng = np.random.default_rng(3)
    shape = (300, 300)
    path = write_afw_exposure(tmp_path / "e.fits", rng.random(shape, dtype=np.float32),
                              np.zeros(shape, np.int32), rng.random(shape, dtype=np.float32))
    packed = gzip.compress(path.read_bytes())
    good = tmp_path / "good.fits.gz"
    good.write_bytes(packed)
    assert F.read_exposure_info(good).planes == ["image", "mask", "variance"]
    cut = tmp_path / "cut.fits.gz"
    cut.write_bytes(packed[: int(len(packed) * 0.9)])  # inside the variance plane
    with pytest.raises(BadFileError, match="cut.fits.gz: truncated gzip"):
        F.read_exposure_info(cut)


def test_header_cut_mid_chain(tmp_path, write_afw_exposure):
    """A file cut inside an extension header: astropy stops quietly at the last good HDU."""
    path = write_afw_exposure(tmp_path / "e.fits", np.ones((5, 6), np.float32),
                              np.zeros((5, 6), np.int32), np.ones((5, 6), np.float32))
    cut = tmp_path / "cut.fits"
    cut.write_bytes(path.read_bytes()[:2880 + 1200])
    with pytest.raises(BadFileError, match="cut.fits: corrupt FITS: HDU 1"):
        F.read_exposure_info(cut)


def test_truncation_warnings_of_other_files_are_ignored(tmp_path, write_afw_exposure):
    """warnings.catch_warnings is process-wide: a warning about another file's length (another
    thread's read) must not fail this file."""
    path = write_afw_exposure(tmp_path / "e.fits", np.ones((5, 6), np.float32),
                              np.zeros((5, 6), np.int32), np.ones((5, 6), np.float32))
    other = warnings.WarningMessage(UserWarning("File may have been truncated: actual file length (2880) is "
                                                "smaller than the expected size (5760)"), UserWarning, "x", 1)
    fitsio.raise_on_bad_warnings(str(path), [other])  # no error: the length is not this file's
    size = path.stat().st_size
    mine = warnings.WarningMessage(UserWarning(f"File may have been truncated: actual file length ({size}) is "
                                               f"smaller than the expected size ({size + 2880})"), UserWarning, "x", 1)
    with pytest.raises(BadFileError, match="truncated"):
        fitsio.raise_on_bad_warnings(str(path), [mine])
