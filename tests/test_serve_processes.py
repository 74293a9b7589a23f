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
