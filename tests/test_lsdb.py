"""HATS catalogs through LSDB on real Dask clusters: a LocalCluster and a scheduler + worker started
here (tests/conftest.py).

make-sample writes the sample's objectTable as a HATS catalog (several HEALPix partitions); it must
hold exactly the objectTable's rows, and histograms and density maps computed on the workers must
equal numpy (and the in-process datashader grid) on the same rows. The hats-import path and the
partition-by-partition synthetic catalog of the benchmarks are checked too.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from histogram_reference import numpy_histogram
from serve_helpers import free_port, running_dask

from explorer.compute.cluster import ClusterError, JobCancelled, PartitionJob, dask_client
from explorer.compute.density import density
from explorer.compute.hats import HatsError, SkyFilter, hats_density, hats_histogram, open_hats


@pytest.fixture(scope="module")
def local_client(dask_local_client):
    return dask_local_client


@pytest.fixture(scope="module")
def scheduler(dask_scheduler):
    return dask_scheduler


def test_sample_objects_as_a_hats_catalog(hats_dir, objects):
    """make-sample's catalog holds exactly the objectTable's rows, each in the HEALPix partition
    its position falls in, no partition above the sample's 150-row threshold."""
    import lsdb

    from explorer.sample.hats import spatial_index

    _, frame = objects
    cat = lsdb.open_catalog(hats_dir)
    assert cat.npartitions > 1  # the merges across partitions are exercised
    rows = cat.compute(progress_bar=False)
    assert len(rows) == len(frame)
    mine = rows.reset_index().sort_values("objectId").reset_index(drop=True)
    want = frame.sort_values("objectId").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[want.columns], want, check_dtype=False)
    np.testing.assert_array_equal(mine["_healpix_29"], spatial_index(want.coord_ra, want.coord_dec))
    for pixel in cat.get_healpix_pixels():
        index = cat.get_partition(pixel.order, pixel.pixel).compute().index.to_numpy()
        assert 0 < len(index) <= 150
        assert (index >> (2 * (29 - pixel.order)) == pixel.pixel).all()
        assert (np.diff(index) >= 0).all()  # sorted by _healpix_29, as HATS wants


def test_synthetic_catalog_partition_by_partition(tmp_path):
    """The benchmark catalog's generator: every row inside its partition's pixel, ids unique and
    consecutive, the same catalog from the same seed, and LSDB reads it (statistics included)."""
    import lsdb

    from explorer.sample.hats import synthetic_partitions, write_synthetic_hats

    parts = list(synthetic_partitions(20_000, seed=3, partition_rows=2_000))
    assert len(parts) >= 10 and sum(t.num_rows for _, _, t in parts) == 20_000
    assert max(t.num_rows for _, _, t in parts) <= 2_000
    for order, pixel, table in parts:
        index = table["_healpix_29"].to_numpy()
        assert (index >> (2 * (29 - order)) == pixel).all()
    ids = np.concatenate([t["objectId"].to_numpy() for _, _, t in parts])
    np.testing.assert_array_equal(ids, np.arange(20_000))
    again = list(synthetic_partitions(20_000, seed=3, partition_rows=2_000))
    assert all(a[2].equals(b[2]) for a, b in zip(parts, again))
    out = write_synthetic_hats(tmp_path / "survey", rows=20_000, seed=3, partition_rows=2_000)
    cat = lsdb.open_catalog(out)
    assert cat.npartitions == len(parts) and len(cat.compute(progress_bar=False)) == 20_000
    stats = cat.aggregate_column_statistics(include_columns=["coord_dec"], use_default_columns=False)
    dec = np.concatenate([t["coord_dec"].to_numpy() for _, _, t in parts])
    assert stats.loc["coord_dec", "min_value"] == dec.min() and stats.loc["coord_dec", "max_value"] == dec.max()


@pytest.mark.parametrize("column, bins, log, value_range", [
    ("g_psfFlux", 40, False, None), ("r_kronFlux", 13, True, None), ("i_apFlux", 20, False, (-100.0, 5000.0)),
    ("refExtendedness", 3, False, None),
])
def test_histogram_on_a_local_cluster_is_numpy(hats_dir, objects, local_client, column, bins, log, value_range):
    _, frame = objects
    seen = []
    h = hats_histogram(hats_dir, column, local_client, bins=bins, log=log, value_range=value_range,
                       progress=lambda d, t: seen.append((d, t)))
    counts, edges = numpy_histogram(frame[column], bins, log, value_range)
    np.testing.assert_array_equal(h.counts, counts)
    np.testing.assert_array_equal(h.edges, edges)
    assert h.rows == len(frame)
    # parquet statistics give the range, unless a log axis meets values <= 0 (then a pass finds it)
    stats_usable = not log or frame[column].min() > 0
    assert h.range_source == ("given" if value_range else "statistics" if stats_usable else "data")
    assert seen[-1][0] == seen[-1][1] == h.extra["partitions"]


