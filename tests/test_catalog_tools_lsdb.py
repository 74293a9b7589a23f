"""The HATS catalog source of the page on real Dask clusters: the panel's shared LocalCluster (on
127.0.0.1), and a `dask scheduler` + `dask worker` started here on 127.0.0.1 and named as
``serve --dask-scheduler`` names it. Results must equal numpy on the same rows; work is cancelled
when the choice changes."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.app.tools import hats_source
from explorer.app.tools.hats_source import (
    ENV_SCHEDULER,
    HatsPanel,
    close_shared_client,
    shared_client,
)

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
                              highest_order=8)


@pytest.fixture(scope="module")
def state(sample_gen3):
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()  # the panels draw HoloViews elements (as on the page)

    st = ExplorerState()
    st.open(str(sample_gen3))
    return st


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def scheduler(tmp_path, monkeypatch):
    """`dask scheduler` and one `dask worker` on 127.0.0.1 (processes of their own, stopped after)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # kernels travel by value
    logs = [open(tmp_path / "scheduler.log", "w"), open(tmp_path / "worker.log", "w")]  # noqa: SIM115
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              cwd=tmp_path, env=env, stdout=logs[0], stderr=subprocess.STDOUT)]
    address = f"tcp://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or procs[0].poll() is not None:
                    raise RuntimeError((tmp_path / "scheduler.log").read_text()) from None
                time.sleep(0.2)
        procs.append(subprocess.Popen([str(DASK), "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                       "--nthreads", "1", "--no-dashboard", "--memory-limit", "1GiB"],
                                      cwd=tmp_path, env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(1, timeout=120)
        close_shared_client()
        monkeypatch.setenv(ENV_SCHEDULER, address)
        yield address
    finally:
        close_shared_client()
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs:
            f.close()


@pytest.fixture
def local_cluster(monkeypatch):
    monkeypatch.delenv(ENV_SCHEDULER, raising=False)
    close_shared_client()
    yield
    close_shared_client()


def _finished(panel: HatsPanel) -> dict:
    panel.wait(600)
    assert not panel.status.object.count("failed"), panel.status.object
    return panel.result


def _check(panel: HatsPanel, df: pd.DataFrame, column: str):
    result = _finished(panel)
    hist, grid = result["histogram"], result["density"]
    values = df[column].to_numpy(float)
    logv = np.log10(values[values > 0])
    want, _ = np.histogram(logv, bins=hist.edges)
    assert hist.rows == len(df) and hist.counts.tolist() == want.tolist()
    assert grid.total == len(df)  # every row placed on the sky map, computed on the workers
    assert f'data-total="{len(df)}"' in panel.status.object


def test_hats_panel_on_a_local_cluster(hats_dir, objects, state, local_cluster):
    _, df = objects
    panel = HatsPanel(state=state)
    panel.path.value = str(hats_dir)
    assert panel.column.value == "g_psfFlux"
    _check(panel, df, "g_psfFlux")
    client = shared_client()
    workers = client.scheduler_info()["workers"]
    assert workers and all(w.startswith(("tcp://127.0.0.1:", "inproc")) for w in workers)
    assert hats_source._client is client
    # the range comes from the column statistics when HATS has them (positive, for a log axis)
    from explorer.compute.hats import open_hats, statistics_range

    stats = statistics_range(open_hats(hats_dir, ["g_psfFlux"]), "g_psfFlux", log=True)
    assert panel.result["histogram"].range_source == ("statistics" if stats else "data")
    if stats:
        assert panel.result["histogram"].edges[[0, -1]].tolist() == pytest.approx(list(stats))
    # the server process never held the rows: its client has no data of its own, results only
    assert panel.result["histogram"].extra["partitions"] > 1


def test_a_change_cancels_the_running_work(hats_dir, objects, state, local_cluster):
    _, df = objects
    panel = HatsPanel(state=state)
    panel.path.value = str(hats_dir)
    first = panel._thread
    panel.column.value = "r_psfFlux"  # at once: the g_psfFlux work is cancelled, never shown
    first.join(600)
    assert panel.cancelled_jobs >= 1
    _check(panel, df, "r_psfFlux")
    assert panel.result["histogram"].column == "r_psfFlux"


def test_cone_around_the_image(hats_dir, objects, state, local_cluster):
    from explorer.compute.sources import _separation_deg

    _, df = objects
    cone = hats_source.image_cone(state)
    assert cone is not None
    inside = _separation_deg(cone.ra, cone.dec, df["coord_ra"], df["coord_dec"]) * 3600 <= cone.radius_arcsec
    assert 0 < inside.sum() < len(df)
    panel = HatsPanel(state=state)
    panel.cone.value = True
    panel.path.value = str(hats_dir)
    _check(panel, df[inside], "g_psfFlux")


def test_hats_panel_on_a_scheduler_started_here(hats_dir, objects, state, scheduler):
    _, df = objects
    panel = HatsPanel(state=state)
    panel.path.value = str(hats_dir)
    _check(panel, df, "g_psfFlux")
    assert shared_client().scheduler.address == scheduler


def test_bad_path_is_said_in_the_panel(state, tmp_path, local_cluster):
    panel = HatsPanel(state=state)
    panel.path.value = str(tmp_path)
    assert "not a readable HATS catalog" in panel.status.object or "not a HATS catalog" in panel.status.object
    assert hats_source._client is None  # no cluster started for nothing


def test_serve_refuses_a_bad_scheduler_address():
    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "serve", "--port", "0", "--dask-scheduler",
                           "http://nowhere"], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Dask scheduler address" in proc.stderr
