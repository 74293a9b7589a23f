"""Gen3 backend: a Butler repository read through the real ``lsst-daf-butler``.

Everything here is a registry query (the datastore is never walked); pixels and catalogs are read
with astropy/pyarrow from ``butler.getURI`` because ``lsst.afw`` cannot be installed. The Butler is
opened with ``writeable=False`` and every registry call is serialised by a lock, because one
repository object is shared by all the sessions of a server.

Why this module is over 400 lines: it is one object, :class:`Gen3Repository`, the complete
backend interface of :class:`~explorer.repo.base.Repository` over one Butler (data IDs and files,
dimension records, the scoped registry queries the index asks, the inventory). Its methods share
the Butler, its lock and its memo, and each is a query or two of daf_butler's API; the file readers
(:mod:`.fits`, :mod:`.catalogs`, :mod:`.lsst_images`) and the server-backed variant (:mod:`.remote`)
live in their own modules.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..bands import band_key
from .base import (SOURCE_COUNT_LIMIT, SOURCE_TYPES, Progress, Repository, count_source_rows, format_data_id,
                   progress_bar)
from .confine import check_file
from .errors import (BadDataIdError, DatasetNotFoundError, ExplorerError, NotARepositoryError,
                     UnknownDatasetTypeError)
from .model import DatasetLocation, DatasetTypeSummary, Inventory

REFS_MEMO_ENTRIES = 4096  # registry answers remembered per repository (a few kB each)
CHECK_BATCH = 10000  # refs checked on disk at a time by inventory --check-files
PIXELS_LISTED_LIMIT = 2000  # sky pixels named one by one in a spatial query (Gen3Repository._overlaps)


_BUTLER_LOGGERS = ("lsst.daf.butler.direct_butler._direct_butler", "lsst.daf.butler._butler",
                   "lsst.daf.butler.registry")


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _quiet_butler_log():
    """Drop the butler's own log lines (its "Failed to instantiate Butler from config ..." error)
    while it is being built: a failure is reported once, by the ExplorerError raised from it."""
    drop = _DropRecords()
    loggers = [logging.getLogger(name) for name in _BUTLER_LOGGERS]
    for lg in loggers:
        lg.addFilter(drop)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(drop)


_SECRET_IN_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def registry_problem(exc: BaseException) -> str:
    """What stops a registry from opening, in one line a person can act on.

    The butler wraps the database driver's error (psycopg, sqlite3) in its own; the chain is read
    for the known causes: a server that does not answer, a refused password, a database that does
    not exist, PostgreSQL without ``btree_gist``, a SQLite file that is not a database. Anything
    else: the first line of the outermost error. Passwords in URLs are blanked.
    """
    texts, seen, e = [], set(), exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        texts.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    text = " | ".join(texts)
    low = text.lower()
    host = (re.search(r'server at "([^"]+)"(?:[^,]*), port (\d+)', text)
            or re.search(r'connection to server on socket "([^"]+)"', text))
    where = f" at {host.group(1)}:{host.group(2)}" if host and host.lastindex == 2 else ""
    if "password authentication failed" in low or "no password supplied" in low:
        user = re.search(r'for user "([^"]+)"', text)
        return (f"the registry database refused the password{' of user ' + user.group(1) if user else ''}"
                f"{where}")
    if "does not exist" in low and "database" in low:
        name = re.search(r'database "([^"]+)" does not exist', text)
        return f"the registry database {name.group(1) if name else ''} does not exist{where}".replace("  ", " ")
    if "btree_gist" in low:
        return "the registry's PostgreSQL database lacks the btree_gist extension (CREATE EXTENSION btree_gist)"
    if ("connection refused" in low or "could not connect" in low or "connection failed" in low
            or "timeout expired" in low or "no such file or directory" in low and "socket" in low):
        return f"the registry database server{where} is not reachable (is it running?)"
    if "file is not a database" in low or "database disk image is malformed" in low:
        return "the registry gen3.sqlite3 is not a readable SQLite database (file is not a database)"
    if "unable to open database file" in low:
        return "the registry database file cannot be opened (unable to open database file)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _SECRET_IN_URL.sub(r"\1***@", first)


class Gen3Repository(Repository):
    """A Gen3 Butler repository, opened read-only."""

    kind = "gen3"
    scoped_queries = True  # the index asks the registry scoped questions (explorer.index.RepoIndex)

    def __init__(self, root: str):
        super().__init__(root)
        with _quiet_butler_log():  # the butler logs its own line before raising: one line is ours
            try:
                self.butler = self._open_butler()
            except ExplorerError:
                raise
            except Exception as exc:  # a broken butler.yaml or registry: say so, in one line
                raise NotARepositoryError(
                    f"cannot open the Butler repository at {self.root}: {registry_problem(exc)}") from None
        self.registry = self.butler.registry
        self._lock = threading.RLock()
        self._memo: dict[Any, Any] = {}
        self._refs_memo: OrderedDict[Any, tuple] = OrderedDict()
        self._uri_memo: dict[Any, Optional[str]] = {}

    def _open_butler(self):
        """The read-only Butler: the one place it is built (a remote backend overrides this)."""
        from lsst.daf.butler import Butler

        return Butler.from_config(self.root, writeable=False)

    def _file_exists(self, path: Optional[str]) -> bool:
        """Whether a dataset's file is there (a remote backend asks its file server instead)."""
        return _exists(path)

    def _count_sources(self, paths_by_type: dict[str, list], say, notes: list[str]) -> Optional[int]:
        """Rows of the source catalogs (a remote backend reads their footers over HTTP)."""
        return count_source_rows(paths_by_type, say, notes)

    # ----- helpers ---------------------------------------------------------------------------
    def _memoised(self, key: Any, compute):
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    def collections(self, pattern: Optional[str] = None) -> list[str]:
        with self._lock:
            try:
                return [str(c) for c in self.registry.queryCollections(pattern or "*")]
            except Exception as exc:
                raise ExplorerError(f"bad collection pattern {pattern!r}: {exc}") from None

    def _leaf_collections(self, pattern: Optional[str]) -> list[str]:
        """The matched collections with chains flattened, in search order, without repeats."""
        def compute():
            matched = self.collections(pattern)
            if not matched:
                raise ExplorerError(f"no collection matches {pattern!r}")
            leaves = self.registry.queryCollections(matched, flattenChains=True)
            return list(dict.fromkeys(str(c) for c in leaves))

        return self._memoised(("leaves", pattern), compute)

    def dataset_type_names(self) -> list[str]:
        def compute():
            return sorted(dt.name for dt in self.registry.queryDatasetTypes())

        return self._memoised("dataset_type_names", compute)

    def _dataset_type(self, name: str):
        with self._lock:
            try:
                return self.registry.getDatasetType(name)
            except Exception:
                known = ", ".join(self.dataset_type_names())
                raise UnknownDatasetTypeError(
                    f"unknown dataset type {name!r} in {self.root} (known: {known})") from None

    def dimensions_of(self, dataset_type: str) -> list[str]:
        return list(self._dataset_type(dataset_type).dimensions.names)

    def _check_data_id(self, dataset_type: str, data_id: dict[str, Any]) -> dict[str, Any]:
        dims = self.dimensions_of(dataset_type)
        bad = [k for k in data_id if k not in dims]
        if bad:
            raise BadDataIdError(
                f"{dataset_type} has no data ID key {', '.join(map(repr, bad))} (its keys: {', '.join(dims)})")
        out = {k: _coerce(v) for k, v in data_id.items()}
        # Like the notebook's data IDs, let {visit, detector} stand without the instrument (and
        # {tract, patch} without the skymap) when the repository holds only one.
        for governor in ("instrument", "skymap"):
            if governor in dims and governor not in out and out:
                names = [r.name for r in self._records(governor)]
                if len(names) == 1:
                    out[governor] = names[0]
        return out

    def _refs(self, dataset_type: str, collections: Optional[str],
              where: Optional[dict[str, Any]] = None) -> list:
        """Dataset refs of a type matching a data ID, remembered (LRU, :data:`REFS_MEMO_ENTRIES`):
        a page switching exposures asks for the same few refs again and again, and the registry is
        read-only for the explorer (a repository changed under a running server shows up on reopen)."""
        data_id = self._check_data_id(dataset_type, where or {})
        key = (dataset_type, collections, tuple(sorted((k, str(v)) for k, v in data_id.items())))
        with self._lock:
            hit = self._refs_memo.get(key)
            if hit is not None:
                self._refs_memo.move_to_end(key)
                return list(hit)
        leaves = self._leaf_collections(collections)
        with self._lock:
            try:
                refs = self.registry.queryDatasets(dataset_type, collections=leaves, dataId=data_id,
                                                   findFirst=False)
                out, seen = [], set()
                for ref in refs:
                    if ref.id not in seen:
                        seen.add(ref.id)
                        out.append(ref)
                self._refs_memo[key] = tuple(out)
                while len(self._refs_memo) > REFS_MEMO_ENTRIES:
                    self._refs_memo.popitem(last=False)
                return out
            except ExplorerError:
                raise
            except Exception as exc:
                raise BadDataIdError(f"bad data ID {format_data_id(data_id)} for {dataset_type}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None

    def query_data_ids(self, dataset_type: str, where: Optional[dict[str, Any]] = None,
                       collections: Optional[str] = None) -> list[dict[str, Any]]:
        refs = self._refs(dataset_type, collections, where)
        ids = [dict(ref.dataId.mapping) for ref in refs]
        ids.sort(key=lambda d: tuple(str(d[k]) if not isinstance(d[k], (int, np.integer)) else f"{d[k]:012d}"
                                     for k in sorted(d)))
        return [dict(t) for t in dict.fromkeys(tuple(sorted(d.items())) for d in ids)]

    def _uri_path(self, ref) -> Optional[str]:
        with self._lock:
            if ref.id in self._uri_memo:
                return self._uri_memo[ref.id]
            try:
                uri = self.butler.getURI(ref)
            except FileNotFoundError:  # registered, but the datastore has no record of a file
                return self._remember_uri(ref, None)
            except Exception:
                return None
            return self._remember_uri(ref, uri)

    def _remember_uri(self, ref, uri) -> Optional[str]:
        """Remember (bounded: :data:`REFS_MEMO_ENTRIES`) and return where a dataset's file is (its
        local path or URL; None: no file record). Where a dataset lives never changes; whether the
        file exists is stat-ed each time. Called with the lock held."""
        path = None if uri is None else (uri.ospath if uri.scheme in ("file", "") else str(uri))
        if len(self._uri_memo) >= REFS_MEMO_ENTRIES:
            self._uri_memo.clear()
        self._uri_memo[ref.id] = path
        return path

    def locate(self, dataset_type: str, data_id: dict[str, Any],
               collections: Optional[str] = None) -> DatasetLocation:
        data_id = self._check_data_id(dataset_type, data_id)
        refs = self._refs(dataset_type, collections, data_id)
        if len(refs) > 1 and len({ref.dataId for ref in refs}) == 1:
            # the same data ID in several collections: the first in search order wins
            order = {name: i for i, name in enumerate(self._leaf_collections(collections))}
            refs = [min(refs, key=lambda ref: order.get(ref.run, len(order)))]
        if not refs:
            raise DatasetNotFoundError(
                f"no {dataset_type} with data ID {format_data_id(data_id)} in collections "
                f"{collections or '*'} of {self.root}")
        if len(refs) > 1:
            required = list(self._dataset_type(dataset_type).dimensions.required)
            missing = [k for k in required if k not in data_id and k != "instrument" and k != "skymap"]
            raise BadDataIdError(
                f"data ID {format_data_id(data_id)} matches {len(refs)} {dataset_type} datasets; "
                f"also give {', '.join(missing) or 'a narrower collection'}")
        ref = refs[0]
        path = self._uri_path(ref)
        check_file(self.root, path, f"the {dataset_type} file")  # no-op unless opened confined
        on_disk = self._file_exists(path)
        return DatasetLocation(dataset_type, dict(ref.dataId.mapping), path, on_disk,
                               storage_class=ref.datasetType.storageClass_name, collection=ref.run)

    def locate_all(self, dataset_type: str, where: dict[str, Any],
                   collections: Optional[str] = None) -> list[DatasetLocation]:
        """Every matching dataset's location: one registry query, one datastore query for the
        URIs not yet known, then one existence check per file (a visit's 189 detectors cost two
        queries, not 378)."""
        refs = self._refs(dataset_type, collections, where)
        if not refs:
            return []
        order = {name: i for i, name in enumerate(self._leaf_collections(collections))}
        first: dict[Any, Any] = {}
        for ref in refs:  # the same data ID in several collections: the first in search order wins
            if ref.dataId not in first or order.get(ref.run, len(order)) < order.get(first[ref.dataId].run, len(order)):
                first[ref.dataId] = ref
        chosen = list(first.values())
        with self._lock:
            unknown = [ref for ref in chosen if ref.id not in self._uri_memo]
        if unknown:
            try:
                uris = self.butler.get_many_uris(unknown, allow_missing=True)
            except Exception:  # noqa: BLE001 - a datastore that cannot batch: one at a time below
                uris = None
            with self._lock:
                if uris is not None:  # a ref left out has no file record: registered, never written
                    for ref in unknown:
                        if ref not in uris:
                            self._remember_uri(ref, None)
                for ref, found in (uris or {}).items():
                    if found.primaryURI is not None:
                        self._remember_uri(ref, found.primaryURI)
        out = []
        for ref in chosen:
            path = self._uri_path(ref)
            check_file(self.root, path, f"the {dataset_type} file")
            out.append(DatasetLocation(dataset_type, dict(ref.dataId.mapping), path, self._file_exists(path),
                                       storage_class=ref.datasetType.storageClass_name, collection=ref.run))
        return out

    # ----- dimension records -----------------------------------------------------------------
    def _records(self, element: str) -> list:
        def compute():
            with self._lock:
                try:
                    return list(self.registry.queryDimensionRecords(element))
                except Exception:
                    return []

        return self._memoised(("records", element), compute)

    def instrument(self) -> Optional[str]:
        names = sorted(r.name for r in self._records("instrument"))
        return ", ".join(names) if names else None

    def all_bands(self) -> list[str]:
        """Bands of the registry's physical filters (the DESIGN definition of ``bands``)."""
        return sorted({r.band for r in self._records("physical_filter") if r.band}, key=band_key)

    def detector_names(self) -> dict[int, str]:
        return {int(r.id): str(r.full_name) for r in self._records("detector")}

    def skymap_name(self) -> Optional[str]:
        names = [r.name for r in self._records("skymap")]
        return names[0] if names else None

    def patch_name(self, tract: int, patch: int) -> str:
        """Gen3 sequential patch id -> Gen2-style "x,y" (sequential = y * nx + x)."""
        nx = self._patch_nx()
        return f"{int(patch) % nx},{int(patch) // nx}"

    def patch_id(self, name: str) -> int:
        x, y = (int(v) for v in str(name).split(","))
        return y * self._patch_nx() + x

    def _patch_nx(self) -> int:
        recs = self._records("skymap")
        return int(getattr(recs[0], "patch_nx_max", 7)) if recs else 7

    def tract_regions(self) -> dict[int, Any]:
        from ..sky.regions import vertices_from_region

        with_data = set(self._tracts_with_data(None))
        return {int(r.id): vertices_from_region(r.region) for r in self._records("tract")
                if int(r.id) in with_data and r.region is not None}

    def patch_regions(self, tract: int) -> dict[str, Any]:

        return dict(self.patch_regions_of(int(tract)))

    def detector_regions(self) -> dict[tuple[int, int], Any]:
        from ..sky.regions import vertices_from_region

        def compute():
            out = {}
            for r in self._records("visit_detector_region"):
                try:
                    out[(int(r.visit), int(r.detector))] = vertices_from_region(r.region)
                except (ValueError, TypeError, AttributeError):  # no region, or one without vertices
                    continue
            return out

        return self._memoised(("detector_regions",), compute)

    def _types_with(self, dimension: str) -> list[str]:
        return [n for n in self.dataset_type_names() if dimension in self.dimensions_of(n)]

    def _tracts_with_data(self, collections: Optional[str]) -> list[int]:
        def compute():
            tracts = set()
            for name in self._types_with("tract"):
                tracts.update(int(t) for (t,) in self.distinct_values(name, ["tract"], collections=collections))
            return sorted(tracts)

        return self._memoised(("tracts", collections), compute)

    # ----- scoped registry queries (the index's questions; see Repository) ---------------------
    def _governed(self, dataset_type: Optional[str], where: Optional[dict[str, Any]],
                  keys: Iterable[str] = ()) -> dict[str, Any]:
        """``where`` with integer-looking values coerced and the instrument/skymap filled in when
        the repository holds only one, as the query system wants governors for visit/tract ids."""
        out = {k: _coerce(v) for k, v in (where or {}).items()}
        wanted = set(out) | set(keys) | (set(self.dimensions_of(dataset_type)) if dataset_type else set())
        needs = {"instrument": {"visit", "detector", "exposure", "physical_filter"},
                 "skymap": {"tract", "patch"}}
        for governor, dims in needs.items():
            if governor not in out and wanted & dims:
                names = [r.name for r in self._records(governor)]
                if len(names) == 1:
                    out[governor] = names[0]
        if "patch" in out and isinstance(out["patch"], str) and "," in out["patch"]:
            out["patch"] = self.patch_id(out["patch"])
        return out

    def _query_rows(self, dataset_type: Optional[str], keys: Sequence[str], where: Optional[dict[str, Any]],
                    collections: Optional[str], limit: Optional[int] = None) -> list[dict[str, Any]]:
        """Distinct data IDs over ``keys`` (with their implied values), of datasets of a type (or
        of the dimension tables alone when ``dataset_type`` is None), matching ``where``; spatial
        joins between the keys' regions and those ``where`` names are the registry's own."""
        constraint = self._governed(dataset_type, where, keys)
        leaves = self._leaf_collections(collections) if dataset_type else None
        with self._lock:
            try:
                with self.butler.query() as q:
                    if dataset_type:
                        q = q.join_dataset_search(dataset_type, leaves)
                    results = q.data_ids(list(keys)).where(constraint)
                    if limit is not None:
                        results = results.limit(limit)
                    return [dict(d.mapping) for d in results]
            except ExplorerError:
                raise
            except Exception as exc:
                raise BadDataIdError(f"bad query {format_data_id(constraint)} on {dataset_type or 'the registry'}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None

    def count_datasets(self, dataset_type: str, collections: Optional[str] = None,
                       where: Optional[dict[str, Any]] = None) -> int:
        """The registry's own count; when a TAGGED or CALIBRATION collection is searched (a
        dataset may then sit in several), distinct dataset ids are counted instead."""
        leaves = self._leaf_collections(collections)
        constraint = self._governed(dataset_type, where)
        with self._lock, self.butler.query() as q:
            results = q.datasets(dataset_type, collections=leaves, find_first=False)
            if constraint:
                results = results.where(constraint)
            if len(leaves) > 1 and not self._runs_only(tuple(leaves)):
                return len({ref.id for ref in results})
            return int(results.count(exact=True))

    def _runs_only(self, leaves: tuple[str, ...]) -> bool:
        def compute():
            from lsst.daf.butler import CollectionType

            try:
                return all(self.registry.getCollectionType(c) == CollectionType.RUN for c in leaves)
            except Exception:
                return False

        return self._memoised(("runs_only", leaves), compute)

    def has_datasets(self, dataset_type: str, collections: Optional[str] = None,
                     where: Optional[dict[str, Any]] = None) -> bool:
        leaves = self._leaf_collections(collections)
        constraint = self._governed(dataset_type, where)
        with self._lock, self.butler.query() as q:
            results = q.datasets(dataset_type, collections=leaves, find_first=False)
            if constraint:
                results = results.where(constraint)
            return bool(results.any(execute=True, exact=False))

    def distinct_values(self, dataset_type: str, keys: Sequence[str], where: Optional[dict[str, Any]] = None,
                        collections: Optional[str] = None) -> list[tuple]:
        rows = self._query_rows(dataset_type, keys, where, collections)
        out = {tuple(_plain(r.get(k)) for k in keys) for r in rows}
        return sorted((t for t in out if None not in t), key=lambda t: tuple(str(v) for v in t))

    def count_distinct(self, dataset_type: str, keys: Sequence[str], collections: Optional[str] = None) -> int:
        """How many distinct data IDs over ``keys`` the datasets of a type have: the registry's
        own count of the distinct-data-ID query, no row materialised."""
        constraint = self._governed(dataset_type, {}, keys)
        leaves = self._leaf_collections(collections)
        with self._lock, self.butler.query() as q:
            return int(q.join_dataset_search(dataset_type, leaves).data_ids(list(keys)).where(constraint)
                       .count(exact=True, discard=True))

    def _overlaps(self, element: str, region: Any) -> tuple[str, dict[str, Any]]:
        """A query condition "``element``'s region overlaps ``region``" and its bind values, with
        the common sky pixels (htm7) the region touches named one by one.

        The butler turns an ``OVERLAPS`` alone into an OR of pixel-index ranges on the element's
        sky-pixel overlap table, and SQLite then walks that table's primary key (every detector
        region of the instrument: 2 M rows in a 1 M-dataset survey, ~0.3 s of CPU and cold
        pages) whenever there are two ranges or more. With the pixels listed (``IN``) it looks
        each one up in the pixel index: the rows of those pixels only. The butler still checks
        each candidate's region against ``region``, so the answer is the same. A region touching
        more than :data:`PIXELS_LISTED_LIMIT` pixels keeps the plain ``OVERLAPS``.
        """
        bind: dict[str, Any] = {"overlap_region": region}
        condition = f"{element}.region OVERLAPS(overlap_region)"
        try:
            skypix = self.butler.dimensions.commonSkyPix
            pixels = [i for begin, end in skypix.pixelization.envelope(region) for i in range(begin, end)]
        except Exception:  # a universe without a common pixelization: the plain overlap
            return condition, bind
        if 0 < len(pixels) <= PIXELS_LISTED_LIMIT:
            condition = f"{skypix.name} IN (overlap_pixels) AND {condition}"
            bind["overlap_pixels"] = pixels
        return condition, bind

    def overlapping_detectors(self, dataset_type: str, tract: int, patch: Optional[str] = None,
                              collections: Optional[str] = None) -> Optional[list[tuple[int, int, Optional[str]]]]:
        # The region as a literal, not a join with the patch table, and its sky pixels listed
        # (``_overlaps``): the registry then looks up the detector regions of the patch's own
        # pixels (a join's plan, or an OR of pixel ranges, can walk every detector region of the
        # instrument instead).
        from ..sky.regions import to_sphgeom_polygon

        regions = self.patch_regions_of(int(tract)) if patch is not None else self.tract_regions_of([int(tract)])
        key = str(patch).replace(" ", "") if patch is not None else int(tract)
        if key not in regions:
            return []
        overlap, bind = self._overlaps("visit_detector_region", to_sphgeom_polygon(regions[key]))
        constraint = self._governed(dataset_type, {})
        leaves = self._leaf_collections(collections)
        with self._lock:
            try:
                with self.butler.query() as q:
                    rows = list(q.join_dataset_search(dataset_type, leaves).data_ids(["visit", "detector"]).where(
                        overlap, constraint, bind=bind))
            except Exception as exc:
                raise BadDataIdError(f"cannot find the {dataset_type} overlapping tract {tract}"
                                     f"{'' if patch is None else ' patch ' + str(patch)}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        return sorted({(int(r["visit"]), int(r["detector"]), _plain(r.get("band"))) for r in rows})

    def detector_regions_in(self, dataset_type: str, tract: int, collections: Optional[str] = None,
                            as_regions: bool = False) -> Optional[dict[tuple[int, int], Any]]:
        """(visit, detector) -> vertices (``as_regions``: the sphgeom regions) of the datasets of a
        visit-detector type whose registry region overlaps a tract (one query, the tract region as
        a literal)."""
        from ..sky.regions import to_sphgeom_polygon, vertices_from_region

        regions = self.tract_regions_of([int(tract)])
        if int(tract) not in regions:
            return {}
        overlap, bind = self._overlaps("visit_detector_region", to_sphgeom_polygon(regions[int(tract)]))
        constraint = self._governed(dataset_type, {})
        leaves = self._leaf_collections(collections)
        with self._lock, self.butler.query() as q:
            found = q.join_dataset_search(dataset_type, leaves).dimension_records("visit_detector_region").where(
                overlap, constraint, bind=bind)
            records = list({(r.visit, r.detector): r for r in found}.values())  # (once per sky pixel)
        if as_regions:
            return {(int(r.visit), int(r.detector)): r.region for r in records if r.region is not None}
        out = {}
        for r in records:
            try:
                out[(int(r.visit), int(r.detector))] = vertices_from_region(r.region)
            except (ValueError, TypeError, AttributeError):
                continue
        return out

    def visit_counts_by_tract(self) -> Optional[dict[int, int]]:
        """Tract -> how many visits' focal-plane regions overlap it: one spatial join of the visit
        and tract regions for every tract (remembered), for colouring a sky map by depth."""
        def compute():
            constraint = self._governed(None, {}, ["visit", "tract"])
            with self._lock, self.butler.query() as q:
                rows = q.data_ids(["tract", "visit"]).where(constraint)
                counts: dict[int, int] = {}
                for r in rows:
                    counts[int(r["tract"])] = counts.get(int(r["tract"]), 0) + 1
            return counts

        return self._memoised(("visit_counts_by_tract",), compute)

    def tract_regions_of(self, tracts: Sequence[int]) -> dict[int, Any]:
        """Regions of some tracts (one query; remembered per tract)."""
        from ..sky.regions import vertices_from_region

        out, wanted = {}, []
        for t in tracts:
            hit = self._memo.get(("tract_region", int(t)))
            if hit is not None:
                out[int(t)] = hit
            else:
                wanted.append(int(t))
        if wanted:
            constraint = self._governed(None, {}, ["tract"])
            with self._lock, self.butler.query() as q:
                records = list(q.dimension_records("tract").where("tract IN (ts)", constraint, bind={"ts": wanted}))
            for r in records:
                if r.region is not None:
                    out[int(r.id)] = self._memo.setdefault(("tract_region", int(r.id)), vertices_from_region(r.region))
        return out

    def visit_regions(self, visit: int, dataset_type: Optional[str] = None,
                      collections: Optional[str] = None) -> dict[int, Any]:
        from ..sky.regions import vertices_from_region

        constraint = self._governed(None, {"visit": int(visit)})
        with self._lock, self.butler.query() as q:
            if dataset_type:  # only the detectors with such a dataset: one query for both answers
                q = q.join_dataset_search(dataset_type, self._leaf_collections(collections))
            records = list(q.dimension_records("visit_detector_region").where(constraint))
        out = {}
        for r in records:
            try:
                out[int(r.detector)] = vertices_from_region(r.region)
            except (ValueError, TypeError, AttributeError):
                continue
        return out

    def visit_bands(self, visits: Sequence[int]) -> dict[int, Optional[str]]:
        if not visits:
            return {}
        constraint = self._governed(None, {}, ["visit"])
        with self._lock, self.butler.query() as q:
            rows = q.data_ids(["visit"]).where("visit IN (vs)", constraint, bind={"vs": [int(v) for v in visits]})
            return {int(r["visit"]): _plain(r.get("band")) for r in rows}

    def patch_regions_of(self, tract: int, patches: Optional[Sequence[str]] = None) -> dict[str, Any]:
        from ..sky.regions import vertices_from_region

        def compute():
            constraint = self._governed(None, {"tract": int(tract)})
            with self._lock, self.butler.query() as q:
                records = list(q.dimension_records("patch").where(constraint))
            return {f"{r.cell_x},{r.cell_y}": vertices_from_region(r.region) for r in records
                    if r.region is not None}

        return self._memoised(("patch_regions", int(tract)), compute)

    # ----- the inventory ---------------------------------------------------------------------
    def inventory(self, collections: Optional[str] = None, check_files: bool = False,
                  progress: Progress = None) -> Inventory:
        """Counts from the registry's own count queries (no refs materialised); ``check_files``
        streams each type's refs in batches of :data:`CHECK_BATCH` and asks the datastore which
        artifacts exist, so memory stays bounded whatever the repository's size."""
        say = progress or (lambda _msg: None)
        matched = self.collections(collections)
        if collections and not matched:
            raise ExplorerError(f"no collection matches {collections!r} in {self.root}")
        summaries: list[DatasetTypeSummary] = []
        names = self.dataset_type_names()
        counts: dict[str, int] = {}
        for i, name in enumerate(names, 1):
            say(f"[{i}/{len(names)}] counting {name}")
            dt = self._dataset_type(name)
            counts[name] = self.count_datasets(name, collections) if matched else 0
            missing = missing_ids = None
            if check_files:
                missing_ids = (self._missing_ids(name, collections, counts[name],
                                                 lambda msg, i=i: say(f"[{i}/{len(names)}] {msg}"))
                               if counts[name] else [])
                missing = len(missing_ids)
            summaries.append(DatasetTypeSummary(name, list(dt.dimensions.names), dt.storageClass_name,
                                                counts[name], missing, missing_ids))
        tracts: set[int] = set()
        patches: set[tuple[int, int]] = set()
        n_patches = None
        if matched:
            with_patches = [n for n in self._types_with("tract") if counts.get(n) and "patch" in self.dimensions_of(n)]
            if len(with_patches) == 1:  # one type: the registry counts its pairs, and lists its tracts only
                say(f"counting the patches of {with_patches[0]}")
                n_patches = self.count_distinct(with_patches[0], ["tract", "patch"], collections)
            for name in self._types_with("tract"):
                if not counts.get(name):
                    continue
                if "patch" in self.dimensions_of(name) and n_patches is None:
                    pairs = self.distinct_values(name, ["tract", "patch"], collections=collections)
                    patches.update((int(t), int(p)) for t, p in pairs)
                    tracts.update(int(t) for t, _ in pairs)
                else:
                    tracts.update(int(t) for (t,) in self.distinct_values(name, ["tract"], collections=collections))
        say("computing the sky area of the tracts")
        area = self._tract_area(tracts)
        notes: list[str] = []
        sources = None
        for name in SOURCE_TYPES:
            if not counts.get(name):
                continue
            if counts[name] > SOURCE_COUNT_LIMIT:
                notes.append(f"sources not counted: {counts[name]} {name} files is more than a quick look")
            else:
                paths = [self._uri_path(ref) for ref in self._refs(name, collections)]
                sources = self._count_sources({name: paths}, say, notes)
            break
        return Inventory(
            kind=self.kind, root=self.root, collections=matched, dataset_types=summaries,
            instrument=self.instrument(), bands=self.all_bands(),
            visits=self._count_records("visit"), detectors=len(self._records("detector")),
            tracts=sorted(tracts), patches=len(patches) if n_patches is None else n_patches, sources=sources,
            sky_area_deg2=area,
            skymap=self.skymap_name(), notes=notes)

    def _count_records(self, element: str) -> int:
        with self._lock:
            try:
                with self.butler.query() as q:
                    return int(q.dimension_records(element).count(exact=True))
            except Exception:
                return 0

    def _missing_ids(self, name: str, collections: Optional[str], total: int, say) -> list[dict[str, Any]]:
        """Data IDs of the registered datasets of a type whose file is absent, streamed in batches
        (memory follows the batch and the missing ones, not the number registered)."""
        leaves = self._leaf_collections(collections)
        missing: list[dict[str, Any]] = []
        done, batch, seen = 0, [], set()

        datastore = getattr(self.butler, "_datastore", None)

        def check() -> list[dict[str, Any]]:
            if datastore is None:  # a client butler (remote): where each file is, then whether it is there
                return [dict(ref.dataId.mapping) for ref in batch if not self._file_exists(self._uri_path(ref))]
            # the refs come from the registry: ask the datastore which it records, then stat those
            known = [ref for ref, yes in datastore.knows_these(batch).items() if yes]
            present = {ref.id for ref, yes in datastore.mexists(known).items() if yes} if known else set()
            return [dict(ref.dataId.mapping) for ref in batch if ref.id not in present]

        dedupe = len(leaves) > 1 and not self._runs_only(tuple(leaves))  # else no dataset repeats
        with self._lock, self.butler.query() as q:
            for ref in q.datasets(name, collections=leaves, find_first=False):
                if ref.id in seen:  # the same dataset in two collections counts once
                    continue
                if dedupe:
                    seen.add(ref.id)
                batch.append(ref)
                if len(batch) >= CHECK_BATCH:
                    missing += check()
                    done += len(batch)
                    batch = []
                    say(f"checking {name} files: {done}/{total} ({progress_bar(done, total)})")
            if batch:
                missing += check()
                done += len(batch)
        if total > CHECK_BATCH:
            say(f"checking {name} files: {done}/{total} ({progress_bar(done, total)})")
        return missing

    def _tract_area(self, tracts: Iterable[int]) -> float:
        wanted = set(tracts)
        if not wanted:
            return 0.0
        from ..sky import union_area_deg2
        from ..sky.regions import vertices_from_region

        polys = [vertices_from_region(r.region) for r in self._records("tract")
                 if int(r.id) in wanted and r.region is not None]
        return float(union_area_deg2(polys)) if polys else 0.0

    def close(self) -> None:
        with self._lock:
            try:
                self.butler.close()
            except Exception:
                pass


def _exists(path: Optional[str]) -> bool:
    return bool(path) and os.path.exists(path)


def _plain(value: Any) -> Any:
    """A data ID value as a plain Python int or str (numpy integers from the registry)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def _coerce(value: Any) -> Any:
    """Data ID values from the CLI or URL arrive as strings: make integers integers."""
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return text
    if isinstance(value, np.integer):
        return int(value)
    return value