def test_cone_filter(hats_dir, objects, local_client):
    _, frame = objects
    ra0, dec0, radius = 56.6497, -36.4463, 240.0
    h = hats_histogram(hats_dir, "g_psfFlux", local_client, bins=10,
                       sky=SkyFilter(ra=ra0, dec=dec0, radius_arcsec=radius))
    ra, dec = np.radians(frame.coord_ra), np.radians(frame.coord_dec)
    d = 2 * np.arcsin(np.sqrt(np.sin((dec - math.radians(dec0)) / 2) ** 2 + np.cos(dec) * math.cos(math.radians(dec0))
                              * np.sin((ra - math.radians(ra0)) / 2) ** 2))
    inside = frame[np.degrees(d) * 3600 < radius]
    assert 0 < h.rows == len(inside) < len(frame)
    assert h.range_source == "data"  # statistics cover the whole catalog, not the cone
    np.testing.assert_array_equal(h.counts, numpy_histogram(inside.g_psfFlux, 10)[0])


def test_density_on_the_cluster_equals_in_process(hats_dir, objects, local_client):
    _, frame = objects
    grid = hats_density(hats_dir, "coord_ra", "coord_dec", local_client, width=60, height=40)
    ref = density(frame, "coord_ra", "coord_dec", grid.x_range, grid.y_range, 60, 40)
    assert grid.total == len(frame)
    np.testing.assert_array_equal(grid.counts, ref.counts)
    assert grid.x_range == (frame.coord_ra.min(), frame.coord_ra.max())


def test_a_job_is_cancelled_when_the_selection_changes(local_client):
    import dask

    naps = [dask.delayed(time.sleep)(1.5, dask_key_name=f"nap-{i}") for i in range(6)]
    job = PartitionJob(local_client, naps, "naps")
    threading.Timer(0.3, job.cancel).start()
    start = time.perf_counter()
    with pytest.raises(JobCancelled, match="naps cancelled"):
        job.result()
    assert time.perf_counter() - start < 5  # not the 9 s all the naps would take
    assert job.cancelled


def test_bad_column_and_path(hats_dir, tmp_path):
    with pytest.raises(HatsError, match="no column 'g_psfFlx'.*did you mean"):
        open_hats(hats_dir, ["g_psfFlx"])
    with pytest.raises(HatsError, match="not a HATS catalog"):
        open_hats(tmp_path, ["x"])


# ----- the HATS table's rows: sorted and filtered on the workers ------------------------------
def _cone_truth(frame, sky):
    from explorer.compute.sources import _separation_deg

    inside = _separation_deg(sky.ra, sky.dec, frame["coord_ra"].to_numpy(float),
                             frame["coord_dec"].to_numpy(float)) * 3600 <= sky.radius_arcsec
    return frame[inside]


@pytest.mark.parametrize("column, ascending", [("r_psfFlux", False), ("g_psfFlux", True), ("objectId", False)])
def test_cone_rows_sorted_on_the_workers_are_pandas(hats_dir, objects, local_client, column, ascending):
    """Every page of the rows sorted by a column equals that page of pandas' sort of every row in
    the cone (missing values last), pages crossing partitions included."""
    from explorer.compute.hats_rows import cone_rows

    _, frame = objects
    sky = SkyFilter(ra=56.6497, dec=-36.4463, radius_arcsec=900.0)
    inside = _cone_truth(frame, sky)
    rows = cone_rows(hats_dir, ["objectId", "g_psfFlux", "r_psfFlux"], local_client, sky=sky)
    assert rows.total == len(inside) > 40 and sum(1 for n in rows.lengths if n) > 1
    want = inside.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    for start in (0, 15, rows.total - 7):
        page = rows.page(start, 15, sort=(column, ascending))
        expect = want.iloc[start:start + 15]
        assert len(page) == len(expect)
        np.testing.assert_array_equal(page[column].to_numpy(float), expect[column].to_numpy(float))
        if expect[column].is_unique:
            assert page["objectId"].tolist() == expect["objectId"].tolist()
        assert list(page.columns) == ["_healpix_29", "objectId", "g_psfFlux", "r_psfFlux"]
    with pytest.raises(HatsError, match="cannot sort by 'nope'"):
        rows.page(0, 15, sort=("nope", True))


