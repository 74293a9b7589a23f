"""The HATS catalog source of the page on real Dask clusters: the panel's shared LocalCluster (on
127.0.0.1), and a `dask scheduler` + `dask worker` started on 127.0.0.1 (tests/conftest.py) and
named as ``serve --dask-scheduler`` names it. Results must equal numpy on the same rows; work is
cancelled when the choice changes. The catalog table and the scatter show the HATS catalog's rows
within the view's cone, computed on the workers, through the panels' own widgets."""
from __future__ import annotations

import html
import os
import subprocess
import sys
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
def state(sample_gen3):
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()  # the panels draw HoloViews elements (as on the page)

    st = ExplorerState()
    st.open(str(sample_gen3))
    return st


@pytest.fixture
def scheduler(dask_scheduler, monkeypatch):
    """The session's `dask scheduler` + `dask worker` on 127.0.0.1, named as ``serve
    --dask-scheduler`` names it (the environment variable the page's shared client reads)."""
    close_shared_client()
    monkeypatch.setenv(ENV_SCHEDULER, dask_scheduler)
    yield dask_scheduler
    close_shared_client()


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


# ----- the HATS catalog in the catalog table and the scatter ------------------------------------
def _in_cone(df: pd.DataFrame, cone) -> np.ndarray:
    from explorer.compute.sources import _separation_deg

    return _separation_deg(cone.ra, cone.dec, df["coord_ra"].to_numpy(float),
                           df["coord_dec"].to_numpy(float)) * 3600 <= cone.radius_arcsec


@pytest.fixture
def fresh_state(sample_gen3):
    """A state of its own (panels made for one test follow only it)."""
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()

    st = ExplorerState()
    st.open(str(sample_gen3))
    return st


@pytest.fixture
def tools(fresh_state, hats_dir, local_cluster):
    """The HATS panel with the sample's catalog open, and the table and scatter attached to it as
    the page attaches them."""
    from types import SimpleNamespace

    from explorer.app.tools.scatter import ScatterPanel
    from explorer.app.tools.table import CatalogTablePanel

    state = fresh_state
    hats = HatsPanel(state=state)
    table, scatter = CatalogTablePanel(state=state), ScatterPanel(state=state)
    page = SimpleNamespace(panels={"hats": hats, "table": table, "scatter": scatter, "image": None})
    for panel in (table, scatter):
        panel.attach(page)
    assert not table.source.visible and not scatter.source.visible  # nothing to offer yet
    hats.path.value = str(hats_dir)
    hats.wait(600)
    assert hats.catalog == str(hats_dir)
    yield SimpleNamespace(hats=hats, table=table, scatter=scatter, state=state)


def test_tools_made_after_the_catalog_was_opened_offer_it(tools):
    """A tool is made when its card is first opened, often after the HATS catalog was: the table
    and the scatter made then offer the catalog at once."""
    from types import SimpleNamespace

    from explorer.app.tools.scatter import ScatterPanel
    from explorer.app.tools.table import CatalogTablePanel

    table, scatter = CatalogTablePanel(state=tools.state), ScatterPanel(state=tools.state)
    page = SimpleNamespace(panels={"hats": tools.hats, "table": table, "scatter": scatter, "image": None})
    for panel in (table, scatter):
        panel.attach(page)
    assert table.source.visible and scatter.source.visible


def test_table_pages_through_the_hats_rows_in_the_view_cone(tools, objects):
    _, df = objects
    state = tools.state
    table = tools.table
    assert table.source.visible  # a HATS catalog is open: the table can show it
    table.source.value = "HATS"
    table.hats_rows.wait(600)
    assert table.hats_rows.layout.visible and not table.rows_table.layout.visible
    cone = hats_source.view_cone(state)
    inside = df[_in_cone(df, cone)]
    rows = table.hats_rows.rows
    assert 0 < rows.total == len(inside) < len(df)
    frame = table.hats_rows.frame
    assert list(frame.columns) == table.hats_rows._columns()  # the columns chosen, nothing else
    assert "objectId" in frame.columns and 0 < len(frame) <= 15
    seen = list(frame["objectId"])
    caption = table.hats_rows.caption.object
    assert f'data-total="{len(inside)}"' in caption and 'data-start="0"' in caption
    while table.hats_rows.start + 15 < rows.total:  # every page, each fetched from the workers
        table.hats_rows.turn(+1)
        table.hats_rows.wait(600)
        seen += list(table.hats_rows.frame["objectId"])
    assert sorted(seen) == sorted(inside["objectId"]) and len(set(seen)) == len(seen)
    # a row click marks the source where its RA/Dec falls on the image
    table.hats_rows.turn(-10)
    table.hats_rows.wait(600)
    first = table.hats_rows.frame.iloc[0]
    assert table.hats_rows.mark(0)
    ident, x, y = state.marked_source
    info = state.exposure().info
    want = info.sky_to_pixel(np.array([first["coord_ra"]]), np.array([first["coord_dec"]]))
    assert isinstance(ident, int) and ident == first["objectId"]
    assert (x, y) == pytest.approx((float(want[0][0]), float(want[1][0])))


