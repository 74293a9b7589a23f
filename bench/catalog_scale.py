"""Benchmark of survey-scale catalogs through LSDB on Dask (issue 17). Prints figures.

Goals (2-core machine, LocalCluster): histogram of one column of 100 M rows <= 8 s cold and <= 2 s
warm; a datashaded density map of 100 M positions <= 10 s cold; the server's RSS grows by <= 100 MB
while doing either; with a second worker process the cold figures scale with the workers.

    python bench/catalog_scale.py [--rows 100e6] [--catalog DIR] [--workdir DIR] [--workers 1,2]
                                  [--dask-scheduler ADDR] [--repeat 3] [--json]

The catalog: ``--catalog`` (e.g. ``make-sample --size large``'s ``hats/survey_object``), else the
synthetic HATS catalog of ``--rows`` rows in ``--workdir`` (default ``/work/bench_sample`` when it
exists, else the temporary directory), written once by
:func:`explorer.sample.hats.write_synthetic_hats`: partition by partition (each HEALPix pixel's
rows generated directly inside it), so memory stays at one partition whatever the size.
Measured with the explorer's own entry points (:mod:`explorer.compute.hats`), for each number of
worker processes in ``--workers`` (a new LocalCluster each, one thread per worker; its start-up is
reported apart, and so is the workers' first import of lsdb and datashader). "Cold": the catalog's
files are evicted from the page cache first (``posix_fadvise``, this catalog's files only) and the
cluster is new (nothing persisted on it).
"Warm": the same histogram again (its column stays on the workers). "Server RSS": the resident
memory of this process, which plays the server (lsdb and datashader imported and the catalog's
metadata read before the baseline, as in a running server): the rows live in the worker processes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (operator, goal) of the figures this script produces; bench/run.py reports them with its own
GOALS = {
    "catalog_histogram_cold_s": ("<=", 8.0),
    "catalog_histogram_warm_s": ("<=", 2.0),
    "catalog_density_cold_s": ("<=", 10.0),
    "catalog_server_rss_growth_mb": ("<=", 100.0),
}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def catalog_files(path: Path) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".parquet")]


def default_workdir() -> Path:
    base = Path("/work/bench_sample")
    return (base if base.is_dir() else Path(tempfile.gettempdir())) / "catalog_scale"


def ensure_catalog(rows: int, workdir: Path, log=print) -> Path:
    """The synthetic catalog of ``rows`` rows in ``workdir`` (written when absent)."""
    from explorer.sample.hats import write_synthetic_hats

    label = f"{rows // 1_000_000}M" if rows >= 1_000_000 and rows % 1_000_000 == 0 else str(rows)
    path = workdir / f"survey_{label}"
    if (path / "hats.properties").exists():
        return path
    t = time.perf_counter()
    write_synthetic_hats(path, rows=rows, progress=lambda m: log(f"  {m}"))
    log(f"  written in {time.perf_counter() - t:.1f} s")
    return path


def _warm_up() -> None:
    import datashader  # noqa: F401
    import lsdb  # noqa: F401

    import explorer.compute.hats  # noqa: F401
    import explorer.compute.kernels  # noqa: F401


def _worker_cpu(client) -> float:
    """CPU seconds the workers' processes have used (summed over the workers)."""
    return float(sum(client.run(time.process_time).values()))