def test_cone_rows_filtered_on_the_workers(hats_dir, objects, local_client):
    from explorer.compute.hats_rows import cone_rows, row_filters

    _, frame = objects
    sky = SkyFilter(ra=56.6497, dec=-36.4463, radius_arcsec=900.0)
    inside = _cone_truth(frame, sky)
    rows = cone_rows(hats_dir, ["objectId", "r_psfFlux", "refExtendedness"], local_client, sky=sky)
    cut = float(inside["r_psfFlux"].median())
    filters = row_filters([{"field": "r_psfFlux", "type": ">=", "value": str(cut)},
                           {"field": "refExtendedness", "type": "=", "value": 0},
                           {"field": "objectId", "type": "=", "value": ""}])  # (an empty filter: none)
    assert len(filters) == 2
    kept = rows.where(filters)
    want = inside[(inside["r_psfFlux"] >= cut) & (inside["refExtendedness"] == 0)]
    assert 0 < kept.total == len(want) < rows.total
    assert rows.total == len(inside)  # the cone's rows stay, for the next filter
    page = kept.page(0, 1000, sort=("r_psfFlux", True))
    assert sorted(page["objectId"]) == sorted(want["objectId"])
    assert (np.diff(page["r_psfFlux"].to_numpy(float)) >= 0).all()
    with pytest.raises(HatsError, match="needs a number"):
        row_filters([{"field": "r_psfFlux", "type": ">=", "value": "bright"}])
    with pytest.raises(HatsError, match="cannot filter on 'nope'"):
        rows.where(row_filters([{"field": "nope", "type": "=", "value": 1}]))


@pytest.fixture(scope="module")
def two_worker_scheduler(tmp_path_factory):
    """A `dask scheduler` and a `dask worker --nworkers 2` (two worker processes) started here on
    127.0.0.1; stopped after the module."""
    with running_dask(tmp_path_factory.mktemp("dask2"), 2) as address:
        yield address


def test_the_work_spreads_over_a_second_worker_process(two_worker_scheduler, tmp_path):
    """On a scheduler started here with two worker processes, a histogram's and a density map's
    partition tasks run on both workers (what lets the cold figures scale with the workers), and
    the results are still numpy's."""
    from distributed import get_task_stream

    from explorer.compute import hats
    from explorer.sample.hats import synthetic_partitions, write_synthetic_hats

    path = write_synthetic_hats(tmp_path / "survey", rows=40_000, seed=5, partition_rows=2_500)
    frame = pd.concat([t.to_pandas() for _, _, t in synthetic_partitions(40_000, seed=5, partition_rows=2_500)])
    with dask_client(two_worker_scheduler) as client:
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        with get_task_stream(client) as ts:
            h = hats_histogram(path, "coord_dec", client, bins=17)
            grid = hats_density(path, "coord_ra", "coord_dec", client, width=50, height=30)
        hats.forget_columns(client)
    reads = [t for t in ts.data if "column_values" in str(t["key"])]
    densities = [t for t in ts.data if "partition_density" in str(t["key"])]
    assert len(reads) == len(densities) == h.extra["partitions"] >= 10
    assert {t["worker"] for t in reads} == workers  # both processes read partitions
    assert {t["worker"] for t in densities} == workers
    # the kept column is binned by one task per worker, where its arrays are: none moved
    counts = [t for t in ts.data if "arrays_counts" in str(t["key"])]
    assert len(counts) == 2 and {t["worker"] for t in counts} == workers
    assert not any(s.get("action") == "transfer" for t in counts for s in t["startstops"])
    np.testing.assert_array_equal(h.counts, numpy_histogram(frame["coord_dec"], 17)[0])
    assert grid.total == len(frame)


def test_cancelling_one_session_keeps_the_columns_other_sessions_share(hats_dir, objects, local_client):
    """The columns kept on the workers serve every session: a session whose selection changes
    while it waits on them stops waiting, but must not cancel them under another's histogram."""
    from explorer.compute import hats

    _, frame = objects
    hats.forget_columns(local_client)
    hats_histogram(hats_dir, "i_psfFlux", local_client, bins=5)
    (key, (futures, _n)), = hats._persisted[local_client.id].items()

    def changed_at_once(job):
        job.cancel()

    with pytest.raises(JobCancelled):
        hats_histogram(hats_dir, "i_psfFlux", local_client, bins=7, on_job=changed_at_once)
    assert all(f.status == "finished" for f in futures)  # still there for the other sessions
    assert hats._persisted[local_client.id][key][0] is futures
    again = hats_histogram(hats_dir, "i_psfFlux", local_client, bins=9)
    np.testing.assert_array_equal(again.counts, numpy_histogram(frame["i_psfFlux"], 9)[0])
    hats.forget_columns(local_client)


