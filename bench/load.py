"""Load harness (issue 6): many concurrent sessions against one ``repo-explorer serve``.

For every ``--num-procs`` K and every session count N it starts ``repo-explorer serve REPO --port P
--num-procs K`` (the checkout's ``python -m explorer.cli``, on 127.0.0.1, a fresh server per
configuration so peaks do not carry over), opens N Bokeh client sessions (``bokeh.client``: the
same websocket protocol and document a browser gets, without the browser's rendering cost), and
lets every session click around for ``--duration`` seconds: it switches exposures (visit/detector
for calexps, band/tract/patch for coadds, the image kind), planes, catalogs and histogram columns,
with a randomised think time between interactions (fixed seed).

An interaction sets a widget model's ``value`` (Select) or ``active`` (RadioButtonGroup) on the
client document; Bokeh syncs it to the server, where Panel's callbacks run. Its latency is the
time from that change until a document patch from the server has replaced the data it should
replace: the image's ColumnDataSource (exposure, kind, plane) or the histogram's (catalog, column).
A catalog change is answered when the histogram's caption (which names the catalog) changes: the
histogram's data comes in the same update, except when the new catalog's histogram is identical
(``deepCoadd_forced_src`` and ``deepCoadd_mergeDet`` share their ``coord_ra``: forced photometry
is measured at the merged detections' positions), when no data is sent at all; such replies are
counted as ``catalog_same_histogram``.

Errors, by kind: ``timeout`` (no reply within ``--timeout`` s), ``exception`` (in a client),
``connect`` (a session that could not open), ``page_incomplete`` (a session whose document came
without the page's widgets: what came instead is in ``error_examples``), ``alert`` (the page's
error alert, css ``explorer-error``, became visible with a new text; not when it rightly says that
a registered file is missing: those are counted as ``missing_file_reported``),
``server_traceback`` (tracebacks in the server's output, stderr and stdout). Memory: the server's
process tree (the parent and, with ``--num-procs 2``, its forked children) is sampled every 0.2 s:
summed VmRSS (peak), summed PSS (shared pages counted once, so forked processes are not double
counted) and summed VmHWM at the end.

    python bench/load.py                       # 1, 5, 20 sessions x 1, 2 processes, small sample
    python bench/load.py --sessions 2 --num-procs 1 --duration 10 --json > out.json

Figures go to stdout (a table, or one JSON object with ``--json``); progress to stderr. Set
``LOAD_SERVER_LOG=FILE`` to keep the server's output (stderr and stdout) of the last configuration.
The harness runs on the same machine as the server: its own CPU (``client_cpu_s``) and the load
average are reported with each configuration, since both compete with the server for the cores.

Each client sends ``DocumentReady`` after pulling the document, as BokehJS does once the page is
drawn: without it Panel holds back the plots' data updates, and no interaction would get a reply.
It then waits for the image's data (``session_ready_ms``) before the timed interactions start, so
the figures per interaction do not carry the sessions' opening (``bench/session_open.py``).
"""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

from benchlib import ROOT, child_env, explorer_cli, loadavg, machine_info
from fig_server import free_port, proc_status