def test_a_slow_page_leaves_the_session_responsive(tools, objects):
    """A page turn is fetched off the thread that handles the session's events: while a slow page
    is on its way the table says so, the rows shown stay, and the session's other changes (a row
    click marking a source) are handled; then the page arrives."""
    import threading

    _, df = objects
    state = tools.state
    table = tools.table
    table.source.value = "HATS"
    hats = table.hats_rows
    hats.wait(600)
    rows = hats.rows
    assert rows.total > 15
    first = list(hats.frame["objectId"])
    want = list(rows.page(15, 15)["objectId"])
    gate, entered = threading.Event(), threading.Event()
    real_page = rows.page

    def slow_page(*args, **kwargs):  # the workers' page, held until the test lets it go
        entered.set()
        gate.wait(120)
        return real_page(*args, **kwargs)

    rows.page = slow_page
    events = threading.Thread(target=hats.turn, args=(+1,), name="session events")
    events.start()
    events.join(60)
    try:
        assert not events.is_alive()  # the click was handled; its page has not come yet
        assert entered.wait(60)
        assert 'data-loading="1"' in hats.caption.object
        assert list(hats.frame["objectId"]) == first and hats.start == 0
        assert hats.mark(0)  # another change of the session, handled meanwhile
        assert state.marked_source[0] == first[0]
    finally:
        gate.set()
    hats.wait(600)
    assert 'data-loading' not in hats.caption.object
    assert hats.start == 15 and list(hats.frame["objectId"]) == want
    assert 'data-start="15"' in hats.caption.object


def test_table_follows_the_zoom_and_the_columns(tools, objects):
    _, df = objects
    state = tools.state
    table = tools.table
    table.source.value = "HATS"
    table.hats_rows.wait(600)
    whole = table.hats_rows.rows.total
    x0, y0 = (float(v) for v in state.exposure().info.xy0)
    state.zoom = (x0, x0 + 120.0, y0, y0 + 120.0)  # a corner of the image: a smaller cone
    table.hats_rows.wait(600)
    cone = hats_source.view_cone(state)
    assert cone.radius_arcsec < hats_source.image_cone(state).radius_arcsec
    assert table.hats_rows.rows.total == int(_in_cone(df, cone).sum()) < whole
    table.columns.value = ["objectId", "r_psfFlux"]
    table.hats_rows.wait(600)
    assert list(table.hats_rows.frame.columns) == ["objectId", "coord_ra", "coord_dec", "r_psfFlux"]


