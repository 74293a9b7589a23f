"""Remote (a Butler server over loopback) against local (the same repository's directory).

Starts the real Butler server over a sample repository (its datastore served by a local HTTP
file server, as in tests/remote_helpers.py), then prints, as JSON:

* ``cold_first_image``: a fresh process-state read of an exposure's description and image plane
  (empty cache, empty spool), remote and local, and their ratio (goal <= 2);
* ``warm_switch``: switching the page's state between two exposures already seen and rendering
  the frame, remote and local, and their ratio (goal <= 1.5);
* ``first_view_bytes``: bytes the file server sent for that first view against the bytes of the
  HDUs it needs (every header, the archive tables, the image's data segment), goal <= 1.2;
* ``inventory``: ``repo-explorer inventory URL --json`` against the ``butler`` command line's
  calls for the same facts through the same URL (each a fresh process), goal: ours <= theirs;
* ``cold_round_trips``: requests the cold first image sent to the file server and to the Butler
  server.

:func:`figures` gives bench/run.py its ``remote_*`` figures.

Usage: ``python bench/remote.py [--repo DIR] [--repeat N]`` (default: a small sample built in a
temporary directory).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import benchlib  # noqa: F401  (puts the checkout on sys.path)
from benchlib import explorer_cli, median, run_timed, summary

sys.path.insert(0, str(benchlib.ROOT / "tests"))
TOKEN = "bench-token"


def _fresh(spool_dir: Path) -> None:
    from explorer.repo import cache, http

    cache._shared = cache.ByteCache(1024**3)
    http._spool = http.Spool(str(spool_dir), 1024**3)


def _needed_bytes(path: str, image_hdu: int, plane_hdus: set[int]) -> int:
    from astropy.io import fits

    with fits.open(path) as hdul:
        hdul.readall()
        need = 0
        for i, hdu in enumerate(hdul):
            need += hdu._data_offset - hdu._header_offset
            if i == image_hdu or i not in plane_hdus:
                need += -(-hdu._data_size // 2880) * 2880
    return need


class _ButlerRequests:
    """Counts the requests the Butler client sends (wrapping httpx2's ``Client.send`` while on)."""

    def __init__(self) -> None:
        import httpx2

        self.count = 0
        original = httpx2.Client.send

        def send(client, request, **kw):
            self.count += 1
            return original(client, request, **kw)

        httpx2.Client.send = send


def measure(repo_dir: Path, work: Path, repeat: int, log=lambda _m: None) -> dict:
    """Every figure of this module (see the module docstring) for one repository."""
    from remote_helpers import remote_sample

    from explorer.repo import open_repo

    manifest = json.loads((repo_dir / "sample_manifest.json").read_text())
    calexps = [c for c in manifest["calexps"] if c.get("on_disk", True)]
    out: dict = {"repo": str(repo_dir)}
    butler_requests = _ButlerRequests()
    with remote_sample(repo_dir, work) as rs:
        # ----- cold first image, and the bytes and round trips it took
        log("remote: cold first image, remote and local (a warm-up round first: imports are not the network)")
        cold = {"remote": [], "local": []}
        fetched, needed, file_trips, butler_trips = [], [], [], []
        for i in range(-1, repeat):
            entry = calexps[i % len(calexps)]
            data_id = {"visit": entry["visit"], "detector": entry["detector"]}
            for where, target in (("remote", rs.url), ("local", str(repo_dir))):
                _fresh(work / f"spool-{where}-{i}")
                repo = open_repo(target)
                try:
                    rs.files.reset_counts()
                    butler_requests.count = 0
                    began = time.perf_counter()
                    exposure = repo.get_exposure("calexp", data_id)
                    _ = exposure.image
                    took = time.perf_counter() - began
                    if i < 0:
                        continue
                    cold[where].append(took)
                    if where == "remote":
                        fetched.append(rs.files.bytes_sent)
                        file_trips.append(len(rs.files.requests))
                        butler_trips.append(butler_requests.count)
                    else:
                        planes = set(exposure.info.plane_hdus.values())
                        needed.append(_needed_bytes(exposure.info.path, exposure.info.plane_hdus["image"], planes))
                finally:
                    repo.close()
        out["cold_first_image_ms"] = {k: summary(v) for k, v in cold.items()}
        out["cold_first_image_ratio"] = round(median(cold["remote"]) / median(cold["local"]), 2)
        out["cold_round_trips"] = {"file_server": max(file_trips), "butler_server": max(butler_trips)}
        out["first_view_bytes"] = {"fetched": fetched, "needed": needed,
                                   "ratio_max": round(max(f / n for f, n in zip(fetched, needed)), 3)}

        # ----- warm switch in the page's state
        from explorer import state as st

        log("remote: warm switch between two exposures seen once, remote and local")
        warm = {}
        for where, target in (("remote", rs.url), ("local", str(repo_dir))):
            _fresh(work / f"spool-warm-{where}")
            st.forget_repositories()
            s = st.ExplorerState(repo=target, token=TOKEN)
            s.image_kind = "calexp"
            options = list(s.param.detector.objects)
            if len(options) < 2:
                raise RuntimeError(f"visit {s.visit} has fewer than two detectors to switch between")
            pair = options[:2]
            for det in pair:  # see both once
                s.detector = det
                s.render_image(800, 800)
            times = []
            for k in range(repeat * 4):
                began = time.perf_counter()
                s.detector = pair[k % 2]
                frame = s.render_image(800, 800)
                times.append(time.perf_counter() - began)
                assert frame is not None
            warm[where] = times
            st.forget_repositories()
        out["warm_switch_ms"] = {k: summary(v) for k, v in warm.items()}
        out["warm_switch_ratio"] = round(median(warm["remote"]) / median(warm["local"]), 2)

        # ----- inventory through the URL against the butler command line
        from fig_data import butler_commands

        log("remote: inventory through the URL against the butler command line (subprocesses)")
        reps = max(1, repeat // 2)
        ours = [run_timed(explorer_cli() + ["inventory", rs.url, "--json"])[0] for _ in range(reps)]
        theirs = {}
        for name, cmd in butler_commands(rs.url).items():  # type: ignore[arg-type]
            theirs[name] = [run_timed(cmd)[0] for _ in range(reps)]
        total = sum(median(v) for v in theirs.values())
        out["inventory_s"] = {"repo_explorer": round(median(ours), 2),
                              "butler_cli_total": round(total, 2),
                              "butler_cli": {k: round(median(v), 2) for k, v in theirs.items()},
                              "ratio": round(median(ours) / total, 2)}
    return out


def figures(repeat: int, log, repo: Optional[str] = None) -> dict:
    """The four figures bench/run.py reports (``remote_*``), with this module's output as details."""
    work = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    repo_dir = Path(repo) if repo else None
    if repo_dir is None:
        from explorer.sample import make_sample

        log("remote: building a small sample (the Butler server serves it over loopback)")
        repo_dir = Path(make_sample(work / "dc2-gen3", layout="gen3", size="small", seed=1))
    os.environ.setdefault("BUTLER_RUBIN_ACCESS_TOKEN", TOKEN)
    out = measure(repo_dir, work, repeat, log)
    return {"remote_warm_switch_ratio": out["warm_switch_ratio"],
            "remote_cold_first_image_ratio": out["cold_first_image_ratio"],
            "remote_first_view_bytes_ratio": out["first_view_bytes"]["ratio_max"],
            "remote_inventory_vs_butler_ratio": out["inventory_s"]["ratio"],
            "details": {"remote": out}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="a Gen3 repository (default: a small sample, built here)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["BUTLER_RUBIN_ACCESS_TOKEN"] = TOKEN
    part = figures(args.repeat, lambda m: print(m, file=sys.stderr, flush=True), args.repo)
    print(json.dumps(part["details"]["remote"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