DEFAULT_SAMPLE = ROOT / "sample_repo" / "dc2-gen3"
SAMPLE_S = 0.2
PSS_EVERY = 5  # PSS (smaps_rollup: the kernel walks the server's page tables, ~10 ms) every 5th sample
IMAGE, HIST, CATALOG = "image", "hist", "catalog"
# (action, weight) per image kind; what each action's reply replaces is in EXPECT
ACTIONS = {
    "calexp": [("visit", 3), ("detector", 3), ("plane", 2), ("column", 2), ("catalog", 1), ("kind", 1)],
    "coadd": [("band", 2), ("tract", 2), ("patch", 2), ("plane", 2), ("column", 2), ("catalog", 1), ("kind", 1)],
}
EXPECT = {"visit": IMAGE, "detector": IMAGE, "band": IMAGE, "tract": IMAGE, "patch": IMAGE, "kind": IMAGE,
          "plane": IMAGE, "column": HIST, "catalog": CATALOG}


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----- the server and its memory -------------------------------------------------------------------
def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (through every thread's ``children`` list)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def pss_kb(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def tree_memory(pid: int, with_pss: bool = True) -> dict[str, float]:
    """Summed VmRSS, VmHWM and (``with_pss``, else 0) PSS (MB) of the server's process tree, and
    how many processes."""
    rss = hwm = pss = 0
    pids = process_tree(pid)
    for p in pids:
        try:
            st = proc_status(p)
        except OSError:
            continue
        rss += st.get("VmRSS", 0)
        hwm += st.get("VmHWM", 0)
        pss += (pss_kb(p) or 0) if with_pss else 0
    return {"rss_mb": rss / 1024, "hwm_mb": hwm / 1024, "pss_mb": pss / 1024, "procs": len(pids)}


def tree_cpu(pid: int) -> dict[int, float]:
    """User + system CPU seconds used so far by each process of the server's tree."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15 of stat)
        except (OSError, IndexError, ValueError):
            continue
    return out


_PROPERTIES: dict[type, frozenset] = {}


class IncompletePage(Exception):
    """A session's document came without the page's widgets."""


def model_property(model: Any, name: str) -> Any:
    """``model.name``, or None when the Bokeh model has no such property. (``getattr(model, name,
    None)`` costs Bokeh a "did you mean" search through every property name when it has none:
    the client harness spent most of its CPU there, scanning the ~560 models of the page.)"""
    kind = type(model)
    names = _PROPERTIES.get(kind)
    if names is None:
        names = _PROPERTIES[kind] = frozenset(kind.properties())
    return getattr(model, name) if name in names else None


def is_button_group(model: Any) -> bool:
    """A widget chosen among labels by index (``active``), not a select's ``options``."""
    return model_property(model, "labels") is not None and model_property(model, "options") is None


class MemorySampler(threading.Thread):
    """Samples :func:`tree_memory` every 0.2 s (PSS every :data:`PSS_EVERY` samples: reading it
    took the harness 8% of a core); ``peak()`` since the last ``reset()``."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop_flag = pid, threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.max_rss = self.max_pss = 0.0
            self.samples = 0

    def run(self) -> None:
        while not self.stop_flag.is_set():
            m = tree_memory(self.pid, with_pss=self.samples % PSS_EVERY == 0)
            with self.lock:
                self.max_rss = max(self.max_rss, m["rss_mb"])
                self.max_pss = max(self.max_pss, m["pss_mb"])
                self.samples += 1
            self.stop_flag.wait(SAMPLE_S)

    def peak(self) -> dict[str, float]:
        with self.lock:
            return {"rss_mb": self.max_rss, "pss_mb": self.max_pss, "samples": self.samples}


class Server:
    """``repo-explorer serve REPO --port P --num-procs K`` in its own process group, stderr to a file.

    With ``nginx``: K ``serve --num-procs 1`` processes (one process group) behind Debian's nginx
    running docs/nginx.conf (:func:`explorer.hosting.nginx_config`), which the sessions reach.
    """

    def __init__(self, repo: Path, num_procs: int, cache_bytes: Optional[int], nginx: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/explorer"
        self.err_file = tempfile.NamedTemporaryFile("w+", prefix="load-server-", suffix=".log", delete=False)
        env = child_env()
        env["PYTHONUNBUFFERED"] = "1"  # what the server prints is in the log when it is read
        if cache_bytes is not None:
            env["REPO_EXPLORER_CACHE_BYTES"] = str(cache_bytes)
        self.nginx: Optional[subprocess.Popen] = None
        if not nginx:
            self.backend_ports = [self.port]
            cmd = explorer_cli() + ["serve", str(repo), "--port", str(self.port), "--num-procs", str(num_procs)]
        else:
            self.backend_ports = [free_port() for _ in range(num_procs)]
            backends = [shlex.join(explorer_cli() + ["serve", str(repo), "--port", str(p), "--num-procs", "1",
                                                     "--allow-websocket-origin", f"127.0.0.1:{self.port}"])
                        for p in self.backend_ports]
            cmd = ["sh", "-c", " & ".join(backends) + " & wait"]  # (one group: memory and CPU of all)
            self.nginx = self._start_nginx()
        # stdout too: Panel prints the traceback of a session whose page failed there, not to stderr
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.err_file, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=str(ROOT))

    def _start_nginx(self) -> subprocess.Popen:
        from explorer.hosting import nginx_config

        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx_dir = Path(tempfile.mkdtemp(prefix="load-nginx-"))
        conf = self.nginx_dir / "nginx.conf"
        conf.write_text(nginx_config(self.port, self.backend_ports, self.nginx_dir))
        return subprocess.Popen([exe, "-p", str(self.nginx_dir), "-c", str(conf), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_up(self, deadline_s: float = 300.0) -> float:
        """Seconds until every server (and nginx) accepts a websocket session (an HTTP answer)."""
        import urllib.error
        import urllib.request

        t0 = time.perf_counter()
        ports = self.backend_ports + ([self.port] if self.nginx is not None else [])
        for port in ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited ({self.proc.returncode}): {self.stderr()[-1500:]}")
                try:  # the static JS bundle: answers as soon as tornado listens, without building a page
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/js/bokeh.min.js", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError, OSError):
                    if time.perf_counter() - t0 > deadline_s:
                        raise RuntimeError(f"server did not answer within {deadline_s} s") from None
                    time.sleep(0.2)
        return time.perf_counter() - t0

    def stderr(self) -> str:
        self.err_file.flush()
        return Path(self.err_file.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.nginx is not None:
            if self.nginx.poll() is None:
                os.killpg(self.nginx.pid, signal.SIGTERM)
                self.nginx.wait(timeout=20)
            shutil.rmtree(self.nginx_dir, ignore_errors=True)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.err_file.close()
        os.unlink(self.err_file.name)


def server_problems(text: str) -> dict[str, Any]:
    """Tracebacks and ERROR lines in the server's stderr (with the last line of the first few)."""
    blocks = text.split("Traceback (most recent call last):")[1:]
    lasts = []
    for b in blocks[:5]:
        lines = [ln for ln in b.splitlines() if ln.strip() and not ln.startswith(" ")]
        lasts.append(lines[0][:300] if lines else "?")
    errors = [ln[:300] for ln in text.splitlines() if re.search(r"\bERROR\b", ln)]
    return {"tracebacks": len(blocks), "error_lines": len(errors), "first": lasts, "first_error_lines": errors[:5]}


def missing_file_reported(alert_text: str) -> bool:
    """Whether an alert is the app reporting a registered dataset whose file is indeed not on disk
    (the small sample deletes one calexp on purpose, as the notebook's ``datasetExists`` lesson):
    a correct answer, not an error."""
    m = re.search(r"is registered but its file is not on disk \(expected at (.+?)\)", alert_text)
    return bool(m) and not Path(m.group(1)).exists()


# ----- one client session --------------------------------------------------------------------------
def _import_models() -> None:
    import panel.models  # noqa: F401 - registers Panel's Bokeh models for deserialisation
    import panel.models.location  # noqa: F401
    import panel.models.tabulator  # noqa: F401


class Client(threading.Thread):
    """One session: open (pull the document), wait for everyone, then interact until the deadline.

    Runs its own tornado IOLoop; a reader coroutine applies the server's patches to the client
    document (as ``ClientSession`` would) and wakes the driver, which checks whether the data it
    waits for has been replaced.
    """

    def __init__(self, index: int, url: str, start_barrier: threading.Barrier, duration: float,
                 think: float, timeout: float, seed: int):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index, self.url, self.barrier = index, url, start_barrier
        self.duration, self.think, self.timeout = duration, think, timeout
        self.rng = random.Random(seed * 1000 + index)
        self.latencies: list[tuple[str, float]] = []  # (action, ms)
        self.same_histogram = 0  # catalog changes answered by the caption alone (identical histogram)
        self.missing_reported = 0  # alerts naming a registered file that is indeed absent
        self.errors: dict[str, int] = {}
        self.error_texts: list[str] = []
        self.open_s: Optional[float] = None  # until the document arrived
        self.ready_s: Optional[float] = None  # until the image's data arrived (the page loaded)
        self.connected = threading.Event()

    def error(self, kind: str, text: str = "") -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if text and len(self.error_texts) < 5:
            self.error_texts.append(f"{kind}: {text[:2000 if kind == 'page_incomplete' else 300]}")

    # -- the document -------------------------------------------------------------------------------
    def _widget(self, css: str):
        for m in self.doc.models:
            if css in (model_property(m, "css_classes") or []):
                return m
        return None

    def _what_came(self) -> str:
        """What a document without the page's widgets holds: its roots, its models, and the start
        of its texts (an error page says why)."""
        models = list(self.doc.models)
        roots = ", ".join(type(r).__name__ for r in self.doc.roots)
        texts = [t for m in models if isinstance(t := model_property(m, "text"), str) and t.strip()]
        classes = sorted({c for m in models for c in (model_property(m, "css_classes") or [])})
        first = re.sub(r"<[^>]+>", " ", html.unescape(texts[0]))[:1500] if texts else ""
        return (f"session {self.session.id if self.session else '?'}: {len(models)} models, roots [{roots}], "
                f"css classes {classes[:12]}, first text: {' '.join(first.split())}")

    def _text_with(self, *parts: str) -> str:
        """The first text of the page (an HTML pane's) that holds every one of ``parts``, or ''."""
        for m in self.doc.models:
            text = model_property(m, "text")
            if isinstance(text, str) and all(part in text for part in parts):
                return text
        return ""

    def _caption(self) -> str:
        """Text of the histogram's caption (an HTML pane that names the catalog and its data ID)."""
        return self._text_with("hist-caption")

    def _missing_title(self) -> str:
        """The image title's text when it says why there is no image (CSS ``image-missing``), else ''."""
        return self._text_with("image-title", "image-missing")

    def _says(self, words: str) -> bool:
        """Whether a text of the page (a title, a pane) holds ``words``."""
        return bool(self._text_with(words))

    def _signature(self, what: str) -> frozenset:
        """Identity of the data now shown: the image's (``image``) or the histogram's (``top``)
        sources; for a catalog change, the histogram's and the caption's text."""
        from bokeh.models import ColumnDataSource

        if what == CATALOG:
            return self._signature(HIST) | {("caption", self._caption())}
        keys = ("image", "url") if what == IMAGE else ("top",)  # (the image: raw RGBA, or a PNG data URL)
        out = set()
        for m in self.doc.models:
            for key in keys:
                if isinstance(m, ColumnDataSource) and key in m.data:
                    out.add((m.id, id(m.data), id(m.data[key])))
        return frozenset(out)

    def _check_alert(self) -> None:
        alert = self._alert
        if alert is not None and alert.visible and alert.text and alert.text != self._last_alert:
            self._last_alert = alert.text
            text = re.sub(r"<[^>]+>", "", html.unescape(str(alert.text)))
            if missing_file_reported(text):
                self.missing_reported += 1  # the right answer: the sample removes one calexp on purpose
            else:
                self.error("alert", text)
        elif alert is not None and not alert.visible:
            self._last_alert = None

    @staticmethod
    def _options(select) -> list[str]:
        opts = select.options
        if isinstance(opts, dict):  # grouped options
            opts = [o for group in opts.values() for o in group]
        return [o[0] if isinstance(o, (list, tuple)) else o for o in opts]

    @staticmethod
    def _value(model) -> Any:
        """A widget model's value as shown: a button group's active label, a select's value."""
        if is_button_group(model):
            return model.labels[model.active] if model.active is not None else None
        return model_property(model, "value")

    def _shown(self) -> str:
        """What the page shows (its selection), for an error's message."""
        parts = []
        for name in ("kind", "band", "tract", "patch", "visit", "detector", "plane"):
            model = self._widgets.get(name)
            if model is None:
                continue
            parts.append(f"{name}={self._value(model)}")
        return " ".join(parts)

    def _plan(self) -> Optional[tuple[str, Any, Any]]:
        """(action, model, new value) of the next interaction, or None if nothing can change."""
        kind_model = self._widgets["kind"]
        kind = self._value(kind_model)
        kind = "coadd" if kind is None else kind
        have_image = bool(self._signature(IMAGE)) and not self._says("no image for this selection")
        candidates = []
        for action, weight in ACTIONS.get(kind, ACTIONS["coadd"]):
            if action == "plane" and not have_image:
                continue  # nothing shown (the blank frame of a selection without an image): nothing to replace
            model = self._widgets[action]
            if model is None:
                continue
            if is_button_group(model):
                choices = [i for i in range(len(model.labels)) if i != model.active]
            else:
                choices = [o for o in self._options(model) if o != model.value and o not in ("", None)]
            if choices:
                candidates.append((action, weight, model, choices))
        if not candidates:
            return None
        action, _, model, choices = self.rng.choices(candidates, weights=[c[1] for c in candidates])[0]
        return action, model, self.rng.choice(choices)

    # -- the thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        from bokeh.client import pull_session

        try:
            t0 = time.perf_counter()
            self.session = pull_session(url=self.url)
            self.open_s = time.perf_counter() - t0
            self.doc = self.session.document
            self._widgets = {name: self._widget(f"w-{name}") for name in
                             ("kind", "band", "tract", "patch", "visit", "detector", "plane", "catalog", "column")}
            if self._widgets["kind"] is None:  # not the page: say what came instead, and stop here
                raise IncompletePage(self._what_came())
            self._alert = self._widget("explorer-error")
            self._last_alert = None
            self._check_alert()
            self.session._connection.io_loop.run_sync(self._load)
            self.ready_s = time.perf_counter() - t0
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            self.error("page_incomplete" if isinstance(exc, IncompletePage) else "connect",
                       f"{type(exc).__name__}: {exc}")
            self.connected.set()
            try:
                self.barrier.wait(timeout=600)
            except threading.BrokenBarrierError:
                pass
            return
        self.connected.set()
        try:
            self.barrier.wait(timeout=600)
        except threading.BrokenBarrierError:
            self.error("connect", "other sessions did not open in time")
            self.session.close()
            return
        loop = self.session._connection.io_loop
        try:
            loop.run_sync(self._main)
        except Exception as exc:  # noqa: BLE001
            self.error("exception", f"{type(exc).__name__}: {exc}")
        finally:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001
                pass

    async def _load(self) -> None:
        """Draw the page as a browser does: send ``DocumentReady`` and wait for the image's data,
        so the session is open and loaded before the timed interactions start."""
        from bokeh.events import DocumentReady

        self._patched = asyncio.Event()
        self._closed = False
        self._reader = asyncio.ensure_future(self._read())
        # what BokehJS sends once the page is rendered: Panel marks the session loaded and only
        # then sends the plots' data updates (held until a client can draw them)
        self.doc.callbacks.send_event(DocumentReady())
        deadline = time.perf_counter() + READY_TIMEOUT_S
        while not self._signature(IMAGE) and not self._closed and time.perf_counter() < deadline:
            self._patched.clear()
            try:
                await asyncio.wait_for(self._patched.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
        if not self._signature(IMAGE):
            self.error("connect", f"no image {READY_TIMEOUT_S:g} s after DocumentReady")

    async def _main(self) -> None:
        try:
            await self._drive()
        finally:
            self._reader.cancel()

    async def _read(self) -> None:
        """Apply the server's patches to the client document (what ``ClientSession`` does in its loop)."""
        conn = self.session._connection
        while True:
            message = await conn._pop_message()
            if message is None:
                self.error("exception", "connection closed by the server")
                self._closed = True
                self._patched.set()
                return
            if message.msgtype == "PATCH-DOC":
                try:
                    self.session._handle_patch(message)
                except Exception as exc:  # noqa: BLE001
                    self.error("exception", f"applying a patch: {type(exc).__name__}: {exc}")
                self._check_alert()
                self._patched.set()

    async def _drive(self) -> None:
        end = time.perf_counter() + self.duration
        while time.perf_counter() < end and not self._closed:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
            if time.perf_counter() >= end:
                break
            plan = self._plan()
            if plan is None:
                self.error("exception", "no widget offers another choice")
                return
            action, model, value = plan
            what = EXPECT[action]
            before = self._signature(what)
            # a selection without an image (the sample's missing calexp) is answered by the title
            # saying so: after another such selection the frame is blank already and no data is sent
            missing_before = self._missing_title() if what == IMAGE else ""
            self._patched.clear()
            t0 = time.perf_counter()
            if is_button_group(model):
                model.active = value
            else:
                model.value = value
            deadline, late = t0 + self.timeout, False
            # after a timeout, keep waiting (a while) for the late reply, so that it is not taken
            # for the reply to the next interaction
            give_up = min(t0 + 3 * self.timeout, end + self.timeout)
            while True:
                now = time.perf_counter()
                if not late and now >= deadline:
                    self.error("timeout", f"{action}={value}: no reply in {self.timeout:g} s "
                                          f"(shown: {self._shown()})")
                    late = True
                if now >= give_up:
                    break
                try:
                    await asyncio.wait_for(self._patched.wait(), (give_up if late else deadline) - now)
                except asyncio.TimeoutError:
                    continue
                self._patched.clear()
                if self._closed:
                    return
                missing = self._missing_title() if what == IMAGE else ""
                if self._signature(what) != before or (missing and missing != missing_before):
                    if not late:
                        self.latencies.append((action, (time.perf_counter() - t0) * 1000))
                    if what == CATALOG and self._signature(HIST) <= before:
                        self.same_histogram += 1
                    break


# ----- one configuration ---------------------------------------------------------------------------
READY_TIMEOUT_S = 120.0  # from DocumentReady to the image's data, at the most


def pct(values: list[float], q: float) -> Optional[float]:
    if not values:
        return None
    vals = sorted(values)
    k = (len(vals) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return round(vals[lo] + (vals[hi] - vals[lo]) * (k - lo), 1)


def run_config(repo: Path, n: int, num_procs: int, args: argparse.Namespace) -> dict[str, Any]:
    via = f"{num_procs} servers behind nginx" if args.nginx else f"--num-procs {num_procs}"
    log(f"--- {n} session(s), {via}: starting the server")
    server = Server(repo, num_procs, args.cache_bytes, nginx=args.nginx)
    sampler = None
    try:
        up_s = server.wait_up()
        sampler = MemorySampler(server.proc.pid)
        sampler.start()
        started = tree_memory(server.proc.pid)
        # baseline: the server after start and one session (opened, a few interactions, closed)
        one = Client(-1, server.url, threading.Barrier(1), min(args.duration, 4.0), args.think, args.timeout,
                     args.seed)
        one.start()
        one.join(args.timeout + 120)
        first_s = one.open_s or float("nan")
        time.sleep(0.5)
        baseline = tree_memory(server.proc.pid)
        log(f"up in {up_s:.1f} s, first session in {first_s:.1f} s; RSS {baseline['rss_mb']:.0f} MB "
            f"(PSS {baseline['pss_mb']:.0f} MB) after start and one session")
        sampler.reset()
        barrier = threading.Barrier(n + 1)
        clients = [Client(i, server.url, barrier, args.duration, args.think, args.timeout, args.seed)
                   for i in range(n)]
        t_open = time.perf_counter()
        for c in clients:
            c.start()
        for c in clients:
            c.connected.wait(600)
        open_s = time.perf_counter() - t_open
        log(f"{n} session(s) open in {open_s:.1f} s; interacting for {args.duration:g} s")
        try:
            barrier.wait(timeout=600)
        except threading.BrokenBarrierError:
            pass
        t_run = time.perf_counter()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu0 = tree_cpu(server.proc.pid)
        for c in clients:
            c.join(args.duration + args.timeout + 120)
        run_s = time.perf_counter() - t_run
        server_cpu1 = tree_cpu(server.proc.pid)
        cpu_by_proc = {p: round(v - server_cpu0.get(p, 0.0), 1) for p, v in server_cpu1.items()}
        server_cpu = sum(cpu_by_proc.values())
        log(f"sessions done after {run_s:.1f} s")
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(SAMPLE_S * 2)
        peak = sampler.peak()
        end_mem = tree_memory(server.proc.pid)
        alive = server.proc.poll() is None
    finally:
        if sampler is not None:
            sampler.stop_flag.set()
        text = server.stderr()
        problems = server_problems(text)
        if os.environ.get("LOAD_SERVER_LOG"):
            Path(os.environ["LOAD_SERVER_LOG"]).write_text(text)
        server.stop()

    lat = [ms for c in clients for _, ms in c.latencies]
    by_action: dict[str, list[float]] = {}
    for c in clients:
        for action, ms in c.latencies:
            by_action.setdefault(action, []).append(ms)
    errors: dict[str, int] = {}
    for c in clients:
        for k, v in c.errors.items():
            errors[k] = errors.get(k, 0) + v
    if problems["tracebacks"]:
        errors["server_traceback"] = problems["tracebacks"]
    if not alive:
        errors["server_died"] = 1
    cache_bound_mb = (args.cache_bytes if args.cache_bytes is not None else default_cache_bytes()) / 1024**2
    growth = peak["rss_mb"] - baseline["rss_mb"]
    growth_pss = peak["pss_mb"] - baseline["pss_mb"]
    result = {
        "sessions": n, "num_procs": num_procs, "nginx": args.nginx, "duration_s": args.duration, "think_s": args.think,
        "interactions": len(lat),
        "interactions_per_s": round(len(lat) / run_s, 2) if run_s else None,
        "latency_ms": {"p50": pct(lat, 0.5), "p95": pct(lat, 0.95),
                       "max": round(max(lat), 1) if lat else None,
                       "mean": round(statistics.fmean(lat), 1) if lat else None},
        "latency_ms_by_action": {a: {"n": len(v), "p50": pct(v, 0.5), "p95": pct(v, 0.95), "max": round(max(v), 1)}
                                 for a, v in sorted(by_action.items())},
        "errors": errors, "error_count": sum(errors.values()),
        "catalog_same_histogram": sum(c.same_histogram for c in clients),
        "missing_file_reported": sum(c.missing_reported for c in clients),
        "error_examples": [t for c in clients for t in c.error_texts][:8] + problems["first"],
        "first_session": {"interactions": len(one.latencies), "errors": one.errors},
        "server_error_lines": problems["first_error_lines"],
        "server_up_s": round(up_s, 2), "first_session_s": round(first_s, 2),
        "open_sessions_s": round(open_s, 2),
        "session_open_s": {"p50": pct([c.open_s * 1000 for c in clients if c.open_s], 0.5),
                           "max": pct([c.open_s * 1000 for c in clients if c.open_s], 1.0)},
        "session_ready_ms": {"p50": pct([c.ready_s * 1000 for c in clients if c.ready_s], 0.5),
                             "max": pct([c.ready_s * 1000 for c in clients if c.ready_s], 1.0)},
        "memory_mb": {
            "processes": baseline["procs"],
            "rss_after_start": round(started["rss_mb"], 1),
            "rss_after_start_and_one_session": round(baseline["rss_mb"], 1),
            "pss_after_start_and_one_session": round(baseline["pss_mb"], 1),
            "peak_rss": round(max(peak["rss_mb"], baseline["rss_mb"]), 1),
            "peak_pss": round(max(peak["pss_mb"], baseline["pss_mb"]), 1),
            "vm_hwm_sum_at_end": round(end_mem["hwm_mb"], 1),
            "rss_at_end": round(end_mem["rss_mb"], 1),
            "per_session_rss": round(growth / n, 1),
            "per_session_pss": round(growth_pss / n, 1),
            "cache_bound_per_process": round(cache_bound_mb, 1),
            "cache_bound_total": round(cache_bound_mb * num_procs, 1),
            "samples": peak["samples"],
        },
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_s_by_process": list(cpu_by_proc.values()),
        "server_cpu_ms_per_interaction": round(server_cpu * 1000 / len(lat)) if lat else None,
        "server_cpu_share_of_all_cores": round(server_cpu / run_s / (os.cpu_count() or 1), 2) if run_s else None,
        "load_average_after": loadavg(),
        "client_cpu_s": round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 1),
    }
    p95 = result["latency_ms"]["p95"]
    result["goal"] = {"p95_le_1000ms": p95 is not None and p95 <= 1000, "zero_errors": not errors,
                      "memory_within_cache_bound_plus_sessions":
                          growth <= cache_bound_mb * num_procs + n * args.session_budget_mb}
    lm = result["latency_ms"]
    log(f"{n} x {num_procs}: {len(lat)} interactions, p50 {lm['p50']} p95 {lm['p95']} max {lm['max']} ms, "
        f"errors {errors or 0}, peak RSS {result['memory_mb']['peak_rss']} MB, "
        f"{result['memory_mb']['per_session_rss']} MB/session")
    return result


def default_cache_bytes() -> int:
    from explorer.repo.cache import DEFAULT_MAX_BYTES, ENV_MAX_BYTES

    raw = os.environ.get(ENV_MAX_BYTES)
    try:
        return int(raw) if raw else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"need integers >= 1: {text!r}")
    return values


def table(results: list[dict[str, Any]]) -> str:
    head = (f"{'N':>3} {'procs':>5} {'inter':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7} "
            f"{'base MB':>8} {'peak MB':>8} {'peakPSS':>8} {'MB/sess':>8}  goal")
    lines = [head, "-" * len(head)]
    for r in results:
        lm, mm = r["latency_ms"], r["memory_mb"]
        ok = "ok" if all(r["goal"].values()) else "MISSED " + ",".join(k for k, v in r["goal"].items() if not v)
        lines.append(f"{r['sessions']:>3} {r['num_procs']:>5} {r['interactions']:>6} {lm['p50']!s:>8} "
                     f"{lm['p95']!s:>8} {lm['max']!s:>8} {r['error_count']:>7} "
                     f"{mm['rss_after_start_and_one_session']:>8} {mm['peak_rss']:>8} {mm['peak_pss']:>8} "
                     f"{mm['per_session_rss']:>8}  {ok}")
        if r["errors"]:
            lines.append(f"      errors: {r['errors']}; e.g. {r['error_examples'][:2]}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", help="repository to serve (default: the small sample, built if absent; "
                                  "the large one is bench/out/large)")
    p.add_argument("--sessions", type=ints, default=[1, 5, 20], help="session counts (default 1,5,20)")
    p.add_argument("--num-procs", type=ints, default=[1, 2], help="server process counts (default 1,2)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of interaction per configuration")
    p.add_argument("--think", type=float, default=1.0, help="mean think time between interactions (s; "
                                                            "uniform in 0.5..1.5 times this)")
    p.add_argument("--timeout", type=float, default=10.0, help="an interaction without a reply by then is an error")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache-bytes", type=int, help="REPO_EXPLORER_CACHE_BYTES for the server")
    p.add_argument("--session-budget-mb", type=float, default=50.0,
                   help="stated per-session memory budget for the memory goal (default 50)")
    p.add_argument("--nginx", action="store_true",
                   help="K separate servers behind nginx (docs/nginx.conf) instead of --num-procs K")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = p.parse_args(argv)

    if args.repo:
        repo = Path(args.repo).resolve()
        if not repo.is_dir():
            p.error(f"no such repository: {repo}")
    else:
        from explorer.defaults import ensure_sample

        repo = ensure_sample(DEFAULT_SAMPLE, progress=log)
    _import_models()
    t0 = time.perf_counter()
    results = []
    for k in args.num_procs:
        for n in args.sessions:
            results.append(run_config(repo, n, k, args))
    out = {"repo": str(repo), "machine": machine_info(),
           "options": {"sessions": args.sessions, "num_procs": args.num_procs, "duration_s": args.duration,
                       "think_s": args.think, "timeout_s": args.timeout, "seed": args.seed,
                       "cache_bytes": args.cache_bytes if args.cache_bytes is not None else default_cache_bytes(),
                       "session_budget_mb": args.session_budget_mb, "nginx": args.nginx},
           "wall_s": round(time.perf_counter() - t0, 1), "results": results,
           "goal_met": all(all(r["goal"].values()) for r in results if r["sessions"] == max(args.sessions))}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(table(results))
        print(f"wall {out['wall_s']} s; cache bound {out['options']['cache_bytes'] / 1024**2:.0f} MB per process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
