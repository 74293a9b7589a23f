"""HATS catalogs through LSDB on Dask: open with a sky filter, histogram and density per partition.

``lsdb.open_catalog(path, columns=[...], search_filter=...)`` reads only metadata; the rows stay in
parquet until the workers read them, one HEALPix partition per task. Each task returns a range, a
vector of counts or a density grid (:mod:`explorer.compute.kernels`), so the process asking never
holds the catalog. A histogram's column stays in the workers' memory once read, and each worker
bins the arrays it holds in one task. A local catalog holding a symbolic link that leads outside
its directory is refused (:func:`check_links`). Histogram ranges come from the catalog's column
statistics (parquet footers, exact min/max) when the whole catalog is asked for; with a cone or
box, or without statistics, from a first pass over the partitions. Work runs as a
:class:`~explorer.compute.cluster.PartitionJob` (progress, cancellation).
"""
from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import ExplorerError
from .cluster import PartitionJob
from .density import DensityGrid
from .histogram import (
    HistogramResult,
    _check_bins,
    _check_range,
    edges_for,
    merge_ranges,
)

__all__ = ["SkyFilter", "is_hats_catalog", "check_links", "catalog_columns", "open_hats", "statistics_range",
           "hats_histogram", "hats_density", "HatsError", "resolve_hats_location"]

Progress = Optional[Callable[[int, int], None]]


class HatsError(ExplorerError):
    """A path that is no HATS catalog, or a column it does not have."""


@dataclass(frozen=True)
class SkyFilter:
    """A cone (``ra``, ``dec``, ``radius_arcsec``) or a box (``ra_range``, ``dec_range``), degrees."""

    ra: Optional[float] = None
    dec: Optional[float] = None
    radius_arcsec: Optional[float] = None
    ra_range: Optional[tuple[float, float]] = None
    dec_range: Optional[tuple[float, float]] = None

    def search(self):
        import lsdb

        if self.radius_arcsec is not None:
            return lsdb.ConeSearch(ra=float(self.ra), dec=float(self.dec), radius_arcsec=float(self.radius_arcsec))
        if self.ra_range is not None and self.dec_range is not None:
            return lsdb.BoxSearch(ra=tuple(map(float, self.ra_range)), dec=tuple(map(float, self.dec_range)))
        raise HatsError("a sky filter needs a cone (ra, dec, radius) or a box (RA and Dec ranges)")


_MARKERS = ("hats.properties", "properties", "collection.properties")


def is_hats_catalog(path: str | os.PathLike) -> bool:
    """True for a local directory holding a HATS catalog or collection (its properties file); URLs
    are taken on trust and checked when opened."""
    p = os.fspath(path)
    if "://" in p:
        return True
    return os.path.isdir(p) and any(os.path.isfile(os.path.join(p, m)) for m in _MARKERS)


def check_links(path: str | os.PathLike) -> None:
    """Refuse a local HATS catalog holding a symbolic link that leads outside its directory.

    The catalog's directory is the boundary (the allowed roots decide whether the directory itself
    may be opened: :func:`resolve_hats_location`): every link inside it, to a file or a directory,
    broken or not, must resolve within it, or LSDB would read (and a histogram would show) files
    from elsewhere. Raises :class:`HatsError` naming the first such link; URLs are not checked.
    """
    p = os.fspath(path)
    if "://" in p or not os.path.isdir(p):
        return
    root = os.path.realpath(p)
    inside = root.rstrip(os.sep) + os.sep
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in (*dirs, *files):
            entry = os.path.join(folder, name)
            if not os.path.islink(entry):
                continue
            target = os.path.realpath(entry)
            if target != root and not target.startswith(inside):
                rel = os.path.relpath(entry, root)
                raise HatsError(f"{p}: refused: {rel} is a symbolic link leading outside the HATS catalog's "
                                f"directory")


