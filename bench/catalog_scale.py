"""Benchmark of survey-scale catalogs through LSDB on Dask (issue 17). Prints figures.

Goals (2-core machine, LocalCluster): histogram of one column of 100 M rows <= 8 s cold and <= 2 s
warm; a datashaded density map of 100 M positions <= 10 s cold; the server's RSS grows by <= 100 MB
while doing either.

    python bench/catalog_scale.py [--rows 100_000_000] [--workdir DIR] [--workers 2] [--dask-scheduler ADDR]

Builds (once per DIR and size) a synthetic object table of ``--rows`` rows (``objectId``,
``coord_ra``/``coord_dec`` over a 20 x 20 degree field, ``g_psfFlux``/``r_psfFlux`` log-normal in
nJy) as parquet, imports it with hats-import (:func:`explorer.sample.hats.write_hats_catalog`),
then measures with the explorer's own entry points (:mod:`explorer.compute.hats`). "Cold": the
catalog's files are evicted from the page cache first (``posix_fadvise``, this catalog only) and
a new cluster is started (its start-up is reported apart). "Server RSS": the resident memory of
this process, which plays the server (lsdb and datashader imported before the baseline, as in a
running server): the catalog lives in the worker processes.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 5_000_000


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def write_inputs(dest: Path, rows: int, seed: int = 7) -> list[str]:
    """Parquet files of ``rows`` synthetic objects, CHUNK rows each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(seed)
    for k, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        path = dest / f"objects_{k:04d}.parquet"
        paths.append(str(path))
        if path.exists():
            continue
        ra = rng.uniform(50.0, 70.0, n)
        dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-46.0)), np.sin(np.radians(-26.0)), n)))
        g = rng.lognormal(7.0, 2.0, n)
        table = pa.table({"objectId": np.arange(start, start + n, dtype=np.int64), "coord_ra": ra, "coord_dec": dec,
                          "g_psfFlux": g, "r_psfFlux": g * rng.lognormal(0.2, 0.3, n)})
        pq.write_table(table, path, row_group_size=1_000_000)
    return paths


def catalog_files(path: Path) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".parquet")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=lambda s: int(float(s.replace("_", ""))), default=100_000_000)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dask-scheduler", metavar="ADDR")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "bench"))
    from benchlib import drop_page_cache

    from explorer.compute.cluster import dask_client
    from explorer.compute.hats import hats_density, hats_histogram
    from explorer.sample.hats import write_hats_catalog

    work = args.workdir or Path(tempfile.gettempdir()) / "bench-catalog-scale"
    label = f"{args.rows // 1_000_000}M" if args.rows >= 1_000_000 else str(args.rows)
    hats_dir = work / f"hats_{label}" / "object"
    print(f"catalog: {args.rows:,} rows, {hats_dir}")
    if not (hats_dir / "hats.properties").exists() and not (hats_dir / "properties").exists():
        t = time.perf_counter()
        inputs = write_inputs(work / f"input_{label}", args.rows)
        print(f"  synthetic parquet written in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        with dask_client(args.dask_scheduler, n_workers=args.workers, memory_limit="3GiB") as client:
            write_hats_catalog(inputs, hats_dir.parent, name="object", client=client, pixel_threshold=3_000_000)
        print(f"  hats-import: {time.perf_counter() - t:.1f} s")
    files = catalog_files(hats_dir)
    print(f"  {len(files)} partition files, {sum(os.path.getsize(f) for f in files) / 1e9:.2f} GB")

    import datashader  # noqa: F401  (a server has its libraries loaded: count data, not imports)
    import lsdb  # noqa: F401

    lsdb.open_catalog(hats_dir)
    rss0 = rss_mb()
    peak = rss0
    drop_page_cache(files, global_drop=False)
    t = time.perf_counter()
    with dask_client(args.dask_scheduler, n_workers=args.workers, memory_limit="3GiB") as client:
        print(f"cluster start: {time.perf_counter() - t:.1f} s ({len(client.scheduler_info()['workers'])} workers)")
        rss_start = rss_mb()
        t = time.perf_counter()
        h = hats_histogram(hats_dir, "g_psfFlux", client, bins=100, log=True)
        cold = time.perf_counter() - t
        peak = max(peak, rss_mb())
        assert h.rows == args.rows, h.rows
        print(f"histogram of g_psfFlux (log, 100 bins), cold: {cold:6.2f} s  (range from {h.range_source}, "
              f"{h.extra['partitions']} partitions)")
        warm = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            hats_histogram(hats_dir, "g_psfFlux", client, bins=100, log=True)
            warm.append(time.perf_counter() - t)
            peak = max(peak, rss_mb())
        print(f"histogram of g_psfFlux, warm (median of {args.repeat}):  {np.median(warm):6.2f} s")
        drop_page_cache(files, global_drop=False)
        t = time.perf_counter()
        grid = hats_density(hats_dir, "coord_ra", "coord_dec", client, width=800, height=800)
        dens = time.perf_counter() - t
        peak = max(peak, rss_mb())
        assert grid.total == args.rows, grid.total
        print(f"density map of coord_ra/coord_dec at 800^2, cold: {dens:6.2f} s")
        t = time.perf_counter()
        hats_density(hats_dir, "coord_ra", "coord_dec", client, width=800, height=800)
        print(f"density map, warm:                              {time.perf_counter() - t:6.2f} s")
        peak = max(peak, rss_mb())
    print(f"server RSS: {rss0:.0f} MB before, {rss_start:.0f} MB with the client, peak {peak:.0f} MB "
          f"(growth during the work {peak - rss_start:.0f} MB; incl. client start {peak - rss0:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
