"""A survey-scale catalog as a source: a HATS catalog (a local directory or a URL) read through LSDB,
its histogram and sky density map computed on Dask (:mod:`explorer.compute.hats`).

The server process never holds the catalog: each computation is one task per HEALPix partition on
the cluster's workers, and only bin counts or a density grid come back. The cluster is a
``distributed.LocalCluster`` on 127.0.0.1, started on first use and shared by the sessions of the
process, or the scheduler named by ``repo-explorer serve --dask-scheduler`` (environment variable
:data:`ENV_SCHEDULER`). Long work shows its progress (partitions done of total) and is cancelled
when the selection changes (another path, column, or area). The histogram's range comes from the
catalog's column statistics when HATS has them (and no area filter applies).

The catalog open is in the link (URL key ``hats``, :attr:`ExplorerState.hats_catalog`): a path is
checked as a repository path is (inside the server's ``--repo-root`` directories, if any) whether
typed or read from a link, and written relative to the first root; a URL is allowed on a confined
server only on a host the operator allowed, and one with credentials (user, password, query) is
never put in a link.

CSS hooks: ``hats-path`` (the path box), ``hats-status`` (progress and results: ``data-rows``,
``data-total``), ``hats-histogram`` and ``hats-density`` (the plots).
"""
from __future__ import annotations

import atexit
import html
import logging
import os
import threading
from contextlib import ExitStack
from typing import Any

import numpy as np
import panel as pn
import param

from ...compute.catalog import Histogram
from ...compute.cluster import JobCancelled, dask_client
from ...compute.hats import SkyFilter, catalog_columns, hats_density, hats_histogram, resolve_hats_location
from ...errors import ExplorerError
from ...views.catalog import histogram_element
from ...views.catalog_tools import sky_density_element
from ...views.sky import SkyFrame
from ..base import Panel, describe_failure
from ..histogram import empty_histogram
from .density import GRID, empty_density
from ..figures import figure_pane

log = logging.getLogger(__name__)

ENV_SCHEDULER = "REPO_EXPLORER_DASK_SCHEDULER"
RA_DEC = ("coord_ra", "coord_dec")

_client_lock = threading.Lock()
_client: Any | None = None
_client_stack = ExitStack()


def shared_client():
    """The process's Dask client: to ``$REPO_EXPLORER_DASK_SCHEDULER`` or a LocalCluster (started once)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = _client_stack.enter_context(dask_client(os.environ.get(ENV_SCHEDULER) or None))
            atexit.register(close_shared_client)
        return _client


def close_shared_client() -> None:
    """Close the shared client (and the LocalCluster it started)."""
    global _client
    with _client_lock:
        _client = None
        _client_stack.close()


def image_cone(state) -> SkyFilter | None:
    """A cone around the image shown (centre, radius to its farthest corner), or None."""
    exposure = state.exposure()
    if exposure is None:
        return None
    centre, corners = exposure.info.center_sky(), exposure.info.corners_sky()
    if centre is None or corners is None:
        return None
    from ...compute.sources import _separation_deg

    radius = float(np.max(_separation_deg(centre[0], centre[1], corners[:, 0], corners[:, 1])))
    return SkyFilter(ra=float(centre[0]), dec=float(centre[1]), radius_arcsec=radius * 3600.0)


def view_cone(state) -> SkyFilter | None:
    """A cone around the part of the image in view (the zoom box, else the whole image): centre
    of the view, radius to its farthest corner; None without an image with a WCS."""
    zoom = state.zoom
    if zoom is None:
        return image_cone(state)
    exposure = state.exposure()
    if exposure is None or not exposure.info.has_sky:
        return None
    x0, x1, y0, y1 = (float(v) for v in zoom)
    xs = np.array([0.5 * (x0 + x1), x0, x1, x0, x1])
    ys = np.array([0.5 * (y0 + y1), y0, y0, y1, y1])
    ra, dec = exposure.info.pixel_to_sky(xs, ys)
    if not np.all(np.isfinite(ra)) or not np.all(np.isfinite(dec)):
        return image_cone(state)
    from ...compute.sources import _separation_deg

    radius = float(np.max(_separation_deg(ra[0], dec[0], ra[1:], dec[1:])))
    return SkyFilter(ra=float(ra[0]), dec=float(dec[0]), radius_arcsec=max(radius * 3600.0, 1.0))


def describe_cone(sky: SkyFilter | None) -> str:
    if sky is None:
        return "the whole catalog"
    return f"the view's cone (RA {sky.ra:.4f}, Dec {sky.dec:.4f}, radius {sky.radius_arcsec / 60:.2f}')"


def show_progress(bar, done: int, total: int) -> None:
    """``done`` of ``total`` on a progress bar. Its maximum is set before its value (a value above
    the current maximum is refused): a warm job, whose columns stay on the workers, reports
    "4 of 4" at once while the bar still says "of 1"."""
    total = max(int(total), 1)
    done = min(max(int(done), 0), total)
    if bar.value > total:
        bar.value = 0
    if bar.max != total:
        bar.max = total  # (apart: a watcher of max sets the value's bounds, after a batch update)
    bar.value = done


class BackgroundWork:
    """One piece of cluster work at a time for a panel, in a thread: starting another cancels the
    running one (its Dask jobs too), and only the newest result is delivered."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._generation = 0
        self._jobs: list = []
        self.thread: threading.Thread | None = None
        self.cancelled = 0

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            try:
                job.cancel()
            except Exception:  # noqa: BLE001 - a job of a client closed meanwhile: nothing runs
                log.debug("cancelling %s", job.label, exc_info=True)
        self.cancelled += len(jobs)

    def current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def start(self, work, done, failed) -> None:
        """Run ``work(on_job)`` in a thread; then ``done(result)`` or ``failed(exc)`` if still newest."""
        self.cancel()
        with self._lock:
            generation = self._generation

        def on_job(job) -> None:
            with self._lock:
                if generation != self._generation:
                    job.cancel()
                    return
                self._jobs.append(job)

        def run() -> None:
            try:
                result = work(on_job)
            except JobCancelled:
                return
            except Exception as exc:  # noqa: BLE001 - said in the panel
                if not isinstance(exc, ExplorerError):
                    log.exception("%s", self.name)
                if self.current(generation):
                    failed(exc)
                return
            with self._lock:
                if generation == self._generation:
                    self._jobs = []  # (finished: nothing to cancel)
            if self.current(generation):
                done(result)

        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 300.0) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