def test_scatter_of_the_hats_rows_on_the_workers(tools, objects, monkeypatch):
    from explorer.compute import density
    from explorer.compute.density import DensityGrid, ScatterPoints

    _, df = objects
    state = tools.state
    scatter = tools.scatter
    assert scatter.source.visible
    scatter._quiet = True
    scatter.source.value = "HATS"
    scatter.x.value, scatter.y.value = "g_psfFlux", "r_psfFlux"
    scatter._quiet = False
    scatter.redraw()
    scatter.wait(600)
    inside = df[_in_cone(df, hats_source.view_cone(state))]
    data, _xl, _yl, _inv, rows = scatter.hats_result
    assert rows == len(inside)
    assert isinstance(data, ScatterPoints)
    assert sorted(data.x_values) == sorted(inside["g_psfFlux"].to_numpy(float))
    assert f'data-points="{len(inside)}"' in scatter.caption.object
    # more points than a scatter draws: a density grid summed over the partitions' grids
    monkeypatch.setattr(density, "SCATTER_MAX_POINTS", 10)
    scatter.magnitudes.value = True  # (fluxes as AB magnitudes, computed on the workers)
    scatter.wait(600)
    data = scatter.hats_result[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mag_g, mag_r = (-2.5 * np.log10(inside[c].to_numpy(float) * 1e-9 / 3631) for c in ("g_psfFlux", "r_psfFlux"))
    ok = np.isfinite(mag_g) & np.isfinite(mag_r)
    assert isinstance(data, DensityGrid) and data.total == int(ok.sum()) > 10
    assert data.x_range[0] == pytest.approx(mag_g[ok].min()) and data.x_range[1] >= mag_g[ok].max()


def test_table_sorts_and_filters_the_hats_rows_on_the_workers(tools, objects):
    """A header click (Tabulator's ``sorters``) sorts every row of the cone, not the page; the
    header filters (``filters``) keep rows of the whole cone; paging follows both."""
    _, df = objects
    table = tools.table
    table.source.value = "HATS"
    table.hats_rows.wait(600)
    inside = df[_in_cone(df, hats_source.view_cone(tools.state))]
    hats = table.hats_rows
    hats.table.sorters = [{"field": "objectId", "dir": "desc"}]  # as a click on its header sets it
    hats.wait(600)
    want = inside.sort_values("objectId", ascending=False)["objectId"].tolist()
    assert list(hats.frame["objectId"]) == want[:15]
    assert 'data-sort="objectId:desc"' in hats.caption.object
    hats.turn(+1)
    hats.wait(600)
    assert list(hats.frame["objectId"]) == want[15:30]
    # a filter on a column chosen: the rows of the cone that pass, still sorted
    cut = float(inside["g_psfFlux"].median())
    hats.table.filters = [{"field": "g_psfFlux", "type": ">=", "value": cut}]
    hats.wait(600)
    kept = inside[inside["g_psfFlux"] >= cut].sort_values("objectId", ascending=False)
    assert hats.rows.total == len(kept) < len(inside)
    assert f'data-total="{len(kept)}"' in hats.caption.object and 'data-filters="1"' in hats.caption.object
    assert list(hats.frame["objectId"]) == kept["objectId"].tolist()[:15]
    seen = list(hats.frame["objectId"])
    while hats.start + 15 < hats.rows.total:
        hats.turn(+1)
        hats.wait(600)
        seen += list(hats.frame["objectId"])
    assert seen == kept["objectId"].tolist()
    # a float column filters with >=, an integer one with =
    assert hats.table.header_filters["g_psfFlux"]["func"] == ">="
    assert hats.table.header_filters["objectId"]["func"] == "="
    # a bad filter value is said, the rows shown stay
    hats.table.filters = [{"field": "g_psfFlux", "type": ">=", "value": "bright"}]
    assert "needs a number" in hats.caption.object
    # one bound only: a maximum without a minimum (a range's [min, max] with no min), a typed "> x"
    hats.table.filters = [{"field": "g_psfFlux", "type": ">=", "value": [None, cut]}]
    hats.wait(600)
    assert hats.rows.total == int((inside["g_psfFlux"] <= cut).sum()) < len(inside)
    hats.table.filters = [{"field": "g_psfFlux", "type": ">=", "value": f"> {cut!r}"}]
    hats.wait(600)
    assert hats.rows.total == int((inside["g_psfFlux"] > cut).sum()) < len(inside)
    assert "g_psfFlux &gt; " in hats.caption.object  # (the caption, HTML-escaped)
    # back to the catalog's order, every row of the cone
    hats.table.param.update(filters=[], sorters=[])
    hats.wait(600)
    assert hats.rows.total == len(inside) and hats.sort is None


# ----- the HATS catalog in the link (URL key ``hats``), checked against the allowed roots ------------
def test_a_link_names_the_hats_catalog_and_reopens_it(hats_dir, objects, sample_gen3, local_cluster):
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()
    _, df = objects
    root = os.path.realpath(sample_gen3.parent)
    st = ExplorerState(repo_roots=[root])
    assert st.open(str(sample_gen3))
    panel = HatsPanel(state=st)
    panel.path.value = str(hats_dir)  # typed as an absolute path
    panel.wait(600)
    link = st.to_query()
    assert link["hats"] == os.path.relpath(os.path.realpath(hats_dir), root)  # as the repository box shows paths
    # the link opens the catalog in a new page's panel (its card opened by the link)
    again = ExplorerState(repo_roots=[root])
    assert again.apply_query(link) == []
    assert again.hats_catalog == link["hats"]
    reopened = HatsPanel(state=again)
    assert reopened.catalog == os.path.realpath(hats_dir)
    _check(reopened, df, "g_psfFlux")
    assert again.to_query()["hats"] == link["hats"]


def test_a_hats_path_outside_the_allowed_roots_is_refused(sample_gen3, tmp_path, local_cluster):
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()
    root = os.path.realpath(sample_gen3.parent)
    outside = tmp_path / "cat"
    outside.mkdir()
    (outside / "hats.properties").write_text("dataproduct_type=object\n")
    for bad, why in [(str(outside), "outside the allowed directories"), ("../../etc", "contains '..'"),
                     ("https://example.org/hats/object", "not allowed here")]:
        st = ExplorerState(repo_roots=[root])  # (a page of its own: one HATS panel follows it)
        assert st.open(str(sample_gen3))
        st.apply_query({"hats": bad})
        panel = HatsPanel(state=st)
        assert panel.catalog == "" and 'data-failed="1"' in panel.status.object, bad
        assert html.escape(why) in panel.status.object and why in st.error, (bad, st.error)
        assert "hats" not in st.to_query()  # a refused catalog is not kept in the link
    assert hats_source._client is None  # nothing was computed


def test_hats_locations_and_what_a_link_may_carry(sample_gen3):
    from explorer.compute.hats import resolve_hats_location
    from explorer.errors import PathNotAllowedError

    assert resolve_hats_location("https://data.example.org/dp1/object") == ("https://data.example.org/dp1/object",) * 2
    for secret in ("https://me:hunter2@data.example.org/object", "https://data.example.org/object?token=abc"):
        assert resolve_hats_location(secret) == (secret, None)  # opened, never put in a link
    with pytest.raises(PathNotAllowedError, match="not allowed here"):
        resolve_hats_location("s3://bucket/object", [str(sample_gen3.parent)])
    with pytest.raises(PathNotAllowedError, match="HATS catalog path"):
        resolve_hats_location("~/object", [str(sample_gen3.parent)])
    real = os.path.realpath(sample_gen3 / "hats")
    assert resolve_hats_location(str(sample_gen3 / "hats"), [str(sample_gen3.parent)])[1] == \
        os.path.relpath(real, os.path.realpath(sample_gen3.parent))


def test_progress_of_a_job_that_finished_at_once():
    """A warm job (its columns on the workers) reports "4 of 4" first, while the bar says "of 1"."""
    import panel as pn

    from explorer.app.tools.hats_source import show_progress

    bar = pn.indicators.Progress(value=0, max=1)
    show_progress(bar, 4, 4)
    assert (bar.value, bar.max) == (4, 4)
    show_progress(bar, 1, 2)  # a smaller job next
    assert (bar.value, bar.max) == (1, 2)
    show_progress(bar, 0, 0)
    assert (bar.value, bar.max) == (0, 1)


def test_a_superseded_histogram_is_cancelled_on_the_cluster(hats_dir, objects, fresh_state, local_cluster):
    """The page's LocalCluster is kept busy (a task per worker waiting on a distributed Event) so
    the first histogram is still running on the cluster when the column changes: its futures are
    cancelled and the scheduler forgets their tasks; the new column's histogram is the one shown."""
    import operator
    import time

    from distributed import Event

    from explorer.compute import hats

    _, df = objects
    client = shared_client()
    hats.forget_columns(client)
    gate = Event("hats-test-gate", client=client)
    workers = list(client.scheduler_info()["workers"])
    blockers = [client.submit(operator.methodcaller("wait", 600), gate, workers=[w], pure=False) for w in workers]
    try:
        panel = HatsPanel(state=fresh_state)
        panel.path.value = str(hats_dir)
        deadline = time.time() + 300
        while not panel._jobs and time.time() < deadline:
            time.sleep(0.05)
        jobs = list(panel._jobs)
        futures = [f for job in jobs for f in job.futures]
        assert futures and not any(f.done() for f in futures)  # queued behind the busy workers
        assert panel.progress.visible and panel.progress.active  # the page shows the work going on
        panel.column.value = "r_psfFlux"  # the selection changes
        assert all(f.status == "cancelled" for f in futures)
        assert all(job.cancelled for job in jobs) and panel.cancelled_jobs >= len(jobs)
        keys = [f.key for f in futures]

        def left(dask_scheduler, keys):
            return [k for k in keys if k in dask_scheduler.tasks]

        while client.run_on_scheduler(left, keys=keys) and time.time() < deadline:
            time.sleep(0.1)
        assert client.run_on_scheduler(left, keys=keys) == []  # gone from the cluster
    finally:
        gate.set()
        client.gather(blockers)
    _check(panel, df, "r_psfFlux")
    assert panel.result["histogram"].column == "r_psfFlux"
