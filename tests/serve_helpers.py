"""Start ``explorer.server.serve`` in a subprocess for HTTP-level tests (confinement, auth).

Tests import it as ``serve_helpers`` (pytest puts ``tests/`` on ``sys.path`` for its conftest).
The server runs in its own process group, answers on 127.0.0.1 at a free port, writes its log to
a file the caller names, and is stopped (SIGTERM, then SIGKILL) when the context exits.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/explorer"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def http_get(port: int, path: str, headers: dict[str, str] | None = None,
             timeout: float = 60) -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of one GET that does not follow redirects."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def stop_process_group(proc: subprocess.Popen) -> None:
    """Stop a process started with ``start_new_session=True`` and its children: SIGTERM to its
    group, SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# how long a server may take to answer its first request: imports, numba warm-up and the first
# session take tens of seconds alone, minutes on two cores shared with other test workers
START_TIMEOUT_S = 480


@contextmanager
def running_server(repo: str, log_path: Path, timeout: float = START_TIMEOUT_S,
                   probe_timeout: float | None = None, **serve_kwargs: Any) -> Iterator[RunningServer]:
    """``serve(repo, port=<free>, **serve_kwargs)`` in a subprocess, up and answering HTTP.

    ``probe_timeout``: how long one probe waits for its answer (default: as long as ``timeout``;
    the first page builds a session, on a busy machine for minutes, and abandoned probes would
    pile up behind it)."""
    import pytest

    if probe_timeout is None:
        probe_timeout = timeout
    port = free_port()
    code = (f"from explorer.server import serve; "
            f"serve({str(repo)!r}, port={port}, **{serve_kwargs!r})")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=str(REPO_ROOT))
    server = RunningServer(port, proc, log_path)
    try:
        deadline = time.time() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}: {server.log()[-2000:]}")
            try:
                wait = max(5.0, min(probe_timeout, deadline - time.time()))
                http_get(port, "/explorer", timeout=wait)  # any HTTP answer (200, 302, 401) means up
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail(f"server did not answer within {timeout} s: {server.log()[-2000:]}")
                time.sleep(0.3)
        yield server
    finally:
        stop_process_group(proc)
        log.close()


@contextmanager
def running_dask(work: Path, worker_processes: int = 1, python_path: str | None = None) -> Iterator[str]:
    """A `dask scheduler` and a `dask worker --nworkers N` (N worker processes, one thread each)
    started on 127.0.0.1 as processes of their own, logging into ``work``; yields the scheduler's
    address once every worker has joined, and stops them all after. ``python_path`` goes first on
    their path (the workers run this checkout's kernels, as Dask requires the client's environment)."""
    dask = Path(sys.executable).with_name("dask")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=python_path or str(Path(__file__).resolve().parents[1]))
    address = f"tcp://127.0.0.1:{port}"
    with open(work / "scheduler.log", "w") as slog, open(work / "worker.log", "w") as wlog:
        procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], cwd=work, env=env, stdout=slog, stderr=subprocess.STDOUT)]
        try:
            deadline = time.time() + 120
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or procs[0].poll() is not None:
                        raise RuntimeError((work / "scheduler.log").read_text()) from None
                    time.sleep(0.2)
            procs.append(subprocess.Popen([str(dask), "worker", address, "--host", "127.0.0.1", "--nworkers",
                                           str(worker_processes), "--nthreads", "1", "--no-dashboard",
                                           "--memory-limit", "1GiB"],
                                          cwd=work, env=env, stdout=wlog, stderr=subprocess.STDOUT))
            from distributed import Client

            with Client(address, timeout=120) as c:
                c.wait_for_workers(worker_processes, timeout=240)
            yield address
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in reversed(procs):
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
