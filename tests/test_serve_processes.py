"""``serve(num_procs=2)``: one listening socket per process (SO_REUSEPORT), every process serving,
workers gone with their parent."""
from __future__ import annotations

import os
import signal
import time

import pytest

from serve_helpers import http_get, running_server


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (state 0A in /proc/net/tcp)."""
    inodes = set()
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] == "0A":
                inodes.add(parts[9])
    return inodes


@pytest.mark.slow
def test_two_processes_each_listen_and_serve(sample_gen3, tmp_path):
    with running_server(str(sample_gen3), tmp_path / "server.log", num_procs=2) as srv:
        deadline = time.time() + 60
        while time.time() < deadline and len(_listening_inodes(srv.port)) < 2:
            time.sleep(0.3)
        workers = _children(srv.proc.pid)
        assert len(workers) == 1, workers
        assert len(_listening_inodes(srv.port)) == 2  # a socket per process, not one shared socket
        for _ in range(4):
            status, _, body = http_get(srv.port, "/explorer")
            assert status == 200 and "<html" in body.lower()
        os.kill(srv.proc.pid, signal.SIGTERM)  # the parent alone: its worker must follow
        srv.proc.wait(20)
        deadline = time.time() + 20
        while time.time() < deadline and any(os.path.exists(f"/proc/{w}") for w in workers):
            time.sleep(0.2)
        alive = [w for w in workers if os.path.exists(f"/proc/{w}")
                 and open(f"/proc/{w}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
        assert not alive, f"workers outlived the parent: {alive}"


FORK_SCRIPT = r"""
import os, sys
import numpy as np
import panel as pn
from explorer import server
from explorer.views.catalog import histogram
from explorer.views.raster import downsample_mean


def fake_serve(*_args, **_kwargs):
    # what a worker does on a big frame: datashader's downsampling and a long column's histogram,
    # both parallel (OpenMP) kernels
    downsample_mean(np.ones((2048, 2048), np.float32), (0, 0), (0.0, 2048.0), (0.0, 2048.0), 256, 256)
    histogram(np.arange(2_000_000.0), parallel=True)
    print(f"served {os.getpid()}", flush=True)


pn.serve = fake_serve
parent = os.getpid()
server.serve(sys.argv[1], port=0, num_procs=2)
if os.getpid() != parent:  # the worker: done
    os._exit(0)
_, status = os.wait()
print(f"worker status {status}", flush=True)
"""


@pytest.mark.slow
def test_forked_workers_can_run_parallel_kernels(sample_gen3, tmp_path):
    """GNU OpenMP kills a forked child that runs parallel code after its parent did: serve must
    not run any (warm-up included) before it forks, or every worker dies on its first big frame."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", FORK_SCRIPT, str(sample_gen3)], capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert out.count("served ") == 2 and "worker status 0" in out, out
    assert "OpenMP" not in out, out
