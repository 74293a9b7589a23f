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


# ----- issue 11: what a new user meets ------------------------------------------------------------
def _manifest(repo: Path) -> dict:
    return json.loads((repo / "sample_manifest.json").read_text())


@pytest.fixture(scope="module")
def sample_gen2_cli(tmp_path_factory):
    from explorer.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("cli2") / "dc2-gen2", layout="gen2", size="small", seed=1)


def test_check_files_names_the_missing_data_ids(sample_gen3):
    missing = _manifest(sample_gen3)["missing"]
    data = json.loads(run("inventory", str(sample_gen3), "--check-files", "--json").stdout)
    by_name = {d["name"]: d for d in data["dataset_types"]}
    calexp = by_name[missing["dataset_type"]]
    assert calexp["missing"] == 1 and len(calexp["missing_ids"]) == 1
    found = calexp["missing_ids"][0]
    # values typed as the registry types them: integers stay integers
    assert {k: found[k] for k in missing["data_id"]} == missing["data_id"]
    assert isinstance(found["visit"], int) and isinstance(found["detector"], int)
    assert all(d["missing_ids"] == [] for d in data["dataset_types"] if d["name"] != missing["dataset_type"])
    text = run("inventory", str(sample_gen3), "--check-files").stdout
    line = next(ln for ln in text.splitlines() if f"visit={missing['data_id']['visit']}" in ln)
    assert line.split()[0] == "calexp" and f"detector={missing['data_id']['detector']}" in line
    without = json.loads(run("inventory", str(sample_gen3), "--json").stdout)
    assert all("missing_ids" not in d for d in without["dataset_types"])


def test_check_files_names_the_missing_data_ids_gen2(sample_gen2_cli):
    missing = _manifest(sample_gen2_cli)["missing"]
    data = json.loads(run("inventory", str(sample_gen2_cli), "--check-files", "--json").stdout)
    calexp = next(d for d in data["dataset_types"] if d["name"] == "calexp")
    assert calexp["missing"] == len(calexp["missing_ids"]) == 1
    assert calexp["missing_ids"][0]["visit"] == missing["data_id"]["visit"]
    assert calexp["missing_ids"][0]["detector"] == missing["data_id"]["detector"]
    # the text form stays readable however many are missing (the sample's raws are all absent)
    raw = next(d for d in data["dataset_types"] if d["name"] == "raw")
    assert raw["missing"] == len(raw["missing_ids"]) > 100
    text = run("inventory", str(sample_gen2_cli), "--check-files").stdout
    assert sum(1 for ln in text.splitlines() if ln.startswith("  raw ")) == 21
    assert f"and {raw['missing'] - 20} more" in text


def test_inventory_text_gives_visit_ids_and_an_example_that_works(sample_gen3):
    text = run("inventory", str(sample_gen3)).stdout
    visits = {v["id"] for v in _manifest(sample_gen3)["visits"] if v.get("has_calexp")}
    visit_line = next(ln for ln in text.splitlines() if ln.startswith("Visits"))
    assert visits <= {int(tok) for tok in visit_line.replace(":", " ").replace(")", " ").split() if tok.isdigit()}
    example = next(ln for ln in text.splitlines() if ln.startswith("Example"))
    command = example.split(None, 1)[1].split()
    assert command[:2] == ["repo-explorer", "exposure"]
    proc = run(*command[1:], "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["on_disk"] is True


def test_text_output_has_no_python_reprs(sample_gen3):
    calexp = next(c for c in _manifest(sample_gen3)["calexps"] if c["on_disk"] and c["stats"]["sat"])
    x0, y0 = calexp["xy0"]
    # a saturated pixel, so the readout lists mask planes
    from astropy.io import fits

    with fits.open(sample_gen3 / calexp["path"]) as hdul:
        mask = hdul["MASK"].data
        sat = int(hdul["MASK"].header["MP_SAT"])
    import numpy as np

    iy, ix = map(int, np.argwhere(mask & (1 << sat))[0])
    proc = run("exposure", str(sample_gen3), "--data-id", f"visit={calexp['visit']},detector={calexp['detector']}",
               "--pixel", str(x0 + ix), str(y0 + iy))
    assert proc.returncode == 0, proc.stderr
    for bad in ("{'", "['", "'}", "']"):
        assert bad not in proc.stdout, proc.stdout
    assert f"visit={calexp['visit']}" in proc.stdout and "band=" in proc.stdout
    assert "SAT" in next(ln for ln in proc.stdout.splitlines() if ln.startswith("Pixel"))


def test_exposure_json_data_id_is_typed_by_the_registry(sample_gen3):
    calexp = next(c for c in _manifest(sample_gen3)["calexps"] if c["on_disk"])
    data = json.loads(run("exposure", str(sample_gen3), "--data-id",
                          f"visit={calexp['visit']},detector={calexp['detector']}", "--json").stdout)
    assert data["data_id"]["visit"] == calexp["visit"] and data["data_id"]["detector"] == calexp["detector"]
    assert data["data_id"]["band"] == calexp["band"]


def test_pixel_outside_the_image_is_said(sample_gen3):
    calexp = next(c for c in _manifest(sample_gen3)["calexps"] if c["on_disk"])
    x0, y0 = calexp["xy0"]
    args = ["exposure", str(sample_gen3), "--data-id", f"visit={calexp['visit']},detector={calexp['detector']}",
            "--pixel", str(x0 - 10), str(y0 + 5)]
    data = json.loads(run(*args, "--json").stdout)
    assert data["on_image"] is False and data["value"] is None
    assert "outside the image" in data["note"] and "extrapolated" in data["note"]
    text = run(*args).stdout
    assert "outside the image" in text
    inside = json.loads(run(*args[:-2], str(x0 + 5), str(y0 + 5), "--json").stdout)
    assert inside["on_image"] is True and inside["value"] is not None and "note" not in inside


def test_half_pixel_rounds_up_as_lsst_does(tmp_path, write_afw_exposure):
    """floor(x + 0.5), as the page's readout: x = 2.5 is pixel 3 (Python's round() gives 2)."""
    import numpy as np

    image = np.arange(8 * 8, dtype=np.float32).reshape(8, 8)
    path = write_afw_exposure(tmp_path / "e.fits", image, np.zeros((8, 8), np.int32),
                              np.ones((8, 8), np.float32), xy0=(100, 200))
    for (x, y), (ix, iy) in {(102.5, 204.5): (3, 5), (101.5, 200.5): (2, 1), (102.49, 203.0): (2, 3),
                             (99.5, 199.5): (0, 0)}.items():
        data = json.loads(run("exposure", str(path), "--pixel", str(x), str(y), "--json").stdout)
        assert data["pixel_index"] == [100 + ix, 200 + iy], (x, y)
        assert data["value"] == image[iy, ix], (x, y)
    edge = json.loads(run("exposure", str(path), "--pixel", "107.5", "200", "--json").stdout)
    assert edge["on_image"] is False, "x = 107.5 is pixel 108, past the last column (107)"
