"""Gen3 backend: a Butler repository read through the real ``lsst-daf-butler``.

Everything here is a registry query (the datastore is never walked); pixels and catalogs are read
with astropy/pyarrow from ``butler.getURI`` because ``lsst.afw`` cannot be installed. The Butler is
opened with ``writeable=False`` and every registry call is serialised by a lock, because one
repository object is shared by all the sessions of a server.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Iterable, Optional

import numpy as np

from .base import SOURCE_TYPES, Progress, Repository, count_source_rows, format_data_id
from .errors import (BadDataIdError, DatasetNotFoundError, ExplorerError, NotARepositoryError,
                     UnknownDatasetTypeError)
from .model import DatasetLocation, DatasetTypeSummary, Inventory

BAND_ORDER = "ugrizy"
REFS_MEMO_ENTRIES = 4096  # registry answers remembered per repository (a few kB each)


def band_sort_key(band: str) -> tuple[int, str]:
    """Sort bands in wavelength order (ugrizy), anything else after, alphabetically."""
    return (BAND_ORDER.index(band) if band in BAND_ORDER else len(BAND_ORDER), band)


class Gen3Repository(Repository):
    """A Gen3 Butler repository, opened read-only."""

    kind = "gen3"

    def __init__(self, root: str):
        super().__init__(root)
        try:
            self.butler = self._open_butler()
        except ExplorerError:
            raise
        except Exception as exc:  # a broken butler.yaml or registry: say so, in one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NotARepositoryError(f"cannot open the Butler repository at {self.root}: {first}") from None
        self.registry = self.butler.registry
        self._lock = threading.RLock()
        self._memo: dict[Any, Any] = {}
        self._refs_memo: OrderedDict[Any, tuple] = OrderedDict()
        self._uri_memo: dict[Any, Optional[str]] = {}

    def _open_butler(self):
        """The read-only Butler behind this repository (a remote backend overrides this)."""
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
            except Exception:
                return None
            path = uri.ospath if uri.scheme in ("file", "") else str(uri)
            if len(self._uri_memo) >= REFS_MEMO_ENTRIES:
                self._uri_memo.clear()
            self._uri_memo[ref.id] = path  # where a dataset lives never changes; whether it exists is stat-ed
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
        on_disk = self._file_exists(path)
        return DatasetLocation(dataset_type, dict(ref.dataId.mapping), path, on_disk,
                               storage_class=ref.datasetType.storageClass_name, collection=ref.run)

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
        return sorted({r.band for r in self._records("physical_filter") if r.band}, key=band_sort_key)

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
        from ..sky.regions import vertices_from_region

        return {f"{r.cell_x},{r.cell_y}": vertices_from_region(r.region) for r in self._records("patch")
                if int(r.tract) == int(tract) and r.region is not None}

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
                tracts.update(int(d["tract"]) for d in self.query_data_ids(name, collections=collections))
            return sorted(tracts)

        return self._memoised(("tracts", collections), compute)

    # ----- the inventory ---------------------------------------------------------------------
    def inventory(self, collections: Optional[str] = None, check_files: bool = False,
                  progress: Progress = None) -> Inventory:
        say = progress or (lambda _msg: None)
        matched = self.collections(collections)
        if collections and not matched:
            raise ExplorerError(f"no collection matches {collections!r} in {self.root}")
        summaries: list[DatasetTypeSummary] = []
        refs_by_type: dict[str, list] = {}
        names = self.dataset_type_names()
        for i, name in enumerate(names, 1):
            say(f"[{i}/{len(names)}] querying {name}")
            dt = self._dataset_type(name)
            refs = self._refs(name, collections) if matched else []
            refs_by_type[name] = refs
            missing = None
            if check_files:
                say(f"[{i}/{len(names)}] checking {len(refs)} {name} files on disk")
                missing = sum(1 for ref in refs if not self._file_exists(self._uri_path(ref)))
            summaries.append(DatasetTypeSummary(name, list(dt.dimensions.names), dt.storageClass_name,
                                                len(refs), missing))
        tracts: set[int] = set()
        patches: set[tuple[int, int]] = set()
        for name, refs in refs_by_type.items():
            for ref in refs:
                mapping = ref.dataId.mapping
                if "tract" in mapping:
                    tracts.add(int(mapping["tract"]))
                    if "patch" in mapping:
                        patches.add((int(mapping["tract"]), int(mapping["patch"])))
        say("computing the sky area of the tracts")
        area = self._tract_area(tracts)
        notes = []
        sources = self._count_sources({name: [self._uri_path(ref) for ref in refs_by_type.get(name, [])]
                                     for name in SOURCE_TYPES if refs_by_type.get(name)}, say, notes)
        return Inventory(
            kind=self.kind, root=self.root, collections=matched, dataset_types=summaries,
            instrument=self.instrument(), bands=self.all_bands(),
            visits=len(self._records("visit")), detectors=len(self._records("detector")),
            tracts=sorted(tracts), patches=len(patches), sources=sources, sky_area_deg2=area,
            skymap=self.skymap_name(), notes=notes)

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