def catalog_columns(path: str | os.PathLike, checked: bool = False) -> list[str]:
    """Every column of a HATS catalog, from its metadata (no rows read); a symbolic link inside
    it that leads outside is refused (:func:`check_links`; ``checked``: done already)."""
    import lsdb

    if not checked:
        check_links(path)
    try:
        return list(lsdb.open_catalog(os.fspath(path)).all_columns)
    except Exception as exc:
        why = " ".join(str(exc).split())[:140]
        raise HatsError(f"{os.fspath(path)}: not a readable HATS catalog ({why})") from None


def open_hats(path: str | os.PathLike, columns: Sequence[str], sky: Optional[SkyFilter] = None):
    """The LSDB catalog with only ``columns`` (checked, one-line errors) and an optional sky filter;
    a catalog holding a symbolic link that leads outside its directory is refused."""
    import difflib

    import lsdb

    path = os.fspath(path)
    if not is_hats_catalog(path):
        raise HatsError(f"{path}: not a HATS catalog (no hats.properties or properties file)")
    check_links(path)
    available = catalog_columns(path, checked=True)
    for col in columns:
        if col not in available:
            close = difflib.get_close_matches(col, available, n=3)
            raise HatsError(f"no column {col!r} in the HATS catalog {path}; it has {len(available)} columns"
                            + (f"; did you mean {', '.join(close)}?" if close else ""))
    kwargs: dict[str, Any] = {"columns": list(dict.fromkeys(columns))}
    if sky is not None:
        kwargs["search_filter"] = sky.search()
        kwargs["error_empty_filter"] = False
    try:
        return lsdb.open_catalog(path, **kwargs)
    except Exception as exc:
        raise HatsError(f"{path}: cannot open ({' '.join(str(exc).split())[:140]})") from None


def statistics_range(catalog, column: str, log: bool = False) -> Optional[tuple[float, float]]:
    """(min, max) of a column from the catalog's parquet statistics (log10 with ``log``), or None
    when they are absent, not finite, or (``log``) not positive."""
    try:
        stats = catalog.aggregate_column_statistics(include_columns=[column], use_default_columns=False,
                                                    warn_on_modified_catalog=False)
        lo = float(stats.loc[column, "min_value"])
        hi = float(stats.loc[column, "max_value"])
    except Exception:  # no statistics in the metadata, or a type without min/max
        return None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if log:
        if lo <= 0:
            return None
        return math.log10(lo), math.log10(hi)
    return lo, hi


def _partitions(catalog) -> list:
    return list(catalog.to_delayed())


# Column arrays kept on the workers between histograms (per client, least recently used first):
# a warm histogram then reads no parquet at all. Bounded in bytes of worker memory.
MAX_PERSISTED_BYTES = 2 * 1024**3
_persisted: dict[str, "OrderedDict[tuple, tuple[list, int]]"] = {}
_persisted_lock = threading.Lock()


def _column_futures(client, path: str, column: str, sky: Optional[SkyFilter], catalog,
                    progress: Progress, on_job) -> list:
    """Futures of one float64 array per partition of the column, loaded once and kept on the
    workers (evicting the least recently used columns beyond MAX_PERSISTED_BYTES)."""
    import dask

    from . import kernels

    key = (os.path.realpath(path) if "://" not in path else path, column, sky)
    with _persisted_lock:
        cache = _persisted.setdefault(client.id, OrderedDict())
        hit = cache.get(key)
        if hit is not None and not any(f.status in ("error", "cancelled", "lost") for f in hit[0]):
            cache.move_to_end(key)
            futures = hit[0]
        else:
            hit = None
    if hit is None:
        futures = client.compute([dask.delayed(kernels.column_values)(p, column) for p in _partitions(catalog)])
    # kept columns are shared by every session of the process: cancelling one session's wait must
    # not cancel them (other sessions' histograms depend on them)
    job = PartitionJob.of_futures(client, futures, f"reading {column}", own=hit is None)
    if on_job:
        on_job(job)
    try:
        job.wait(progress)  # (the arrays stay on the workers: gathering them would hold the column here)
    except BaseException:
        with _persisted_lock:
            if hit is None or not job.cancelled:  # (a session's cancelled wait leaves the shared columns)
                _persisted.get(client.id, {}).pop(key, None)
        raise
    if hit is None:
        nbytes = 8 * int(sum(client.gather(client.map(len, futures))))
        with _persisted_lock:
            cache = _persisted.setdefault(client.id, OrderedDict())
            cache[key] = (futures, nbytes)
            while len(cache) > 1 and sum(n for _, n in cache.values()) > MAX_PERSISTED_BYTES:
                cache.popitem(last=False)  # dropping the futures frees the workers' copies
    return futures


