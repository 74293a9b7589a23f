"""Server figures: start to first rendered page, and peak memory with five sessions.

The server is ``repo-explorer serve REPO --port P`` in a subprocess (the checkout's
``python -m explorer.cli``), on 127.0.0.1. "First render" is the process start until a Bokeh
client session (what a browser opens over the websocket) has pulled a document holding the
rendered image (an ``ImageURL`` glyph, or ``ImageRGBA``): the whole page built on the server, image included.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import urlencode

from benchlib import child_env, explorer_cli, median, summary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident set) of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out


def get(url: str, timeout: float = 300.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read()


class Server:
    """``repo-explorer serve`` in a subprocess, stopped (by its own pid) on exit."""

    def __init__(self, repo: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/explorer"
        self.proc = subprocess.Popen(explorer_cli() + ["serve", str(repo), "--port", str(self.port)],
                                     env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

    def wait_page(self, query: Optional[dict[str, str]] = None, deadline_s: float = 600.0) -> bytes:
        """Poll until a GET of the page succeeds; returns the page."""
        url = self.url + ("?" + urlencode(query) if query else "")
        end = time.monotonic() + deadline_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.proc.stderr.read().decode()[-800:]}")
            try:
                return get(url)
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.05)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def open_session(url: str, query: Optional[dict[str, str]] = None):
    """A Bokeh client session (what a browser opens over the websocket), its document pulled."""
    import panel.models  # noqa: F401 - registers Panel's Bokeh models for deserialisation
    import panel.models.location  # noqa: F401
    import panel.models.tabulator  # noqa: F401
    from bokeh.client import pull_session

    return pull_session(url=url, arguments=query or None)


def pull_document(url: str, query: Optional[dict[str, str]] = None):
    """The Bokeh document a browser session receives (the session is closed afterwards)."""
    session = open_session(url, query)
    try:
        return session.document
    finally:
        session.close()


def has_image(doc) -> bool:
    """True when the document holds the rendered image (an ImageURL glyph, or an ImageRGBA one)."""
    for model in doc.models:
        if type(model).__name__ in ("ImageURL", "ImageRGBA"):
            return True
    return False


def session_queries(calexps: list[dict[str, Any]], n: int) -> list[dict[str, str]]:
    """Links to ``n`` different calexps (each session looks at its own exposure)."""
    out = []
    for c in calexps[:n]:
        out.append({"kind": "calexp", "tract": "3828", "patch": "3,3", "band": c["band"],
                    "visit": str(c["visit"]), "detector": str(c["detector"])})
    while len(out) < n:
        out.append({})
    return out


def run(repo: Path, calexps: list[dict[str, Any]], keys: set[str], repeat: int,
        log: Callable[[str], None]) -> dict:
    out: dict[str, Any] = {}
    details: dict[str, Any] = {}
    starts: list[float] = []
    n_start = max(1, min(repeat, 3)) if "server_start_to_first_render_s" in keys else 1
    for i in range(n_start):
        log(f"server_start_to_first_render_s: start {i + 1}/{n_start}")
        t0 = time.perf_counter()
        with Server(repo) as server:
            server.wait_page()  # the server answers (warm-up and repository open done)
            doc = pull_document(server.url)  # a full session: every view rendered, image included
            starts.append(time.perf_counter() - t0)
            first = {"image_in_document": has_image(doc), "models": len(doc.models)}
            if i == n_start - 1 and "server_peak_rss_5_sessions_mb" in keys:
                log("server_peak_rss_5_sessions_mb: five sessions, each on another calexp")
                after_first = proc_status(server.proc.pid)
                times, ok = [], []
                sessions = []  # kept open: five sessions at once
                for q in session_queries(calexps, 5):
                    t1 = time.perf_counter()
                    sessions.append(open_session(server.url, q))
                    times.append(time.perf_counter() - t1)
                    ok.append(has_image(sessions[-1].document))
                st = proc_status(server.proc.pid)
                for session in sessions:
                    session.close()
                details["server_peak_rss_5_sessions_mb"] = {
                    "vm_hwm_mb": round(st["VmHWM"] / 1024, 1), "vm_rss_mb": round(st["VmRSS"] / 1024, 1),
                    "rss_after_first_page_mb": round(after_first["VmRSS"] / 1024, 1),
                    "session_page_s": summary(times, 1.0, 3), "sessions_with_image": sum(ok),
                    "sessions": len(times), "cache_bytes_env": os.environ.get("REPO_EXPLORER_CACHE_BYTES")}
                out["server_peak_rss_5_sessions_mb"] = round(st["VmHWM"] / 1024, 1)
    if "server_start_to_first_render_s" in keys:
        details["server_start_to_first_render_s"] = {"s": summary(starts, 1.0, 3), **first}
        out["server_start_to_first_render_s"] = round(median(starts), 3)
    out["details"] = details
    return out