# ----- the command, against a scheduler started here -------------------------------------------
def run(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_histogram_on_an_existing_scheduler(hats_dir, objects, scheduler):
    _, frame = objects
    proc = run("histogram", str(hats_dir), "--column", "r_psfFlux", "--bins", "21", "--log",
               "--dask-scheduler", scheduler, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    counts, edges = numpy_histogram(frame.r_psfFlux, 21, log=True)
    assert data["counts"] == counts.tolist() and data["edges"] == edges.tolist()
    assert data["rows"] == len(frame) and data["column"] == "r_psfFlux"


def test_cli_histogram_on_its_own_local_cluster(hats_dir, objects):
    _, frame = objects
    proc = run("histogram", str(hats_dir), "--column", "g_psfFlux", "--bins", "9", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == numpy_histogram(frame.g_psfFlux, 9)[0].tolist()
    assert proc.stderr.strip() == ""  # the cluster's own logging stays quiet


def test_cli_histogram_errors(hats_dir):
    for args, needle in [(["--column", "nope"], "'nope'"),
                         (["--column", "r_psfFlux", "--data-id", "tract=1"], "--data-id"),
                         (["--column", "r_psfFlux", "--dask-scheduler", "not an address"], "scheduler address")]:
        proc = run("histogram", str(hats_dir), *args)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr


def test_unreachable_scheduler_is_a_cluster_error():
    port = free_port()  # nothing listens there
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler"):
        with dask_client(f"tcp://127.0.0.1:{port}", timeout=2):
            pass


def test_write_hats_catalog_on_a_given_client_and_its_errors(objects, local_client, tmp_path):
    import lsdb

    from explorer.sample.hats import HatsWriteError, write_hats_catalog

    paths, _ = objects
    out = write_hats_catalog(paths[:1], tmp_path, name="one", client=local_client)
    assert len(lsdb.open_catalog(out).compute(progress_bar=False)) == len(pd.read_parquet(paths[0]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one"]  # no temporary files left
    with pytest.raises(HatsWriteError, match="already exists"):
        write_hats_catalog(paths[:1], tmp_path, name="one", client=local_client)
    with pytest.raises(HatsWriteError, match="no parquet tables"):
        write_hats_catalog([], tmp_path, name="none")
    with pytest.raises(HatsWriteError, match="no column 'ra'"):
        write_hats_catalog(paths[:1], tmp_path, name="two", ra_column="ra")


def test_columns_stay_on_the_workers_between_histograms(hats_dir, objects, local_client, monkeypatch):
    from explorer.compute import hats

    _, frame = objects
    hats.forget_columns(local_client)
    hats_histogram(hats_dir, "g_apFlux", local_client, bins=5)
    kept = hats._persisted[local_client.id]
    (key, (futures, nbytes)), = kept.items()
    assert key[1] == "g_apFlux" and nbytes == 8 * len(frame)
    again = hats_histogram(hats_dir, "g_apFlux", local_client, bins=33, log=True)  # no re-read: same arrays
    assert kept[key][0] is futures
    np.testing.assert_array_equal(again.counts, numpy_histogram(frame.g_apFlux, 33, log=True)[0])
    monkeypatch.setattr(hats, "MAX_PERSISTED_BYTES", nbytes)  # room for one column: the older goes
    hats_histogram(hats_dir, "r_apFlux", local_client, bins=5)
    assert [k[1] for k in hats._persisted[local_client.id]] == ["r_apFlux"]
    hats.forget_columns(local_client)
    assert local_client.id not in hats._persisted


def test_the_server_never_gathers_a_column(hats_dir, objects, local_client, monkeypatch):
    """What the workers send back to the server process is counts and grids, never the column or
    the cone's rows: at 100 M rows a gathered column is 800 MB in the server."""
    from explorer.compute import hats
    from explorer.compute.hats_rows import cone_rows

    _, frame = objects
    gathered: list = []
    real_gather = type(local_client).gather

    def recording_gather(self, futures, *args, **kwargs):
        out = real_gather(self, futures, *args, **kwargs)
        gathered.extend(out if isinstance(out, list) else [out])
        return out

    monkeypatch.setattr(type(local_client), "gather", recording_gather)
    hats.forget_columns(local_client)
    hats_histogram(hats_dir, "g_apFlux", local_client, bins=7)  # cold: the column is read
    hats_histogram(hats_dir, "g_apFlux", local_client, bins=7)  # warm: the kept column
    rows = cone_rows(hats_dir, ["coord_ra", "coord_dec", "g_apFlux"], local_client)
    assert rows.total == len(frame)
    # counts (tuples of 7-bin arrays) and lengths come back; a partition's column or rows do not
    data = [g for g in gathered if hasattr(g, "__len__") and not isinstance(g, tuple) and len(g) > 7]
    assert gathered and not data, [type(g).__name__ for g in data]
    rows.release()
    hats.forget_columns(local_client)
