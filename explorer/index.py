"""What a repository offers to choose from: the index behind the explorer's selectors.

A :class:`RepoIndex` answers the questions the selectors ask, each with a registry query scoped to
the current choice: which bands and tracts have coadds (distinct-value queries), which patches of a
tract hold data, which visits have a detector overlapping the chosen patch (the registry's spatial
join of ``visit_detector_region`` with the patch region), which detectors a visit has, and the data
ID of the exposure or catalog a selection names. Nothing enumerates a repository's image data IDs:
opening a survey-sized registry costs what the first page shows, not what the registry holds.

One index serves a (repository, collection) and is shared by every session (it holds no UI
state): its answers are remembered in a bounded LRU (entries and bytes, :data:`MEMO_ENTRIES`,
:data:`MEMO_BYTES`), and it is thread-safe. Long option lists come with counts and a type-ahead
search (:meth:`RepoIndex.visit_options`); footprints come from registry regions, and many of them
as counts per patch (:meth:`RepoIndex.patch_coverage`) rather than thousands of polygons.

A backend without a registry to ask (Gen2 directories: ``scoped_queries`` false) gets a
:class:`ScanIndex`, which scans its data IDs once (as the explorer always did for such sizes).

Patches are always named "x,y" here, whatever the backend uses (Gen3: a sequential integer).

The index's parts live in :mod:`explorer.indexing`, one job each: the bounded memo
(``memo.py``), patch names (``patches.py``), the legacy mappings (``mappings.py``), regions and
footprints (``footprints.py``), the selectors' option lists (``options.py``), image kinds
(``kinds.py``) and the scanning index (``scan.py``). :class:`RepoIndex` here composes them with the
core questions (bands, tracts, patches, visits, detectors, data IDs); every name they define that
code imports is re-exported from this module, which stays the one place to import the index from.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from .bands import BAND_ORDER, band_key  # noqa: F401 - (re-exported by views.selection)
from .errors import ExplorerError
from .indexing.footprints import (  # noqa: F401 - re-exported
    FEW_VISITS,
    FOOTPRINT_LIMIT,
    HEADER_FOOTPRINTS_PER_VISIT,
    HEADER_REFINE_LIMIT,
    FootprintQueries,
)
from .indexing.kinds import (  # noqa: F401 - re-exported
    COADD_KINDS,
    DIFFERENCE_TYPES,
    KIND_ORDER,
    TEMPLATE_TYPES,
    VISIT_KINDS,
    KindQueries,
    nearest_coadd_key,
)
from .indexing.mappings import LazyIds, VisitBands
from .indexing.memo import MEMO_BYTES, MEMO_ENTRIES, Memo  # noqa: F401 - re-exported
from .indexing.memo import Memo as _Memo  # noqa: F401 - (the name tests and older code use)
from .indexing.options import OPTION_LIMIT, Option, OptionQueries, VisitChoice  # noqa: F401 - re-exported
from .indexing.patches import patch_label, patch_sort_key
from .indexing.patches import patch_sort_key as _patch_sort_key  # noqa: F401 - (older name)
from .repo.base import CALEXP_TYPES, COADD_CATALOG_TYPES, COADD_TYPES, SOURCE_TYPES, Repository
from .sky.predicates import overlap_counts as _overlap_counts  # noqa: F401 - (older name)
from .sky.predicates import overlaps  # noqa: F401 - re-exported

PER_DETECTOR_SOURCES = ("src", "source", "single_visit_star")


def __getattr__(name: str) -> Any:
    """``ScanIndex`` on first use: explorer/indexing/scan.py subclasses :class:`RepoIndex`, so it is
    imported after this module (an import at the top would be circular)."""
    if name == "ScanIndex":
        from .indexing.scan import ScanIndex

        return ScanIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RepoIndex(FootprintQueries, OptionQueries, KindQueries):
    """Selectable values of one repository and collection, from scoped registry queries.

    See the module docstring. Public attributes ``bands``, ``tracts``, ``coadds``, ``calexps``,
    ``visit_band`` and ``visits`` are computed on first use; the mappings answer key by key. The
    footprint, option and kind questions come from the mixins of :mod:`explorer.indexing`.

    Parameters
    ----------
    repo : explorer.repo.base.Repository
        The backend. One without ``scoped_queries`` (Gen2) gets a
        :class:`~explorer.indexing.scan.ScanIndex` instead.
    collection : str, optional
        The collection (glob) every query is scoped to; None for all.
    """

    def __new__(cls, repo: Repository, collection: Optional[str] = None):
        if cls is RepoIndex and not getattr(repo, "scoped_queries", False):
            from .indexing.scan import ScanIndex

            return super().__new__(ScanIndex)
        return super().__new__(cls)

    def __init__(self, repo: Repository, collection: Optional[str] = None):
        self.repo = repo
        self.collection = collection or None
        self._lock = threading.RLock()
        self._memo = Memo()
        names = self._choose_types()
        self._tract_types = [n for n in sorted(names) if "tract" in self._dims(n)]
        self._patch_types = [n for n in self._tract_types if "patch" in self._dims(n)]
        self.coadds = LazyIds(self, "coadd")
        self.calexps = LazyIds(self, "calexp")
        self.visit_band = VisitBands(self)

    def _choose_types(self) -> set[str]:
        """Set the dataset types the index answers for (the first calexp and coadd types with
        data, the source and coadd-catalog types, each image kind's type) from the repository's
        dataset type names, which it returns."""
        names = set(self.repo.dataset_type_names())
        self.calexp_type = self._first_with_data([t for t in CALEXP_TYPES if t in names])
        self.coadd_type = self._first_with_data([t for t in COADD_TYPES if t in names])
        # per-detector catalogs first: they match a calexp exactly (the notebook reads src)
        preferred = [t for t in PER_DETECTOR_SOURCES if t in SOURCE_TYPES] + list(SOURCE_TYPES)
        self.source_types = [t for t in dict.fromkeys(preferred) if t in names]
        self.coadd_catalog_types = [t for t in COADD_CATALOG_TYPES if t in names]
        self._init_kind_types(names)
        return names

    # ----- registry access -----------------------------------------------------------------

    def _dims(self, name: str) -> list[str]:
        try:
            return list(self.repo.dimensions_of(name))
        except ExplorerError:
            return []

    def _memoised(self, key: Any, compute):
        return self._memo.get(key, compute)

    def _ids(self, dataset_type: str, where: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
        try:
            return self.repo.query_data_ids(dataset_type, where=where, collections=self.collection)
        except ExplorerError:
            return []

    def _distinct(self, dataset_type: Optional[str], keys: list[str],
                  where: Optional[dict[str, Any]] = None) -> list[tuple]:
        if not dataset_type:
            return []
        key = ("distinct", dataset_type, tuple(keys), tuple(sorted((where or {}).items())))

        def compute():
            try:
                return self.repo.distinct_values(dataset_type, keys, where=where, collections=self.collection)
            except ExplorerError:
                return []

        return self._memoised(key, compute)

    def _first_with_data(self, names: list[str]) -> Optional[str]:
        for name in names:
            try:
                if self.repo.has_datasets(name, collections=self.collection):
                    return name
            except ExplorerError:
                continue
        return names[0] if names else None

    def _patch_where(self, tract: int, patch: Optional[str]) -> dict[str, Any]:
        where: dict[str, Any] = {"tract": int(tract)}
        if patch is not None:
            where["patch"] = self.repo.patch_id(patch) if hasattr(self.repo, "patch_id") else patch
        return where

    # ----- what the page opens with ---------------------------------------------------------
    def has_kind(self, kind: str) -> bool:
        """Whether the collection holds any image of a kind ("coadd", "calexp", ...)."""
        dataset_type = self.kind_type(kind)
        if not dataset_type:
            return False

        def compute():
            try:
                return self.repo.has_datasets(dataset_type, collections=self.collection)
            except ExplorerError:
                return False

        return self._memoised(("has", kind), compute)

    def count_kind(self, kind: str) -> int:
        """How many coadds or calexps the collection holds (one count query)."""
        dataset_type = self.coadd_type if kind == "coadd" else self.calexp_type
        if not dataset_type:
            return 0
        return self._memoised(("count", kind),
                              lambda: self.repo.count_datasets(dataset_type, collections=self.collection))

    @property
    def bands(self) -> list[str]:
        """Bands with coadds or calexps, in wavelength order (distinct-value queries)."""
        def compute():
            found = {str(b) for (b,) in self._distinct(self.coadd_type, ["band"])}
            # calexps: one existence query per band the registry's filters name (each stops at its
            # first match) rather than a distinct over every calexp of the collection
            for band in getattr(self.repo, "all_bands", lambda: [])():
                if band not in found and self.calexp_type and self.repo.has_datasets(
                        self.calexp_type, collections=self.collection, where={"band": band}):
                    found.add(str(band))
            return sorted(found, key=band_key)

        return self._memoised("bands", compute)

    @property
    def tracts(self) -> list[int]:
        """Tracts that hold at least one dataset with a tract dimension."""
        def compute():
            found: set[int] = set()
            for name in self._tract_types:
                found.update(int(t) for (t,) in self._distinct(name, ["tract"]))
            return sorted(found)

        return self._memoised("tracts", compute)

    @property
    def visits(self) -> list[int]:
        """Every visit with a calexp (one distinct query; prefer :meth:`visit_options`)."""
        return self._memoised("visits", lambda: sorted(int(v) for (v,) in self._distinct(self.calexp_type, ["visit"])))

    def patches(self, tract: Optional[int]) -> list[str]:
        """Patches of a tract that hold data, in (y, x) order as the skymap numbers them."""
        if tract is None:
            return []

        def compute():
            found: set[str] = set()
            for name in self._patch_types:
                rows = self._distinct(name, ["patch"], {"tract": int(tract)})
                found.update(patch_label(self.repo, tract, p) for (p,) in rows)
            return sorted(found, key=patch_sort_key)

        return self._memoised(("patches", int(tract)), compute)

    def bands_of_patch(self, tract: Optional[int], patch: Optional[str]) -> list[str]:
        """Bands with a coadd of the patch, in wavelength order (one distinct query)."""
        if tract is None or patch is None:
            return []
        rows = self._distinct(self.coadd_type, ["band"], self._patch_where(tract, patch))
        return sorted({str(b) for (b,) in rows}, key=band_key)

    def detectors(self, visit: Optional[int]) -> list[int]:
        """The detectors of a visit with a calexp (with their registry regions, one query)."""
        if visit is None or not self.calexp_type:
            return []
        regions = self._calexp_regions(int(visit))
        if regions:
            return sorted(regions)
        return sorted(int(d) for (d,) in self._distinct(self.calexp_type, ["detector"], {"visit": int(visit)}))

    def band_of_visit(self, visit: Any) -> Optional[str]:
        """The band of one visit (from the overlap answers when known, else one registry query)."""
        try:
            visit = int(visit)
        except (TypeError, ValueError):
            return None

        def compute():
            bands = self.repo.visit_bands([visit])
            if visit in bands:
                return bands[visit]
            rows = self._distinct(self.calexp_type, ["band"], {"visit": visit})
            return str(rows[0][0]) if rows else None

        return self._memoised(("visit_band", visit), compute)

    def bands_of(self, visits: list[int]) -> dict[int, Optional[str]]:
        """Bands of some visits: remembered ones, the rest in one registry query."""
        return self._bands_of(visits)

    def _bands_of(self, visits: list[int]) -> dict[int, Optional[str]]:
        known, unknown = {}, []
        for v in visits:
            hit = self._memo.peek(("visit_band", int(v)))
            if hit is not None:
                known[int(v)] = hit
            else:
                unknown.append(int(v))
        if unknown:
            for v, b in self.repo.visit_bands(unknown).items():
                known[int(v)] = b
                if b is not None:
                    self._memo.get(("visit_band", int(v)), lambda b=b: b)
        return known

    def _all_keys(self, kind: str) -> list[tuple]:
        if kind == "coadd":
            rows = self._distinct(self.coadd_type, ["tract", "patch", "band"])
            return [(int(t), patch_label(self.repo, t, p), str(b)) for t, p, b in rows]
        return [(int(v), int(d)) for v, d in self._distinct(self.calexp_type, ["visit", "detector"])]

    # ----- per tract --------------------------------------------------------------------------
    def tract_stats(self, with_visits: bool = False) -> dict[int, dict[str, Any]]:
        """Per tract: bands with coadds, patches with data, and (optionally) overlapping visits."""
        def compute():
            bands: dict[int, set[str]] = {}
            for t, b in self._distinct(self.coadd_type, ["tract", "band"]):
                bands.setdefault(int(t), set()).add(str(b))
            patches: dict[int, set[str]] = {}
            for name in self._patch_types:
                for t, p in self._distinct(name, ["tract", "patch"]):
                    patches.setdefault(int(t), set()).add(str(p))
            return {t: {"bands": sorted(bands.get(t, ()), key=band_key), "patches": len(patches.get(t, ())),
                        "visits": 0} for t in self.tracts}

        stats = {t: dict(v) for t, v in self._memoised("tract_stats", compute).items()}
        if with_visits:
            counts = None
            if len(stats) > 8 or self.count_kind("calexp") > FOOTPRINT_LIMIT:
                try:  # beyond a few tracts: one spatial join of visit and tract regions for all
                    counts = self.repo.visit_counts_by_tract()
                except ExplorerError:
                    counts = None
            for t in stats:
                stats[t]["visits"] = counts.get(t, 0) if counts is not None else len(self.visits_overlapping(t, None))
        return stats

    # ----- data IDs ------------------------------------------------------------------------
    def coadd_id(self, tract: Optional[int], patch: Optional[str], band: Optional[str]) -> Optional[dict[str, Any]]:
        """The data ID of the coadd of (tract, patch "x,y", band), or None when there is none."""
        if tract is None or patch is None or band is None or not self.coadd_type:
            return None
        where = dict(self._patch_where(tract, str(patch)), band=str(band))
        return self._memoised(("coadd_id", int(tract), str(patch), str(band)),
                              lambda: next(iter(self._ids(self.coadd_type, where)), None))

    def calexp_id(self, visit: Optional[int], detector: Optional[int]) -> Optional[dict[str, Any]]:
        """The data ID of the calexp of (visit, detector), or None when there is none."""
        if visit is None or detector is None or not self.calexp_type:
            return None
        where = {"visit": int(visit), "detector": int(detector)}
        return self._memoised(("calexp_id", int(visit), int(detector)),
                              lambda: next(iter(self._ids(self.calexp_type, where)), None))

    def catalog_types_for(self, image_type: Optional[str]) -> list[str]:
        """Catalogs that go with an image dataset type: single-visit sources for a calexp,
        coadd measurements and object tables for a coadd."""
        if image_type is None:
            return []
        if image_type == self.calexp_type or image_type == getattr(self, "difference_type", None):
            return list(self.source_types)  # (a difference image's sources: the visit's)
        return list(self.coadd_catalog_types)

    def catalog_id(self, catalog_type: str, image_id: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The catalog data ID matching an image data ID (on the keys they share)."""
        try:
            dims = set(self.repo.dimensions_of(catalog_type))
        except ExplorerError:
            return None
        keys = ("visit", "detector", "tract", "patch", "band", "filter", "ccd")
        where = {k: v for k, v in image_id.items() if k in dims and k in keys}
        if "band" in where and "band" not in dims:
            where.pop("band")
        key = ("catalog_id", catalog_type, tuple(sorted((k, str(v)) for k, v in where.items())))
        return self._memoised(key, lambda: next(iter(self._ids(catalog_type, where=where)), None))