def _by_worker(client, futures: list) -> list[tuple[Optional[str], list]]:
    """``futures`` grouped by the worker holding each (in their order; None: not known)."""
    try:
        who = client.who_has(futures)
    except Exception:  # noqa: BLE001 - (then Dask places the tasks itself)
        who = {}
    groups: "OrderedDict[Optional[str], list]" = OrderedDict()
    for f in futures:
        holders = who.get(f.key) or ()
        groups.setdefault(holders[0] if holders else None, []).append(f)
    return list(groups.items())


def _per_worker(client, groups, kernel, **kwargs) -> list:
    """One task of ``kernel`` per worker, over the arrays that worker holds: a few tasks to
    schedule, not one per partition, and no array moves between workers."""
    return [client.submit(kernel, arrays, **kwargs, pure=False,
                          **({"workers": [worker], "allow_other_workers": True} if worker else {}))
            for worker, arrays in groups]


def forget_columns(client=None) -> None:
    """Release the column arrays kept on the workers (of one client, or of all)."""
    with _persisted_lock:
        if client is None:
            _persisted.clear()
        else:
            _persisted.pop(client.id, None)


def hats_histogram(path: str | os.PathLike, column: str, client, bins: int = 50, log: bool = False,
                   value_range: Optional[Sequence[float]] = None, sky: Optional[SkyFilter] = None,
                   progress: Progress = None,
                   on_job: Optional[Callable[[PartitionJob], None]] = None) -> HistogramResult:
    """Histogram of one column of a HATS catalog computed on ``client``'s workers.

    The same counts as ``np.histogram`` of the column's finite values (log10 of the positive ones
    with ``log``) over the same range. The column's partitions are read once into the workers'
    memory and kept there (:data:`MAX_PERSISTED_BYTES`), so changing bins, range or log costs no
    I/O; each worker then bins all the arrays it holds in one task (a numba kernel,
    :func:`~explorer.compute.kernels.arrays_counts`). ``on_job`` receives each
    :class:`PartitionJob` as it starts, so a caller can cancel it; ``progress(done, total)``
    reports partitions finished.
    """
    from . import kernels

    bins = _check_bins(bins)
    path = os.fspath(path)
    catalog = open_hats(path, [column], sky)
    arrays = _column_futures(client, path, column, sky, catalog, progress, on_job)
    groups = _by_worker(client, arrays)
    weights = [len(g) for _, g in groups]
    source = "given"
    if value_range is not None:
        lo, hi = _check_range(value_range, log)
    else:
        rng = statistics_range(catalog, column, log) if sky is None else None
        source = "statistics"
        if rng is None:
            source = "data"
            job = PartitionJob.of_futures(client, _per_worker(client, groups, kernels.arrays_range, log=log),
                                          f"range of {column}", weights=weights)
            if on_job:
                on_job(job)
            rng = merge_ranges(job.result(progress))
        lo, hi = edges_for(*(rng or (0.0, 1.0)), bins)
    edges = np.linspace(lo, hi, bins + 1)
    job = PartitionJob.of_futures(client, _per_worker(client, groups, kernels.arrays_counts, log=log, edges=edges),
                                  f"histogram of {column}", weights=weights)
    if on_job:
        on_job(job)
    results = job.result(progress)
    counts = np.zeros(bins, np.int64)
    rows = non_finite = non_positive = 0
    for c, r, nf, npos in results:
        counts += c
        rows += r
        non_finite += nf
        non_positive += npos
    return HistogramResult(column, rows, edges, counts, bool(log), non_finite, non_positive,
                           source, {"partitions": len(arrays)})


