"""`repo-explorer histogram` and the compute kernels behind it agree with numpy exactly."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from histogram_reference import numpy_histogram

from explorer.compute.columns import (AB_NJY_ZERO_POINT, ExpressionError, evaluate, expression_columns,
                                      flux_to_ab, instflux_to_ab, njy_to_ab)
from explorer.compute.density import DensityGrid, ScatterPoints, density, scatter
from explorer.compute.histogram import HistogramError, histogram_frame, histogram_values


def run(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, timeout=300)


def one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


# ----- kernels ----------------------------------------------------------------------------------
def test_histogram_values_is_numpy():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(3, 2, 10_000), [np.nan, np.inf, -np.inf, 0.0, -5.0]])
    for bins, log, rng_ in [(50, False, None), (7, True, None), (30, False, (-10.0, 200.0)), (1, False, None)]:
        h = histogram_values(values, "flux", bins, log, rng_)
        counts, edges = numpy_histogram(values, bins, log, rng_)
        np.testing.assert_array_equal(h.counts, counts)
        np.testing.assert_array_equal(h.edges, edges)
    h = histogram_values(values, "flux", 10, log=True)
    assert (h.rows, h.non_finite, h.non_positive) == (10_005, 3, 2)
    # split into partitions and merged: the same counts
    parts = np.array_split(values, 7)
    from explorer.compute.histogram import count, merge_ranges, prepare, value_range

    prepared = [prepare(p)[0] for p in parts]
    lo, hi = merge_ranges(value_range(p) for p in prepared)
    merged = sum(count(p, 40, lo, hi) for p in prepared)
    np.testing.assert_array_equal(merged, numpy_histogram(values, 40)[0])


def test_histogram_frame_errors_and_pandas_types():
    df = pd.DataFrame({"a": pd.array([1, 2, None, 4], dtype="Int64"), "flag": [True, False, True, True],
                       "s": ["x", "y", "z", "w"]})
    h = histogram_frame(df, "a", bins=3)
    np.testing.assert_array_equal(h.counts, np.histogram([1, 2, 4], bins=3)[0])
    assert h.non_finite == 1 and h.rows == 4
    with pytest.raises(HistogramError, match="no column 'b'"):
        histogram_frame(df, "b")
    with pytest.raises(HistogramError, match="flags"):
        histogram_frame(df, "flag")
    with pytest.raises(HistogramError, match="not numeric"):
        histogram_frame(df, "s")
    with pytest.raises(HistogramError, match="bins"):
        histogram_frame(df, "a", bins=0)
    with pytest.raises(HistogramError, match="range"):
        histogram_frame(df, "a", value_range_=(3, 1))


def test_magnitudes():
    assert AB_NJY_ZERO_POINT == pytest.approx(31.4, abs=1e-3)
    assert njy_to_ab(3631e9) == pytest.approx(0.0, abs=1e-12)
    f = np.array([1.0, 100.0, 0.0, -1.0, np.nan])
    np.testing.assert_allclose(njy_to_ab(f)[:2], [AB_NJY_ZERO_POINT, AB_NJY_ZERO_POINT - 5.0])
    assert np.isnan(njy_to_ab(f)[2:]).all()
    np.testing.assert_allclose(instflux_to_ab(np.array([1.0, 10.0]), 27.0), [27.0, 24.5])
    series = pd.Series([1000.0, -1.0], name="g_psfFlux")
    assert flux_to_ab(series, "g_psfFlux").iloc[0] == pytest.approx(AB_NJY_ZERO_POINT - 7.5)
    assert flux_to_ab(np.array([100.0]), "base_PsfFlux_instFlux", 30.0)[0] == pytest.approx(25.0)
    with pytest.raises(ExpressionError, match="zero point"):
        flux_to_ab(np.array([1.0]), "base_PsfFlux_instFlux", None)


def test_derived_columns():
    df = pd.DataFrame({"g": [20.0, 21.0], "r": [19.5, 21.5], "g_psfFlux": [1000.0, 10.0], "r_psfFlux": [100.0, 10.0]})
    np.testing.assert_allclose(evaluate("g - r", df), [0.5, -0.5])
    np.testing.assert_allclose(evaluate("mag(g_psfFlux) - mag(r_psfFlux)", df), [-2.5, 0.0])
    np.testing.assert_allclose(evaluate("-(g - r) * 2 + 1 / 2", df), [-0.5, 1.5])
    assert expression_columns("mag(g_psfFlux) - r * g_psfFlux") == ["g_psfFlux", "r"]
    np.testing.assert_allclose(evaluate("instmag(g_psfFlux)", df, zero_point_mag=30.0), [22.5, 27.5])
    with pytest.raises(ExpressionError, match="zero point"):
        evaluate("instmag(g_psfFlux)", df)
    for bad, needle in [("g -", "cannot read"), ("open(g)", "unknown function"), ("g.real", "not allowed"),
                        ("gg - r", "no column 'gg'"), ("g if r else g", "not allowed"), ("'a' + g", "not allowed")]:
        with pytest.raises(ExpressionError, match=needle):
            evaluate(bad, df)


def test_scatter_and_density():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=20_000), "y": rng.normal(size=20_000)})
    df.loc[5, "x"] = np.nan
    few = scatter(df.head(100), "x", "y")
    assert isinstance(few, ScatterPoints) and len(few.x_values) == 99
    grid = scatter(df, "x", "y", width=64, height=48, x_range=(-3, 3), y_range=(-2, 2))
    assert isinstance(grid, DensityGrid) and grid.counts.shape == (48, 64)
    inside = df[(df.x.abs() <= 3) & (df.y.abs() <= 2)]
    assert grid.total == len(inside)
    # rows are y upward: the lowest row counts the points with the lowest y
    assert grid.counts[0].sum() == int(((inside.y - -2) * 48 / 4 < 1).sum())
    # the same grid from a Dask DataFrame and from a derived axis
    import dask.dataframe as dd

    lazy = density(dd.from_pandas(df, npartitions=4), "x", "y", (-3, 3), (-2, 2), 64, 48)
    np.testing.assert_array_equal(lazy.counts, grid.counts)
    diff = density(df, "x - y", "y", width=10, height=10)
    assert diff.total == np.isfinite(df.x - df.y).sum()


# ----- the command on the sample's catalogs --------------------------------------------------------
@pytest.fixture(scope="module")
def manifest(sample_gen3):
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


def _paths(sample_gen3, manifest, dataset_type):
    return [str(sample_gen3 / p) for p in manifest["paths"][dataset_type].values()]


@pytest.mark.parametrize("dataset_type, column", [("objectTable", "r_psfFlux"), ("sourceTable", "psFlux"),
                                                  ("deepCoadd_forced_src", "base_PsfFlux_instFlux")])
def test_one_catalog_file_is_numpy(sample_gen3, manifest, dataset_type, column):
    from explorer.repo import access

    path = _paths(sample_gen3, manifest, dataset_type)[0]
    values = access.read_catalog(path, [column])[column].to_numpy(dtype=float)
    cases = [((), False, None), (("--log",), True, None), (("--range", "0", "5000"), False, (0.0, 5000.0))]
    for extra, log, rng in cases:
        proc = run("histogram", path, "--column", column, "--bins", "17", "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        assert {"column", "rows", "edges", "counts"} <= set(data)
        counts, edges = numpy_histogram(values, 17, log, rng)
        assert data["column"] == column and data["rows"] == len(values)
        assert data["counts"] == counts.tolist()
        assert data["edges"] == edges.tolist()


def test_a_repositorys_catalogs_together(sample_gen3, manifest):
    from explorer.repo import access

    frames = [access.read_catalog(p, ["g_psfFlux"]) for p in _paths(sample_gen3, manifest, "objectTable")]
    values = pd.concat(frames)["g_psfFlux"].to_numpy(dtype=float)
    assert len(values) == manifest["row_totals"]["objectTable"]
    proc = run("histogram", str(sample_gen3), "--dataset", "objectTable", "--column", "g_psfFlux", "--bins", "25",
               "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    counts, edges = numpy_histogram(values, 25)
    assert data["rows"] == len(values) and data["counts"] == counts.tolist() and data["edges"] == edges.tolist()
    # one patch by its data ID (patch written "x,y" as on the page)
    coadd = manifest["coadds"][0]
    proc = run("histogram", str(sample_gen3), "--dataset", "objectTable", "--data-id",
               f"tract={coadd['tract']},patch={coadd['patch_name']}", "--column", "g_psfFlux", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == manifest["rows"]["objectTable"][f"{coadd['tract']},{coadd['patch']}"]
    # a partial data ID (no band) takes every band's catalog of the patch
    proc = run("histogram", str(sample_gen3), "--dataset", "deepCoadd_forced_src", "--data-id",
               f"tract={coadd['tract']},patch={coadd['patch_name']}", "--column", "base_PsfFlux_instFlux", "--json")
    assert proc.returncode == 0, proc.stderr
    per_band = manifest["rows"]["deepCoadd_forced_src"]
    assert json.loads(proc.stdout)["rows"] == sum(per_band[f"{coadd['tract']},{coadd['patch']},{b}"]
                                                  for b in coadd["bands"])
    text = run("histogram", str(sample_gen3), "--dataset", "objectTable", "--column", "g_psfFlux", "--bins", "3")
    assert text.returncode == 0 and len(text.stdout.strip().splitlines()) == 4


def test_bad_column_or_target_is_one_line(sample_gen3, manifest, tmp_path):
    path = _paths(sample_gen3, manifest, "objectTable")[0]
    one_line_error(run("histogram", path, "--column", "r_psfFlx"), "r_psfFlx", "did you mean")
    one_line_error(run("histogram", str(sample_gen3), "--dataset", "objectTable", "--column", "nope"), "'nope'")
    one_line_error(run("histogram", str(tmp_path / "absent"), "--column", "x"), "no such file")
    one_line_error(run("histogram", str(tmp_path), "--column", "x"), "not a data repository")
    one_line_error(run("histogram", str(sample_gen3), "--dataset", "noSuchType", "--column", "x"), "noSuchType")
    one_line_error(run("histogram", path, "--column", "r_psfFlux", "--range", "5", "1"), "--range")
    one_line_error(run("histogram", path, "--column", "detect_isPrimary"), "flags")
    one_line_error(run("histogram", path, "--column", "r_psfFlux", "--data-id", "tract=1"), "--data-id")
    missing = manifest["missing"]["data_id"]
    calexp = next(c for c in manifest["calexps"] if c["on_disk"])
    one_line_error(run("histogram", str(sample_gen3), "--dataset", "calexp", "--data-id",
                       f"visit={missing['visit']},detector={missing['detector']}", "--column", "x"), "not on disk")
    assert calexp["on_disk"]