def measure(path: Path, n_workers: int, scheduler: str | None, repeat: int, log=print) -> dict:
    """Cold and warm figures on a new cluster of ``n_workers`` worker processes."""
    sys.path.insert(0, str(ROOT / "bench"))
    from benchlib import drop_page_cache

    from explorer.compute.cluster import dask_client
    from explorer.compute.hats import forget_columns, hats_density, hats_histogram

    files = catalog_files(path)
    out: dict = {"workers": n_workers, "load_start": [round(v, 2) for v in os.getloadavg()]}
    rss0 = rss_mb()
    drop_page_cache(files, global_drop=False)
    t = time.perf_counter()
    with dask_client(scheduler, n_workers=n_workers, threads_per_worker=1, memory_limit="4GiB") as client:
        out["cluster_start_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        client.run(_warm_up)  # a running server's workers have their libraries loaded already
        out["worker_imports_s"] = round(time.perf_counter() - t, 2)
        rss_start = peak = rss_mb()
        t = time.perf_counter()
        h = hats_histogram(path, "g_psfFlux", client, bins=100, log=True)
        out["histogram_cold_s"] = round(time.perf_counter() - t, 2)
        peak = max(peak, rss_mb())
        out["rows"], out["partitions"], out["range_source"] = h.rows, h.extra["partitions"], h.range_source
        warm = []
        cpu0, workers0 = time.process_time(), _worker_cpu(client)
        for _ in range(repeat):
            t = time.perf_counter()
            hats_histogram(path, "g_psfFlux", client, bins=100, log=True)
            warm.append(time.perf_counter() - t)
            peak = max(peak, rss_mb())
        out["histogram_warm_s"] = round(float(np.median(warm)), 3)
        # CPU per warm histogram: what a loaded machine's wall time hides
        out["histogram_warm_server_cpu_s"] = round((time.process_time() - cpu0) / max(1, repeat), 3)
        out["histogram_warm_worker_cpu_s"] = round((_worker_cpu(client) - workers0) / max(1, repeat), 3)
        forget_columns(client)  # the workers' memory goes to the density map
        drop_page_cache(files, global_drop=False)
        t = time.perf_counter()
        grid = hats_density(path, "coord_ra", "coord_dec", client, width=800, height=800)
        out["density_cold_s"] = round(time.perf_counter() - t, 2)
        peak = max(peak, rss_mb())
        assert grid.total == h.rows, (grid.total, h.rows)
        t = time.perf_counter()
        hats_density(path, "coord_ra", "coord_dec", client, width=800, height=800)
        out["density_warm_s"] = round(time.perf_counter() - t, 2)
        peak = max(peak, rss_mb())
    out["rss_before_mb"], out["rss_with_client_mb"], out["rss_peak_mb"] = round(rss0), round(rss_start), round(peak)
    out["rss_growth_mb"] = round(peak - rss_start, 1)
    out["load_end"] = [round(v, 2) for v in os.getloadavg()]
    log(f"{n_workers} worker(s): cluster {out['cluster_start_s']} s, imports {out['worker_imports_s']} s; "
        f"histogram cold {out['histogram_cold_s']} s, "
        f"warm {out['histogram_warm_s']} s (CPU: workers {out['histogram_warm_worker_cpu_s']} s, "
        f"server {out['histogram_warm_server_cpu_s']} s); "
        f"density cold {out['density_cold_s']} s, warm {out['density_warm_s']} s; "
        f"server RSS {out['rss_with_client_mb']} -> peak {out['rss_peak_mb']} MB (+{out['rss_growth_mb']}); "
        f"load {out['load_start'][0]} -> {out['load_end'][0]}")
    return out


def figures(rows: int = 100_000_000, catalog: str | None = None, workdir: Path | None = None,
            workers: tuple[int, ...] = (1, 2), scheduler: str | None = None, repeat: int = 3, log=print) -> dict:
    """Every figure, as bench/run.py merges them: the goals' keys (the run with the most workers)
    and ``details`` (each run, the catalog)."""
    path = Path(catalog) if catalog else ensure_catalog(rows, workdir or default_workdir(), log)
    import datashader  # noqa: F401  (a server has its libraries loaded: count data, not imports)
    import lsdb

    cat = lsdb.open_catalog(path)  # (metadata only, as the page does when a path is typed)
    files = catalog_files(path)
    info = {"path": str(path), "rows": int(cat.hc_structure.catalog_info.total_rows or 0),
            "partitions": cat.npartitions, "bytes": sum(os.path.getsize(f) for f in files)}
    log(f"catalog {path}: {info['rows']:,} rows, {info['partitions']} partitions, {info['bytes'] / 1e9:.2f} GB")
    runs = [measure(path, n, scheduler, repeat, log) for n in (workers if not scheduler else (0,))]
    best = runs[-1]
    return {"catalog_histogram_cold_s": best["histogram_cold_s"], "catalog_histogram_warm_s": best["histogram_warm_s"],
            "catalog_density_cold_s": best["density_cold_s"],
            "catalog_server_rss_growth_mb": max(r["rss_growth_mb"] for r in runs),
            "details": {"catalog_scale": {"catalog": info, "runs": runs}}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=lambda s: int(float(s.replace("_", ""))), default=100_000_000)
    ap.add_argument("--catalog", help="an existing HATS catalog (with coord_ra, coord_dec, g_psfFlux)")
    ap.add_argument("--workdir", type=Path, help="where the synthetic catalog is (written when absent)")
    ap.add_argument("--workers", default="1,2", help="worker processes of each LocalCluster run (default 1,2)")
    ap.add_argument("--dask-scheduler", metavar="ADDR", help="measure on this cluster instead")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    res = figures(args.rows, args.catalog, args.workdir, tuple(int(w) for w in args.workers.split(",")),
                  args.dask_scheduler, args.repeat, log)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for key, (op, goal) in GOALS.items():
            print(f"{key:32s} {res[key]:>10}   goal {op} {goal:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