def hats_density(path: str | os.PathLike, x: str, y: str, client, x_range: Optional[Sequence[float]] = None,
                 y_range: Optional[Sequence[float]] = None, width: int = 400, height: int = 400,
                 sky: Optional[SkyFilter] = None, progress: Progress = None,
                 on_job: Optional[Callable[[PartitionJob], None]] = None) -> DensityGrid:
    """Points per cell of two columns of a HATS catalog (e.g. ``coord_ra``, ``coord_dec``), each
    partition aggregated by datashader on a worker and the grids added. Ranges default to the
    column statistics (or a pass over the partitions)."""
    import dask

    from . import kernels

    catalog = open_hats(path, [x, y], sky)
    parts = _partitions(catalog)
    ranges = []
    for col, given in ((x, x_range), (y, y_range)):
        if given is not None:
            ranges.append(_check_range(given, False))
            continue
        rng = statistics_range(catalog, col) if sky is None else None
        if rng is None:
            job = PartitionJob(client, [dask.delayed(kernels.partition_range)(p, col, False) for p in parts],
                               f"range of {col}")
            if on_job:
                on_job(job)
            rng = merge_ranges(job.result(progress)) or (0.0, 1.0)
        ranges.append(edges_for(rng[0], rng[1], 1))
    grids = client.compute([dask.delayed(kernels.partition_density)(p, x, y, ranges[0], ranges[1], width, height)
                            for p in parts])
    total = _summed_on_workers(client, grids, f"density of {x}, {y}", progress, on_job)
    if total is None:
        total = np.zeros((int(height), int(width)), np.int64)
    return DensityGrid(total, tuple(ranges[0]), tuple(ranges[1]), x, y)


def _one(_value) -> int:
    return 1


def _sum_arrays(arrays):
    total = None
    for a in arrays:
        total = np.array(a, dtype=np.int64, copy=True) if total is None else total + a
    return total


def _summed_on_workers(client, futures: list, label: str, progress: Progress, on_job):
    """The sum of the arrays behind ``futures``, added up on a worker: the server receives one
    grid, not one per partition (at 800 x 800 each is 5 MB; a 100 M-row catalog has ~90
    partitions). Progress counts the partitions done; cancelling the job stops them."""
    if not futures:
        return None
    job = PartitionJob.of_futures(client, client.map(_one, futures, pure=False), label)
    if on_job:
        on_job(job)
    try:
        job.wait(progress)
    except BaseException:
        client.cancel(futures)
        raise
    return client.submit(_sum_arrays, futures, pure=False).result()


def resolve_hats_location(text: str, roots: Sequence[str] = ()) -> tuple[str, Optional[str]]:
    """(what to open, what a link may carry) for a HATS catalog typed or read from a link.

    A local path follows the repositories' rule (:func:`explorer.paths.resolve_repo_path`: inside
    the allowed roots when the server has any, no ``..`` or ``~``, symbolic links followed); the
    link carries it as the repository box shows it (relative to the first root). A URL
    (``https://``, ``s3://``, ...) is refused on a confined server unless the operator allowed
    its host (``--allow-registry-host``); a URL carrying a user, password or query (a token) is
    opened but never put in a link (the second item is None). Raises PathNotAllowedError or
    HatsError with a one-line message.
    """
    from urllib.parse import urlsplit

    from ..paths import display_path, resolve_repo_path

    text = str(text or "").strip()
    if not text:
        raise HatsError("no HATS catalog given")
    if "://" in text:
        from ..errors import PathNotAllowedError
        from ..repo.confine import allowed_hosts

        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or len(text) > 4096:
            raise PathNotAllowedError("refused: the HATS URL contains control characters or is too long")
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if roots and host not in allowed_hosts():
            raise PathNotAllowedError(f"refused: HATS catalogs on {host or parts.scheme} are not allowed here "
                                      f"(this server reads only its --repo-root directories)")
        secret = bool(parts.username or parts.password or parts.query or parts.fragment)
        return text, None if secret else text
    from ..errors import PathNotAllowedError

    try:
        real = resolve_repo_path(text, roots)
    except PathNotAllowedError as exc:
        raise PathNotAllowedError(str(exc).replace("repository path", "HATS catalog path")) from None
    return real, display_path(real, roots)
