"""The repo-explorer command as other tools drive it: exit codes, one-line errors, JSON keys."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXPOSURE_KEYS = {"shape", "xy0", "planes", "mask_planes", "wcs_center", "zero_point_mag", "visit_info",
                 "metadata_cards", "on_disk"}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True,
                          timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("args, needle", [
    (["inventory", "/no/such/dir"], "no such directory"),
    (["exposure", "/no/such/file.fits"], "no such file"),
    (["skymap", "--tract", "99999"], "no tract 99999"),
    (["skymap", "--at", "10", "95"], "Dec must lie"),
    (["skymap", "--name", "hsc"], "unknown skymap"),
    (["inventory"], "required"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    assert_one_line_error(run(*args), needle)


def test_not_a_repository(tmp_path):
    assert_one_line_error(run("inventory", str(tmp_path)), "not a data repository")


def test_corrupt_and_truncated_fits(tmp_path, real_dir):
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"this is not a FITS file at all" * 100)
    assert_one_line_error(run("exposure", str(garbage)), "garbage.fits")
    source = (real_dir / "lsst_afw/tests/data/HSC-0908120-056-small.fits").read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(source[: len(source) // 2])
    assert_one_line_error(run("exposure", str(cut)), "cut.fits")


@pytest.mark.real
def test_exposure_json_on_a_real_calexp_cutout(real_dir):
    path = real_dir / "lsst_afw/tests/data/HSC-0908120-056-small.fits"
    proc = run("exposure", str(path), "--json", "--pixel", "150", "120")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert EXPOSURE_KEYS <= set(data)
    assert data["shape"] == [200, 200] and data["xy0"] == [100, 100]
    assert data["mask_planes"]["CROSSTALK"] == 8 and data["mask_planes"]["NO_DATA"] == 9
    # LSST convention: parent pixel (150, 120) is FITS pixel (150 - 100 + 1, 120 - 100 + 1)
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(path) as hdul:
        wcs = WCS(hdul[1].header)
        ra, dec = wcs.all_pix2world(150 - 100 + 1, 120 - 100 + 1, 1)
    assert data["sky"] == pytest.approx([float(ra), float(dec)], abs=1e-9)
    assert data["on_disk"] is True


@pytest.mark.real
def test_exposure_zero_point_from_fluxmag0_and_photocalib(real_dir):
    import math

    calexp = json.loads(run("exposure", str(real_dir / "lsst_obs_test/data/calexpMetadataObjectsTest/"
                                                       "example-calexp.fits.gz"), "--json").stdout)
    assert calexp["zero_point_mag"] == pytest.approx(2.5 * math.log10(1722367118085.0))
    v2 = json.loads(run("exposure", str(real_dir / "lsst_afw/tests/data/exposure-version-2.fits"), "--json").stdout)
    assert v2["zero_point_mag"] == pytest.approx(-2.5 * math.log10(v2["photo_calib"]["mean"] * 1e-9 / 3631))
    assert v2["visit_info"]["exposure_time"] == 30.0


@pytest.mark.real
def test_registered_but_absent_file_says_not_on_disk(real_dir):
    repo = real_dir / "lsst_obs_lsst/tests/data/input/imsim"
    assert_one_line_error(run("exposure", str(repo), "--dataset", "bfk", "--data-id", "detector=3"),
                          "not on disk")
    assert_one_line_error(run("exposure", str(repo), "--dataset", "flat", "--data-id", "visit=3"),
                          "no data ID key 'visit'")
    assert_one_line_error(run("exposure", str(repo), "--dataset", "calexp", "--data-id", "visit=3"),
                          "unknown dataset type 'calexp'")


def test_skymap_json_contract():
    data = json.loads(run("skymap", "--json").stdout)
    assert data["num_tracts"] == 18938 and data["tracts"] == []
    one = json.loads(run("skymap", "--tract", "3828", "--json").stdout)["tracts"][0]
    assert set(one) >= {"tract", "center", "vertices", "patches"}
    assert one["tract"] == 3828 and len(one["patches"]) == 49 and len(one["vertices"]) == 4
    # ci_imsim: DC2 tract 3828, patch 3,3 is centred at RA 56.6497, Dec -36.4463
    at = json.loads(run("skymap", "--at", "56.6497", "-36.4463", "--json").stdout)["tracts"]
    assert [(t["tract"], t["patches"]) for t in at] == [(3828, ["3,3"])]


def test_help_lists_every_command():
    out = run("--help").stdout
    for command in ("serve", "make-sample", "inventory", "exposure", "skymap"):
        assert command in out
