"""``repo-explorer histogram``: one catalog column's histogram, from files, a repository or HATS.

A catalog file or a repository's catalog datasets (at most :data:`MAX_HISTOGRAM_FILES` files)
are read here, one column each; a HATS catalog is computed on Dask (explorer/compute/hats.py).
"""
from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import ExplorerError
from .common import UsageError, parse_data_id, print_json, progress_for, with_patch_id

MAX_HISTOGRAM_FILES = 2000  # more catalog files than this: use a HATS catalog and Dask


def _histogram_of_files(paths: list[str], column: str, bins: int, log: bool, value_range) -> Any:
    """One histogram over the column of several catalog files (numpy's counts for their union)."""
    import numpy as np

    from ..compute.histogram import (
        HistogramResult,
        _check_bins,
        _check_range,
        count,
        edges_for,
        prepare,
    )
    from ..repo import access

    bins = _check_bins(bins)
    arrays, rows, non_finite, non_positive = [], 0, 0, 0
    for path in paths:
        df = access.read_catalog(path, [column])
        values, nf, npos = prepare(df[column], column, log)
        arrays.append(values)
        rows += len(df)
        non_finite += nf
        non_positive += npos
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    if value_range is not None:
        lo, hi = _check_range(value_range, log)
        source = "given"
    else:
        lo, hi = edges_for(float(values.min()), float(values.max()), bins) if values.size else (0.0, 1.0)
        source = "data"
    return HistogramResult(column, rows, np.linspace(lo, hi, bins + 1), count(values, bins, lo, hi), bool(log),
                           non_finite, non_positive, source, {"files": len(paths)})


def _catalog_paths(args: argparse.Namespace) -> list[str]:
    """The catalog files a histogram TARGET names (a file, or datasets of a repository)."""
    from ..repo import detect_kind, open_repo
    from ..repo.base import COADD_CATALOG_TYPES, SOURCE_TYPES
    from ..repo.errors import NotOnDiskError

    target = args.target
    if os.path.isfile(target):
        if args.data_id or args.dataset:
            raise UsageError("--dataset and --data-id go with a repository, not with a catalog file")
        return [target]
    detect_kind(target)
    repo = open_repo(target)
    try:
        dataset = args.dataset or repo.first_present(SOURCE_TYPES + COADD_CATALOG_TYPES)
        if dataset is None:
            raise ExplorerError(f"{target} holds no catalog dataset type: give --dataset NAME")
        data_id = parse_data_id(args.data_id)
        with_patch_id(repo, data_id)
        if data_id:
            ids = [data_id] if set(data_id) >= set(repo.dimensions_of(dataset)) - {"instrument", "skymap"} \
                else repo.query_data_ids(dataset, where=data_id, collections=args.collections)
        else:
            ids = repo.query_data_ids(dataset, collections=args.collections)
        if not ids:
            raise ExplorerError(f"no {dataset} datasets" + (f" with {args.data_id}" if data_id else "")
                                + (f" in {args.collections}" if args.collections else ""))
        if len(ids) > MAX_HISTOGRAM_FILES:
            raise ExplorerError(f"{len(ids)} {dataset} files is more than {MAX_HISTOGRAM_FILES} to read here: "
                                "narrow --data-id or histogram the HATS catalog with Dask")
        paths = []
        for did in ids:
            try:
                paths.append(repo._existing_path(dataset, did, args.collections))
            except NotOnDiskError:
                if len(ids) == 1:
                    raise
        if not paths:
            raise NotOnDiskError(f"none of the {len(ids)} {dataset} files is on disk")
        args.dataset = dataset
        return paths
    finally:
        repo.close()


def cmd_histogram(args: argparse.Namespace) -> int:
    """Histogram of one catalog column: a catalog file, a repository's catalogs, or a HATS catalog.

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``dataset``, ``collections``, ``data_id``, ``column``, ``bins``, ``log``,
        ``range``, ``dask_scheduler``, ``json``, ``progress``.

    Returns
    -------
    int
        The exit status, 0. JSON keys ``column``, ``rows``, ``edges``, ``counts`` (shared/DESIGN.md).
    """
    target = args.target
    is_url = "://" in target
    hats_url = is_url and "/api/butler/" not in target  # (a Butler server URL is a repository)
    if not is_url and not os.path.exists(target):
        raise ExplorerError(f"no such file, repository or HATS catalog: {target}")
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"bad --range {args.range[0]:g} {args.range[1]:g}: LO must be below HI")
    from ..compute.hats import is_hats_catalog

    if hats_url or (not is_url and os.path.isdir(target) and is_hats_catalog(target)):
        if args.data_id or args.dataset:
            raise UsageError("--dataset and --data-id go with a repository, not with a HATS catalog")
        from ..compute.cluster import check_address, dask_client
        from ..compute.hats import hats_histogram, open_hats

        open_hats(target, [args.column])  # a bad column or catalog: say so before starting any cluster
        if args.dask_scheduler:
            check_address(args.dask_scheduler)
        progress = progress_for(args)
        with dask_client(args.dask_scheduler) as client:
            hist = hats_histogram(target, args.column, client, bins=args.bins, log=args.log,
                                  value_range=args.range,
                                  progress=(lambda d, t: progress(f"{d}/{t} partitions")) if progress else None)
    else:
        paths = _catalog_paths(args)
        hist = _histogram_of_files(paths, args.column, args.bins, args.log, args.range)
        if args.dataset:
            hist.extra["dataset_type"] = args.dataset
    if args.json:
        print_json(hist.to_json())
        return 0
    label = f"log10({hist.column})" if hist.log else hist.column
    print(f"{label}: {hist.used:,} of {hist.rows:,} rows in {len(hist.counts)} bins"
          + (f" ({hist.non_finite:,} non-finite" + (f", {hist.non_positive:,} <= 0" if hist.log else "") + " left out)"
             if hist.non_finite or hist.non_positive else ""))
    for lo, hi, n in zip(hist.edges[:-1], hist.edges[1:], hist.counts):
        print(f"{lo:14.6g} {hi:14.6g} {int(n):10d}")
    return 0
