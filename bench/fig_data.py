"""Data figures: a 10M-row histogram, the geometry of every DC2 tract, the inventory against butler."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from benchlib import butler_cli, drop_page_cache, explorer_cli, median, run_timed, summary

HIST_COLUMN = "kronFlux"  # the notebook histograms the Kron flux; default_column picks it here
HIST_BINS = 80  # the app's default bins, log10 x axis (log_x defaults to True)


# ----- histogram ---------------------------------------------------------------------------------
def source_table_paths(repo: Path, manifest: dict[str, Any]) -> list[str]:
    paths = (manifest.get("paths") or {}).get("sourceTable") or {}
    return [str(repo / p) for _, p in sorted(paths.items())]


def read_column(paths: list[str], column: str) -> np.ndarray:
    """One column of every file, concatenated, through the explorer's cached catalog reader."""
    from explorer.repo.access import read_catalog

    return np.concatenate([read_catalog(p, columns=[column])[column].to_numpy() for p in paths])


def histogram_figures(repo: Path, manifest: dict[str, Any], repeat: int, log: Callable[[str], None]) -> dict:
    from explorer.repo.cache import shared_cache
    from explorer.views.catalog import histogram

    paths = source_table_paths(repo, manifest)
    if not paths:
        raise RuntimeError(f"{repo}: no sourceTable files in the manifest")
    # cold: page cache dropped, shared cache empty
    shared_cache().clear()
    methods = drop_page_cache(paths)
    start = time.perf_counter()
    values = read_column(paths, HIST_COLUMN)
    h = histogram(values, HIST_COLUMN, bins=HIST_BINS, log=True)
    cold = time.perf_counter() - start
    rows = int(values.size)
    log(f"histogram_10m_ms: {rows:,} rows of {HIST_COLUMN} from {len(paths)} sourceTable files")
    histogram(values, HIST_COLUMN, bins=HIST_BINS, log=True)  # numba compiled already; one untimed pass
    reps = max(repeat, 5)
    log_samples, lin_samples, cached_samples = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        histogram(values, HIST_COLUMN, bins=HIST_BINS, log=True)
        log_samples.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        histogram(values, HIST_COLUMN, bins=HIST_BINS, log=False)
        lin_samples.append(time.perf_counter() - t0)
    for _ in range(max(repeat, 3)):
        t0 = time.perf_counter()
        histogram(read_column(paths, HIST_COLUMN), HIST_COLUMN, bins=HIST_BINS, log=True)
        cached_samples.append(time.perf_counter() - t0)
    d = {"rows": rows, "files": len(paths), "column": HIST_COLUMN, "dtype": str(values.dtype),
         "bins": HIST_BINS, "used": h.used,
         "log_x_ms": summary(log_samples), "linear_x_ms": summary(lin_samples),
         "with_read_cold_ms": round(cold * 1000, 1), "with_read_cold_page_cache_drop": methods,
         "with_read_cached_ms": summary(cached_samples)}
    return {"histogram_10m_ms": d["log_x_ms"]["median"], "details": {"histogram_10m_ms": d}}


# ----- sky map -------------------------------------------------------------------------------------
SKYMAP_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
from explorer.sky import dc2_skymap
t1 = time.perf_counter()
sm = dc2_skymap()
ra, dec = sm.all_tract_centers()
inner = sm.all_tract_inner_vertices()
outer = sm.all_tract_outer_vertices()
t2 = time.perf_counter()
assert len(ra) == len(inner) == len(outer) == 18938, (len(ra), inner.shape, outer.shape)
print(json.dumps({"import_s": t1 - t0, "geometry_s": t2 - t1, "tracts": int(len(ra))}))
"""


def skymap_figures(repeat: int, log: Callable[[str], None]) -> dict:
    """Every DC2 tract's centre, inner and outer vertices, each run in a fresh process (no memo)."""
    log("skymap_all_tracts_s: all 18,938 DC2 tracts (centres, inner and outer vertices), fresh processes")
    geometry, imports, walls = [], [], []
    for _ in range(max(repeat, 3)):
        wall, proc = run_timed([sys.executable, "-c", SKYMAP_SCRIPT])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        geometry.append(r["geometry_s"])
        imports.append(r["import_s"])
        walls.append(wall)
    d = {"tracts": 18938, "geometry_s": summary(geometry, 1.0, 3), "import_s": summary(imports, 1.0, 3),
         "process_wall_s": summary(walls, 1.0, 3)}
    return {"skymap_all_tracts_s": d["geometry_s"]["median"], "details": {"skymap_all_tracts_s": d}}


# ----- inventory against butler --------------------------------------------------------------------
def butler_commands(repo: Path) -> dict[str, list[str]]:
    """The butler CLI calls that, together, give what ``repo-explorer inventory`` prints."""
    b = butler_cli()
    return {"query-datasets": b + ["query-datasets", str(repo), "--collections", "*"],
            "query-dimension-records visit": b + ["query-dimension-records", str(repo), "visit"],
            "query-dimension-records detector": b + ["query-dimension-records", str(repo), "detector"]}


def inventory_figures(repo: Path, repeat: int, log: Callable[[str], None]) -> dict:
    """Ours (the CLI in a fresh process) against the butler CLI calls (each a fresh process)."""
    log("inventory_vs_butler_ratio: repo-explorer inventory --json against butler query-* (subprocesses)")
    ours_cmd = explorer_cli() + ["inventory", str(repo), "--json"]
    reps = max(repeat, 3)
    ours = []
    inv: Optional[dict] = None
    for _ in range(reps):
        t, proc = run_timed(ours_cmd)
        ours.append(t)
        inv = json.loads(proc.stdout)
    theirs: dict[str, list[float]] = {}
    lines: dict[str, int] = {}
    for name, cmd in butler_commands(repo).items():
        theirs[name] = []
        for _ in range(reps):
            t, proc = run_timed(cmd)
            theirs[name].append(t)
            lines[name] = proc.stdout.count("\n")
    butler_total = sum(median(v) for v in theirs.values())
    ours_med = median(ours)
    d = {"ours_s": summary(ours, 1.0, 3), "ours_command": " ".join(ours_cmd[1:]),
         "butler_s": {k: summary(v, 1.0, 3) for k, v in theirs.items()},
         "butler_total_s": round(butler_total, 3), "butler_output_lines": lines,
         "inventory": {"dataset_types": len(inv["dataset_types"]),
                       "datasets": sum(t["count"] for t in inv["dataset_types"]),
                       "visits": inv.get("visits"), "detectors": inv.get("detectors"), "sources": inv.get("sources")}
         if inv else None}
    ratio = round(ours_med / butler_total, 3) if butler_total else None
    return {"inventory_vs_butler_ratio": ratio, "details": {"inventory_vs_butler_ratio": d}}
