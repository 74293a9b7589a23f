#!/usr/bin/env python
"""How the explorer's cost grows with the registry: the growth table of BENCHMARKS.md.

    python bench/growth.py                          # survey-25k and survey-250k (built if absent)
    python bench/growth.py --sizes survey-25k,survey-250k,survey --json > bench/out/growth.json
    python bench/growth.py --repo PATH --repo PATH  # measure given survey-like repositories
    python bench/growth.py --from-json bench/out/growth.json --markdown

Each repository is a survey sample (``explorer.sample.survey``: LSSTCam-like, 189 detectors per
visit, DC2 tracts with coadds in 6 bands, a handful of files) in ``bench/out/<size>``, built with
the real butler the first time (its build time is in the figures). Per repository, in a fresh
process with the explorer imported (as a server is once it is up):

Wall-clock figures follow the machine's load (recorded as ``loadavg``); each also has its process
CPU time (``*_cpu_*``), which shared cores inflate far less.

* ``first_page_s``: ``ExplorerState(repo=...)`` and the selectors (``Controls``): open the Butler,
  run the first cascade (bands, tracts, patches, overlapping visits, detectors, the coadd data ID):
  what the first page waits for;
* ``switch_p95_ms`` / ``switch_median_ms``: selection switches as the widgets make them (tract,
  patch, band, then calexp visit and detector), each to a value not chosen before (cold answers);
* ``rss_mb`` and ``rss_growth_mb``: the process's resident memory after the first page and the
  switches, and how much of it the repository added (RSS after minus RSS with the explorer imported);
* ``listed``: how many visits and detectors the page's selectors list (bounded) of how many offered;
* ``footprint_layer``: the sky map's calexp layers with footprints on (coverage polygons, glyphs);
* ``inventory_s`` / ``inventory_cpu_s``: ``repo-explorer inventory REPO --json`` as a subprocess.

Nothing is asserted: figures are printed (text table, ``--markdown`` or ``--json``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
GOALS = {"first_page_s_1m": 3.0, "first_page_ratio_1m_vs_25k": 1.5, "switch_p95_ms_1m": 300.0,
         "rss_growth_25k_to_1m_mb": 100.0, "inventory_s_1m": 10.0}


def log(message: str) -> None:
    print(f"[growth {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def ensure(size: str) -> Path:
    path = OUT / size
    if (path / "sample_manifest.json").exists():
        return path
    log(f"building {size} in {path} (the real butler; bulk inserts)")
    sys.path.insert(0, str(ROOT))
    from explorer.sample import make_sample

    make_sample(path, size=size, progress=lambda m: log("  " + m))
    return path


# ----- the measurement, in a child process --------------------------------------------------------
CHILD = r'''
import json, resource, sys, time
import numpy as np
def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
from explorer.state import ExplorerState
import explorer.repo.gen3, lsst.daf.butler  # the server is up: its imports are done
import holoviews as hv
from explorer.app.controls import Controls
from explorer.app import skymap
from explorer.views import sky
hv.extension("bokeh")
base = rss_mb()
t0, c0 = time.perf_counter(), time.process_time()
state = ExplorerState(repo=sys.argv[1])
controls = Controls(state=state)  # the selectors label what they list (counts, bands): part of the page
first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
err = state.error
switches, cpu = {}, {}
def timed(kind, fn):
    t, c = time.perf_counter(), time.process_time()
    fn()
    switches.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
    cpu.setdefault(kind, []).append((time.process_time() - c) * 1000)
tracts = list(state.param.tract.objects)
for t in tracts[1:6]:
    timed("tract", lambda: setattr(state, "tract", t))
patches = list(state.param.patch.objects)
for p in patches[1:12:2]:
    timed("patch", lambda: setattr(state, "patch", p))
for b in list(state.param.band.objects)[1:]:
    timed("band", lambda: setattr(state, "band", b))
timed("kind", lambda: setattr(state, "image_kind", "calexp"))
for v in list(state.param.visit.objects)[1:8]:
    timed("visit", lambda: setattr(state, "visit", v))
for d in list(state.param.detector.objects)[1:8]:
    timed("detector", lambda: setattr(state, "detector", d))
listed = {"visit": len(controls.visit_select.options), "visit_total": controls.visit_selector.total,
          "detector": len(controls.detector_select.options), "detector_total": controls.detector_selector.total}
state.show_footprints = True
frame = sky.sky_frame(state.index.tract_regions().values())
timed("footprints", lambda: (skymap.coverage_layer(state.index, frame, True, state.tract),
                             skymap.footprint_glyphs(state.index, frame, True, state.tract, state.patch)))
cov = skymap.coverage_layer(state.index, frame, True, state.tract)
glyphs = skymap.footprint_glyphs(state.index, frame, True, state.tract, state.patch)
allv = [x for k, xs in switches.items() if k not in ("kind", "footprints") for x in xs]
allc = [x for k, xs in cpu.items() if k not in ("kind", "footprints") for x in xs]
out = {"first_page_s": round(first, 3), "first_page_cpu_s": round(first_cpu, 3), "first_error": err,
       "switch_cpu_p95_ms": round(float(np.percentile(allc, 95)), 1) if allc else None,
       "switch_cpu_median_ms": round(float(np.median(allc)), 1) if allc else None,
       "switch_p95_ms": round(float(np.percentile(allv, 95)), 1) if allv else None,
       "switch_median_ms": round(float(np.median(allv)), 1) if allv else None,
       "switch_max_ms": round(max(allv), 1) if allv else None,
       "switches": {k: [round(x, 1) for x in xs] for k, xs in switches.items()},
       "switches_cpu": {k: [round(x, 1) for x in xs] for k, xs in cpu.items()},
       "visit_options": len(state.param.visit.objects), "listed": listed,
       "footprint_layer": {"coverage_polygons": len(cov["xs"]), "glyphs": len(glyphs["xs"]),
                           "ms": switches["footprints"][0], "cpu_ms": cpu["footprints"][0]},
       "rss_base_mb": round(base, 1), "rss_mb": round(rss_mb(), 1), "rss_growth_mb": round(rss_mb() - base, 1),
       "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
print(json.dumps(out))
'''


def measure(path: Path, code_root: Path = ROOT) -> dict[str, Any]:
    manifest = json.loads((path / "sample_manifest.json").read_text())
    child_env = dict(os.environ, PYTHONPATH=str(code_root))
    log(f"{path.name}: first page and switches")
    path = path.resolve()
    # cwd = the checkout measured: ``python -c`` puts the working directory first on sys.path
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=child_env,
                          timeout=1800, cwd=str(code_root))
    if proc.returncode != 0:
        raise SystemExit(f"growth: measuring {path} failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    log(f"{path.name}: inventory --json")
    t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    inv = subprocess.run([sys.executable, "-m", "explorer.cli", "inventory", str(path), "--json"],
                         capture_output=True, text=True, env=child_env, timeout=1800, cwd=str(code_root))
    row["inventory_s"] = round(time.perf_counter() - t0, 2)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    row["inventory_cpu_s"] = round((c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime), 2)
    row["inventory_ok"] = inv.returncode == 0
    if inv.returncode == 0:
        counts = {d["name"]: d["count"] for d in json.loads(inv.stdout)["dataset_types"]}
        row["inventory_counts_match"] = counts == manifest.get("datasets")
    row.update(repo=str(path), code=str(code_root), size=manifest.get("size"), datasets=manifest.get("total_datasets"),
               visits=manifest.get("visits"), tracts=len(manifest.get("tracts", [])),
               build_s=manifest.get("write_seconds"))
    return row


def markdown(rows: list[dict[str, Any]]) -> str:
    head = ("| sample | code | datasets | build | first page (CPU) | switch p95 (CPU p95) | switch median "
            "| RSS (growth) | inventory --json (CPU) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        code = Path(r.get("code", str(ROOT))).name
        cpu = f" ({r['first_page_cpu_s']:.2f} s)" if "first_page_cpu_s" in r else ""
        ccpu = f" ({r['switch_cpu_p95_ms']:.0f} ms)" if "switch_cpu_p95_ms" in r else ""
        icpu = f" ({r['inventory_cpu_s']:.1f} s)" if "inventory_cpu_s" in r else ""
        lines.append(f"| {r['size']} | {code} | {r['datasets']:,} | {r['build_s']:.0f} s "
                     f"| {r['first_page_s']:.2f} s{cpu} | {r['switch_p95_ms']:.0f} ms{ccpu} "
                     f"| {r['switch_median_ms']:.0f} ms "
                     f"| {r['rss_mb']:.0f} MB (+{r['rss_growth_mb']:.0f}) | {r['inventory_s']:.1f} s{icpu} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="survey-25k,survey-250k")
    ap.add_argument("--repo", action="append", default=[], help="measure this survey-like repository")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--from-json", help="print the table of an earlier --json run")
    ap.add_argument("--code", default=str(ROOT), help="the explorer checkout to measure (e.g. an older one)")
    args = ap.parse_args(argv)
    if args.from_json:
        rows = json.loads(Path(args.from_json).read_text())["rows"]
    else:
        paths = [Path(p) for p in args.repo] or [ensure(s) for s in args.sizes.split(",") if s]
        rows = [measure(p, Path(args.code)) for p in paths]
    result = {"rows": rows, "goals": GOALS, "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()}}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
