"""FITS cutouts: pixels equal to the source's, WCS and xy0 right, mask cards and metadata kept."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from explorer.repo import access
from explorer.repo.cutout import CutoutError, cutout_bytes, pixel_box, sky_box, view_box, write_cutout


def _sep_arcsec(ra1, dec1, ra2, dec2):
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).arcsec


def _check_cutout(source, out, box, ra=None, dec=None):
    """The assertions every cutout must pass, against the source exposure."""
    cut = access.open_exposure(out)
    info, src = cut.info, source.info
    assert info.shape == (box.ny, box.nx) and info.xy0 == (box.x0, box.y0)
    dx, dy = box.x0 - src.xy0[0], box.y0 - src.xy0[1]
    for plane in src.planes:
        np.testing.assert_array_equal(cut.plane(plane), source.plane(plane)[dy:dy + box.ny, dx:dx + box.nx])
    assert info.mask_planes == src.mask_planes
    for key in ("EXPTIME", "DATE-AVG", "BORE-RA", "FLUXMAG0"):
        if key in src.metadata:
            assert info.metadata[key] == src.metadata[key]
    assert info.visit_info == src.visit_info
    if src.wcs is not None:
        # every pixel keeps its sky position: corners, centre and an arbitrary pixel
        xs = np.array([box.x0, box.x0 + box.nx - 1, box.x0 + box.nx / 3.0])
        ys = np.array([box.y0, box.y0 + box.ny - 1, box.y0 + box.ny / 2.7])
        for (ra1, dec1), (ra2, dec2) in zip(zip(*info.pixel_to_sky(xs, ys)), zip(*src.pixel_to_sky(xs, ys))):
            assert _sep_arcsec(ra1, dec1, ra2, dec2) < 1e-6
    if ra is not None:
        cra, cdec = info.pixel_to_sky(*box.center)
        assert _sep_arcsec(float(cra), float(cdec), ra, dec) < 0.01
        # the requested position falls in the box's centre pixel (unless the box was cut at an edge)
        x, y = (float(v) for v in info.sky_to_pixel(ra, dec))
        assert box.clipped or round(x) - box.x0 == box.nx // 2 and round(y) - box.y0 == box.ny // 2
    return cut


@pytest.fixture(scope="module")
def sample_calexp(sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    entry = next(c for c in manifest["calexps"] if c["on_disk"])
    from explorer.repo import open_repo

    repo = open_repo(sample_gen3)
    try:
        exp = repo.get_exposure("calexp", {"visit": entry["visit"], "detector": entry["detector"]})
    finally:
        repo.close()
    return exp, entry


def test_sky_cutout_of_a_sample_calexp(sample_calexp, tmp_path):
    exp, _ = sample_calexp
    x0, y0 = exp.info.xy0
    ra, dec = (float(v) for v in exp.info.pixel_to_sky(x0 + 200.3, y0 + 150.8))
    box = sky_box(exp, ra, dec, 41, 30)
    assert (box.nx, box.ny, box.clipped) == (41, 30, False)
    summary = write_cutout(exp, box, tmp_path / "cut.fits")
    assert summary["archive_kept"] and summary["shape"] == [30, 41]
    cut = _check_cutout(exp, tmp_path / "cut.fits", box, ra, dec)
    # the afw archive travelled with it: zero point, PSF and filter read back the same
    assert cut.info.zero_point_mag == pytest.approx(exp.info.zero_point_mag)
    assert cut.info.psf.kind == exp.info.psf.kind and cut.info.filter_label == exp.info.filter_label
    with fits.open(tmp_path / "cut.fits") as hdul:
        assert [h.header.get("EXTTYPE") for h in hdul[1:4]] == ["IMAGE", "MASK", "VARIANCE"]
        assert hdul[2].header["MP_SAT"] == exp.info.mask_planes["SAT"]
        assert hdul[1].header["LTV1"] == -box.x0 and hdul[1].header["LTV2"] == -box.y0
        # the cache holds the mask narrowed; the file gets afw's int32 (not uint16 through BZERO)
        assert exp.mask.dtype.itemsize < 4
        assert hdul[2].header["BITPIX"] == 32 and "BZERO" not in hdul[2].header


def test_cutout_at_the_edge_is_clipped_and_off_image_is_refused(sample_calexp, tmp_path):
    exp, _ = sample_calexp
    x0, y0 = exp.info.xy0
    ra, dec = (float(v) for v in exp.info.pixel_to_sky(x0 + 2, y0 + 3))
    box = sky_box(exp, ra, dec, 21)
    assert box.clipped and (box.x0, box.y0) == (x0, y0) and (box.nx, box.ny) == (2 + 11, 3 + 11)
    write_cutout(exp, box, tmp_path / "edge.fits")
    _check_cutout(exp, tmp_path / "edge.fits", box)
    far_ra, far_dec = (float(v) for v in exp.info.pixel_to_sky(x0 - 40, y0 + 100))
    with pytest.raises(CutoutError, match="not on the image"):
        sky_box(exp, far_ra, far_dec, 10)
    with pytest.raises(CutoutError, match="not on the image"):
        sky_box(exp, (ra + 180) % 360, -dec, 10)
    with pytest.raises(CutoutError, match="at least 1 x 1"):
        sky_box(exp, ra, dec, 0)


def test_pixel_box_of_the_current_view(sample_calexp, tmp_path):
    exp, _ = sample_calexp
    x0, y0 = exp.info.xy0
    box = pixel_box(exp, x0 + 500, y0 - 10, 100, 50)  # past the right and bottom edges
    assert box.clipped and (box.x0, box.y0, box.nx, box.ny) == (x0 + 500, y0, 12, 40)
    write_cutout(exp, box, tmp_path / "view.fits")
    _check_cutout(exp, tmp_path / "view.fits", box)
    with pytest.raises(CutoutError, match="does not overlap"):
        pixel_box(exp, x0 + 600, y0, 10, 10)
    with pytest.raises(CutoutError, match="overwrite the source"):
        write_cutout(exp, box, exp.info.path)
    # the view as the image pane reports it (pixel edges): every pixel seen, even in part
    view = view_box(exp, (x0 + 99.7, x0 + 130.2), (y0 + 49.5, y0 + 60.5))
    assert (view.x0, view.y0, view.nx, view.ny) == (x0 + 100, y0 + 50, 31, 11)
    data = cutout_bytes(exp, view)
    (tmp_path / "download.fits").write_bytes(data)
    _check_cutout(exp, tmp_path / "download.fits", view)


@pytest.mark.real
@pytest.mark.parametrize("name, kept", [
    ("lsst_afw/tests/data/HSC-0908120-056-small.fits", True),  # xy0 = (100, 100), EXTTYPE only
    ("lsst_meas_extensions_piff/tests/data/exp.fits", True),  # EXTNAME (afw since 2021)
    ("lsst_obs_test/data/calexpMetadataObjectsTest/example-calexp.fits.gz", False),  # gzipped: archive dropped
])
def test_real_exposures(real_dir, tmp_path, name, kept):
    exp = access.open_exposure(real_dir / name)
    ny, nx = exp.info.shape
    x0, y0 = exp.info.xy0
    ra, dec = (float(v) for v in exp.info.pixel_to_sky(x0 + nx * 0.4, y0 + ny * 0.6))
    box = sky_box(exp, ra, dec, 25, 16)
    summary = write_cutout(exp, box, tmp_path / "cut.fits")
    assert summary["archive_kept"] is kept
    cut = _check_cutout(exp, tmp_path / "cut.fits", box, ra, dec)
    if kept:
        assert cut.info.zero_point_mag == pytest.approx(exp.info.zero_point_mag)
    assert cut.info.mask_planes == exp.info.mask_planes


@pytest.mark.real
def test_tile_compressed_calib_without_wcs(real_dir, tmp_path):
    exp = access.open_exposure(real_dir / "lsst_obs_lsst/tests/data/input/imsim/CALIB/flat/i_sim_1.4/2022-08-06/"
                                          "flat_i_sim_1.4-R11-S20-det042_2022-08-06.fits")
    assert exp.info.compressed
    box = pixel_box(exp, 1000, 2000, 64, 32)
    write_cutout(exp, box, tmp_path / "flat.fits")
    _check_cutout(exp, tmp_path / "flat.fits", box)
    if exp.info.wcs is None:
        with pytest.raises(CutoutError, match="no WCS"):
            sky_box(exp, 10.0, 10.0, 5)


# ----- the command ----------------------------------------------------------------------------
def run(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, timeout=300)


def one_line_error(proc, needle):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_cli_cutout_of_a_repository_dataset(sample_gen3, sample_calexp, tmp_path):
    exp, entry = sample_calexp
    x0, y0 = exp.info.xy0
    ra, dec = (float(v) for v in exp.info.pixel_to_sky(x0 + 256.2, y0 + 255.7))
    out = tmp_path / "cli.fits"
    proc = run("cutout", str(sample_gen3), "--data-id", f"visit={entry['visit']},detector={entry['detector']}",
               "--center", repr(ra), repr(dec), "--size", "33", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["shape"] == [33, 33] and data["path"] == str(out)
    assert _sep_arcsec(*data["center_sky"], ra, dec) < 0.01
    assert set(data["mask_planes"]) == set(exp.info.mask_planes)
    box = sky_box(exp, ra, dec, 33)
    assert data["xy0"] == [box.x0, box.y0]
    _check_cutout(exp, out, box, ra, dec)


def test_cli_cutout_errors(sample_gen3, sample_calexp, tmp_path):
    exp, entry = sample_calexp
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    did = f"visit={entry['visit']},detector={entry['detector']}"
    out = str(tmp_path / "x.fits")
    one_line_error(run("cutout", str(sample_gen3), "--data-id", did, "--center", "10", "10", "--size", "5",
                       "--out", out), "not on the image")
    missing = manifest["missing"]["data_id"]
    missing_id = f"visit={missing['visit']},detector={missing['detector']}"
    one_line_error(run("cutout", str(sample_gen3), "--data-id", missing_id,
                       "--center", "56.65", "-36.45", "--size", "5", "--out", out), "not on disk")
    one_line_error(run("cutout", str(sample_gen3), "--center", "56.65", "-36.45", "--size", "5", "--out", out),
                   "--data-id")
    one_line_error(run("cutout", "/no/such.fits", "--center", "1", "2", "--size", "5", "--out", out), "no such file")
    one_line_error(run("cutout", exp.info.path, "--center", "1", "2", "--size", "5", "6", "7", "--out", out), "--size")
    one_line_error(run("cutout", exp.info.path, "--center", "1", "2", "--size", "5"), "--out")
    assert not (tmp_path / "x.fits").exists()
    assert math.isfinite(exp.info.zero_point_mag)