class HatsPanel(Panel):
    """A HATS catalog opened by path or URL: histogram of a column and RA/Dec density, on Dask.
    ``catalog`` is the path of the catalog open ('' when none), ``all_columns`` its columns: the
    catalog table and the scatter offer its rows (in the view's cone) once it is set."""

    title = "Survey catalog (HATS, on Dask)"
    opened_by = ("hats_catalog",)  # a link naming a HATS catalog opens this card
    catalog = param.String(default="", doc="The HATS catalog open (its path or URL), or ''")
    all_columns = param.List(default=[], doc="The open HATS catalog's columns")

    def __init__(self, **params):
        super().__init__(**params)
        self.path = pn.widgets.TextInput(label="HATS catalog (directory or URL)", placeholder="/path/to/hats/object",
                                         sizing_mode="stretch_width", css_classes=["hats-path"])
        self.column = pn.widgets.Select(label="Column", options=[], sizing_mode="stretch_width",
                                        css_classes=["hats-column"])
        self.log = pn.widgets.Checkbox(label="log10", value=True, css_classes=["hats-log"])
        self.cone = pn.widgets.Checkbox(label="only around the image", value=False, css_classes=["hats-cone"])
        self.progress = pn.indicators.Progress(value=0, max=1, active=False, sizing_mode="stretch_width",
                                               height=12, visible=False)
        self.status = pn.pane.HTML(self._status("open a HATS catalog: its histogram and sky density are "
                                                "computed on the Dask cluster"), sizing_mode="stretch_width")
        self.hist_plot = figure_pane(empty_histogram("no HATS catalog"), sizing_mode="stretch_width",
                                     linked_axes=False, css_classes=["hats-histogram"])
        self.density_plot = figure_pane(empty_density("no HATS catalog"), sizing_mode="stretch_width",
                                        linked_axes=False, css_classes=["hats-density"])
        self.result: dict[str, Any] = {}
        self._linked = ""  # what the link says of the catalog open
        self._jobs: list = []
        self.cancelled_jobs = 0  # jobs stopped because the choice changed while they ran
        self._generation = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.path.param.watch(lambda _e: self.open_path(), "value")
        for w in (self.column, self.log, self.cone):
            w.param.watch(lambda _e: self.start(), "value")
        self.state.param.watch(lambda *_e: self.cone.value and self.start(), ["exposure_ref"])
        self.subscribe(lambda *_e: self._on_link(), ["hats_catalog"])
        self._layout = pn.Column(self.path, pn.Row(self.column, self.log, self.cone, sizing_mode="stretch_width"),
                                 self.progress, self.status,
                                 pn.Row(self.hist_plot, self.density_plot, sizing_mode="stretch_width"),
                                 sizing_mode="stretch_width")

    @staticmethod
    def _status(text: str, **data: Any) -> str:
        attrs = "".join(f' data-{k}="{v}"' for k, v in data.items())
        return f'<div class="hats-status"{attrs} style="color:#666;font-size:12px">{html.escape(text)}</div>'

    # ----- opening -----------------------------------------------------------------------------------
    def _on_link(self) -> None:
        """A link (or the state) names a HATS catalog: open it unless it is the one open."""
        wanted = self.state.hats_catalog
        if wanted and wanted != self._linked and wanted != self.path.value.strip():
            self.path.value = wanted

    def open_path(self) -> None:
        """Check the path (allowed roots), read the catalog's columns (metadata only) and start
        the computations; the link then names the catalog."""
        text = self.path.value.strip()
        self.cancel()
        if not text:
            self.param.update(catalog="", all_columns=[])
            self._set_link("")
            return
        try:
            path, link = resolve_hats_location(text, getattr(self.state, "repo_roots", ()))
            columns = catalog_columns(path)
        except ExplorerError as exc:
            self.param.update(catalog="", all_columns=[])
            self.status.object = self._status(describe_failure(exc), failed=1)
            self.state.report(describe_failure(exc))
            self._set_link("")
            return
        self._set_link(link or "")
        numeric = [c for c in columns if c not in ("_healpix_29", "Norder", "Dir", "Npix")]
        self.param.update(all_columns=numeric, catalog=path)
        default = next((c for c in numeric if "flux" in c.lower() and not c.lower().endswith("err")), numeric[0])
        self.column.param.update(options=numeric, value=default if self.column.value not in numeric
                                 else self.column.value)
        self.start()

    def _set_link(self, link: str) -> None:
        self._linked = link
        if self.state.hats_catalog != link:
            self.state.hats_catalog = link

    # ----- work on the cluster ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the running work (the selection changed)."""
        with self._lock:
            self._generation += 1
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.cancel()
        self.cancelled_jobs += len(jobs)

    def start(self) -> None:
        """Cancel what runs and compute the histogram and density map of the current choice."""
        path, column = self.catalog, self.column.value
        if not path or not column:
            return
        self.cancel()
        sky = image_cone(self.state) if self.cone.value else None
        with self._lock:
            generation = self._generation
        self.progress.param.update(value=0, max=1, visible=True, active=True)
        self.status.object = self._status(f"computing the histogram of {column} on Dask ...")
        self._thread = threading.Thread(target=self._run, args=(generation, path, column, self.log.value, sky),
                                        name="hats-work", daemon=True)
        self._thread.start()

    def _current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def _on_job(self, generation: int, job) -> None:
        with self._lock:
            if generation != self._generation:
                job.cancel()
                self.cancelled_jobs += 1
                return
            self._jobs.append(job)

    def _run(self, generation: int, path: str, column: str, log10: bool, sky: SkyFilter | None) -> None:
        def progress(done: int, total: int) -> None:
            if self._current(generation):
                show_progress(self.progress, done, total)

        try:
            client = shared_client()
            hist = hats_histogram(path, column, client, bins=self.state.bins, log=log10, sky=sky,
                                  progress=progress, on_job=lambda j: self._on_job(generation, j))
            if not self._current(generation):
                return
            self.status.object = self._status(f"{column}: {hist.used:,} of {hist.rows:,} rows binned (range from "
                                              f"{hist.range_source}); computing the sky density ...",
                                              rows=hist.rows)
            self.hist_plot.object = histogram_element(Histogram(
                column, hist.edges, hist.counts, hist.rows, hist.used, hist.non_finite, hist.non_positive, hist.log))
            grid = hats_density(path, *RA_DEC, client, width=GRID, height=GRID, sky=sky, progress=progress,
                                on_job=lambda j: self._on_job(generation, j))
            if not self._current(generation):
                return
            dec_mid = 0.5 * (grid.y_range[0] + grid.y_range[1])
            self.density_plot.object = sky_density_element(grid, SkyFrame(0.5 * sum(grid.x_range), dec_mid))
            self.result = {"histogram": hist, "density": grid}
            self.status.object = self._status(
                f"{column}: {hist.used:,} of {hist.rows:,} rows binned (range from {hist.range_source}); "
                f"{grid.total:,} sources on the sky", rows=hist.rows, used=hist.used, total=grid.total,
                partitions=hist.extra.get("partitions", 0))
        except JobCancelled:
            return
        except Exception as exc:
            if not isinstance(exc, ExplorerError):
                log.exception("HATS work on %s", path)
            if self._current(generation):
                self.status.object = self._status(f"{column} of {path} failed: {describe_failure(exc)}", failed=1)
                self.state.report(f"the HATS catalog failed: {describe_failure(exc)}")
        finally:
            if self._current(generation):
                self.progress.param.update(active=False, visible=False)

    def wait(self, timeout: float = 300.0) -> None:
        """Wait for the running work (tests, notebooks)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def __panel__(self):
        return self._layout
