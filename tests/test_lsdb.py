"""HATS catalogs through LSDB on real Dask clusters: a LocalCluster and a scheduler + worker started here.

The sample's objectTable files are written as a HATS catalog with hats-import (several HEALPix
partitions), then histograms and density maps computed on the workers must equal numpy (and the
in-process datashader grid) on the same rows.
"""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.compute.cluster import ClusterError, JobCancelled, PartitionJob, dask_client
from explorer.compute.density import density
from explorer.compute.hats import HatsError, SkyFilter, hats_density, hats_histogram, open_hats

DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def objects(sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    paths = [str(sample_gen3 / p) for p in manifest["paths"]["objectTable"].values()]
    return paths, pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


@pytest.fixture(scope="module")
def hats_dir(objects, tmp_path_factory):
    from explorer.sample.hats import write_hats_catalog

    paths, _ = objects
    return write_hats_catalog(paths, tmp_path_factory.mktemp("hats"), name="object", pixel_threshold=150,
                              highest_order=8)  # (hats-import's order-12 pixel histogram alone is 1.6 GB)


@pytest.fixture(scope="module")
def local_client():
    with dask_client(n_workers=1, threads_per_worker=2, memory_limit="1GiB") as client:
        yield client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """`dask scheduler` and one `dask worker` on 127.0.0.1, as processes of their own, in the
    client's environment (this checkout first on their path, as Dask requires)."""
    port = _free_port()
    work = tmp_path_factory.mktemp("dask")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    logs = [open(work / "scheduler.log", "w"), open(work / "worker.log", "w")]
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=work, env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    address = f"tcp://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or procs[0].poll() is not None:
                    raise RuntimeError((work / "scheduler.log").read_text())
                time.sleep(0.2)
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                       "--nthreads", "1", "--no-dashboard", "--memory-limit", "1GiB"],
                                      cwd=work, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=30) as c:
            c.wait_for_workers(1, timeout=90)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()


def numpy_hist(values, bins, log=False, value_range=None):
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if log:
        v = np.log10(v[v > 0])
    return np.histogram(v, bins=bins, range=value_range)


def test_sample_objects_as_a_hats_catalog(hats_dir, objects):
    import lsdb

    _, frame = objects
    cat = lsdb.open_catalog(hats_dir)
    assert cat.npartitions > 1  # the merges across partitions are exercised
    assert len(cat.compute(progress_bar=False)) == len(frame)


@pytest.mark.parametrize("column, bins, log, value_range", [
    ("g_psfFlux", 40, False, None), ("r_kronFlux", 13, True, None), ("i_apFlux", 20, False, (-100.0, 5000.0)),
    ("refExtendedness", 3, False, None),
])
def test_histogram_on_a_local_cluster_is_numpy(hats_dir, objects, local_client, column, bins, log, value_range):
    _, frame = objects
    seen = []
    h = hats_histogram(hats_dir, column, local_client, bins=bins, log=log, value_range=value_range,
                       progress=lambda d, t: seen.append((d, t)))
    counts, edges = numpy_hist(frame[column], bins, log, value_range)
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
    np.testing.assert_array_equal(h.counts, numpy_hist(inside.g_psfFlux, 10)[0])


def test_density_on_the_cluster_equals_in_process(hats_dir, objects, local_client):
    _, frame = objects
    grid = hats_density(hats_dir, "coord_ra", "coord_dec", local_client, width=60, height=40)
    ref = density(frame, "coord_ra", "coord_dec", grid.x_range, grid.y_range, 60, 40)
    assert grid.total == len(frame)
    np.testing.assert_array_equal(grid.counts, ref.counts)
    assert grid.x_range == (frame.coord_ra.min(), frame.coord_ra.max())


def test_a_job_is_cancelled_when_the_selection_changes(local_client):
    import dask

    job = PartitionJob(local_client, [dask.delayed(time.sleep)(1.5, dask_key_name=f"nap-{i}") for i in range(6)], "naps")
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


# ----- the command, against a scheduler started here -------------------------------------------
def run(*args):
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_histogram_on_an_existing_scheduler(hats_dir, objects, scheduler):
    _, frame = objects
    proc = run("histogram", str(hats_dir), "--column", "r_psfFlux", "--bins", "21", "--log",
               "--dask-scheduler", scheduler, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    counts, edges = numpy_hist(frame.r_psfFlux, 21, log=True)
    assert data["counts"] == counts.tolist() and data["edges"] == edges.tolist()
    assert data["rows"] == len(frame) and data["column"] == "r_psfFlux"


def test_cli_histogram_on_its_own_local_cluster(hats_dir, objects):
    _, frame = objects
    proc = run("histogram", str(hats_dir), "--column", "g_psfFlux", "--bins", "9", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == numpy_hist(frame.g_psfFlux, 9)[0].tolist()
    assert proc.stderr.strip() == ""  # the cluster's own logging stays quiet


def test_cli_histogram_errors(hats_dir):
    for args, needle in [(["--column", "nope"], "'nope'"), (["--column", "r_psfFlux", "--data-id", "tract=1"], "--data-id"),
                         (["--column", "r_psfFlux", "--dask-scheduler", "not an address"], "scheduler address")]:
        proc = run("histogram", str(hats_dir), *args)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr


def test_unreachable_scheduler_is_a_cluster_error():
    port = _free_port()  # nothing listens there
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
    np.testing.assert_array_equal(again.counts, numpy_hist(frame.g_apFlux, 33, log=True)[0])
    monkeypatch.setattr(hats, "MAX_PERSISTED_BYTES", nbytes)  # room for one column: the older goes
    hats_histogram(hats_dir, "r_apFlux", local_client, bins=5)
    assert [k[1] for k in hats._persisted[local_client.id]] == ["r_apFlux"]
    hats.forget_columns(local_client)
    assert local_client.id not in hats._persisted
