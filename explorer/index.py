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
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import numpy as np

from .bands import BAND_ORDER, band_key  # noqa: F401 - (re-exported by views.selection)
from .errors import ExplorerError
from .repo.base import CALEXP_TYPES, COADD_CATALOG_TYPES, COADD_TYPES, SOURCE_TYPES, Repository

PER_DETECTOR_SOURCES = ("src", "source", "single_visit_star")
# image kinds beyond the coadd and the calexp (their dataset types, first present wins): visit-like
# kinds are chosen by visit and detector, coadd-like ones by tract, patch and band
DIFFERENCE_TYPES = ("difference_image", "goodSeeingDiff_differenceExp", "deepDiff_differenceExp")
TEMPLATE_TYPES = ("template_coadd", "goodSeeingCoadd")
VISIT_KINDS = ("calexp", "difference")
COADD_KINDS = ("coadd", "template")
KIND_ORDER = ("coadd", "calexp", "difference", "template")  # the order the kind buttons show
FOOTPRINT_LIMIT = 5000  # ScanIndex: beyond this many calexps, reading every header is no quick look
MEMO_ENTRIES = 4096  # answers one index remembers (LRU)...
MEMO_BYTES = 64 * 1024**2  # ...and at most this many bytes of them
HEADER_FOOTPRINTS_PER_VISIT = 16  # a visit with at most this many calexps: footprints from their headers
HEADER_REFINE_LIMIT = 64  # overlap candidates up to which cut-out calexps are checked by their headers
OPTION_LIMIT = 200  # options returned at once by a type-ahead search
FEW_VISITS = 8  # footprints of at most this many visits are asked visit by visit, else per tract




def patch_label(repo: Repository, tract: Any, patch: Any) -> str:
    """A patch as "x,y" whatever the backend calls it."""
    if isinstance(patch, str) and "," in patch:
        return patch.replace(" ", "")
    name = getattr(repo, "patch_name", None)
    if name is not None and tract is not None:
        return str(name(int(tract), int(patch)))
    return str(patch)


def overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two convex spherical polygons (RA/Dec vertices) overlap (lsst.sphgeom, exact)."""
    from .sky.regions import to_sphgeom_polygon

    try:
        return bool(to_sphgeom_polygon(a).overlaps(to_sphgeom_polygon(b)))
    except ValueError:
        return False


@dataclass(frozen=True)
class VisitChoice:
    """The visits a selection offers, and how they were chosen (shown to the user)."""

    visits: list[int]
    note: str


@dataclass(frozen=True)
class Option:
    """One choice of a long list: its value, a label to show and search, and a count (e.g. the
    detectors of a visit that overlap the chosen patch)."""

    value: Any
    label: str
    count: int


class _Memo:
    """A thread-safe LRU of computed answers, bounded in entries and (approximate) bytes."""

    def __init__(self, entries: int = MEMO_ENTRIES, nbytes: int = MEMO_BYTES):
        self.entries, self.max_bytes = entries, nbytes
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit[0]
        value = compute()  # outside the lock: a slow query does not stall other sessions' hits
        from .repo.cache import sizeof

        size = sizeof(value)
        with self._lock:
            if key in self._data:
                return self._data[key][0]
            self._data[key] = (value, size)
            self.bytes += size
            while self._data and (len(self._data) > self.entries or self.bytes > self.max_bytes):
                _, (_, old) = self._data.popitem(last=False)
                self.bytes -= old
        return value

    def peek(self, key: Any) -> Any:
        """The remembered answer, or None (no computing)."""
        with self._lock:
            hit = self._data.get(key)
            return None if hit is None else hit[0]

    def __len__(self) -> int:
        return len(self._data)


class _LazyIds(Mapping):
    """``{key: data ID}`` of one image kind, asked key by key (the legacy ``coadds``/``calexps``
    attributes): truthiness and ``get`` are one query each; iterating enumerates the registry."""

    def __init__(self, index: "RepoIndex", kind: str):
        self._index, self._kind = index, kind

    def __bool__(self) -> bool:
        return self._index.has_kind(self._kind)

    def __getitem__(self, key):
        value = (self._index.coadd_id(*key) if self._kind == "coadd" else self._index.calexp_id(*key))
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator:
        return iter(self._index._all_keys(self._kind))

    def __len__(self) -> int:
        return self._index.count_kind(self._kind)


class _VisitBands(Mapping):
    """``{visit: band}``, asked visit by visit (the legacy ``visit_band`` attribute)."""

    def __init__(self, index: "RepoIndex"):
        self._index = index

    def __getitem__(self, visit):
        band = self._index.band_of_visit(visit)
        if band is None:
            raise KeyError(visit)
        return band

    def __iter__(self) -> Iterator:
        return iter(self._index.visits)

    def __len__(self) -> int:
        return len(self._index.visits)


class _Footprints(Mapping):
    """``{(visit, detector): corners}``, asked visit by visit (the legacy ``footprints()``);
    iterating enumerates every calexp's region (use :meth:`RepoIndex.footprints_in`)."""

    def __init__(self, index: "RepoIndex"):
        self._index = index

    def __getitem__(self, key):
        try:  # (a selection without a visit or detector has no footprint: a missing key, not a crash)
            visit, detector = int(key[0]), int(key[1])
        except (TypeError, ValueError, IndexError):
            raise KeyError(key) from None
        fps = self._index.visit_footprints(visit)
        if detector not in fps:
            raise KeyError(key)
        return fps[detector]

    def __iter__(self) -> Iterator:
        return iter(self._index._all_footprints())

    def __len__(self) -> int:
        return len(self._index._all_footprints())

    def items(self):
        return self._index._all_footprints().items()


class RepoIndex:
    """Selectable values of one repository and collection, from scoped registry queries (see the
    module docstring). Public attributes ``bands``, ``tracts``, ``coadds``, ``calexps``,
    ``visit_band`` and ``visits`` are computed on first use; the mappings answer key by key."""

    def __new__(cls, repo: Repository, collection: Optional[str] = None):
        if cls is RepoIndex and not getattr(repo, "scoped_queries", False):
            return super().__new__(ScanIndex)
        return super().__new__(cls)

    def __init__(self, repo: Repository, collection: Optional[str] = None):
        self.repo = repo
        self.collection = collection or None
        self._lock = threading.RLock()
        self._memo = _Memo()
        names = set(repo.dataset_type_names())
        self.calexp_type = self._first_with_data([t for t in CALEXP_TYPES if t in names])
        self.coadd_type = self._first_with_data([t for t in COADD_TYPES if t in names])
        preferred = [t for t in PER_DETECTOR_SOURCES if t in SOURCE_TYPES] + list(SOURCE_TYPES)
        self.source_types = [t for t in dict.fromkeys(preferred) if t in names]
        self.coadd_catalog_types = [t for t in COADD_CATALOG_TYPES if t in names]
        self._init_kind_types(names)
        self._tract_types = [n for n in sorted(names) if "tract" in self._dims(n)]
        self._patch_types = [n for n in self._tract_types if "patch" in self._dims(n)]
        self.coadds = _LazyIds(self, "coadd")
        self.calexps = _LazyIds(self, "calexp")
        self.visit_band = _VisitBands(self)

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
            return sorted(found, key=_patch_sort_key)

        return self._memoised(("patches", int(tract)), compute)

    def bands_of_patch(self, tract: Optional[int], patch: Optional[str]) -> list[str]:
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

    def _calexp_regions(self, visit: int) -> dict[int, np.ndarray]:
        def compute():
            try:
                return {int(d): np.asarray(v, float) for d, v in self.repo.visit_regions(
                    visit, self.calexp_type, self.collection).items()}
            except ExplorerError:
                return {}

        return self._memoised(("calexp_regions", visit), compute)

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

    # ----- regions --------------------------------------------------------------------------
    def tract_regions(self) -> dict[int, np.ndarray]:
        def compute():
            wanted = set(self.tracts)
            regions = self.repo.tract_regions()
            return {int(t): np.asarray(v, float) for t, v in regions.items() if int(t) in wanted}

        return self._memoised("tract_regions", compute)

    def patch_regions(self, tract: Optional[int]) -> dict[str, np.ndarray]:
        if tract is None:
            return {}

        def compute():
            try:
                regions = self.repo.patch_regions_of(int(tract))
            except ExplorerError:
                return {}
            return {patch_label(self.repo, tract, k): np.asarray(v, float) for k, v in regions.items()}

        return self._memoised(("patch_regions", int(tract)), compute)

    def _region(self, tract: int, patch: Optional[str]) -> Optional[np.ndarray]:
        return self.patch_regions(tract).get(patch) if patch is not None else self.tract_regions().get(int(tract))

    def _header_corners(self, visit: int, detector: int) -> Optional[np.ndarray]:
        data_id = self.calexp_id(visit, detector)
        if data_id is None:
            return None
        try:
            corners = self.repo.get_exposure(self.calexp_type, data_id, collections=self.collection).info.corners_sky()
        except ExplorerError:
            return None
        return corners if corners is not None and np.all(np.isfinite(corners)) else None

    def visit_footprints(self, visit: Optional[int]) -> dict[int, np.ndarray]:
        """Detector -> corners on the sky of one visit's calexps: the registry's regions (one query),
        or, for a visit with at most :data:`HEADER_FOOTPRINTS_PER_VISIT` calexps, their own WCS read
        from the headers (cut-out calexps cover less than their detector); a calexp whose file is
        absent or unreadable keeps its registry region."""
        if visit is None or not self.calexp_type:
            return {}
        visit = int(visit)

        def compute():
            dets = self.detectors(visit)
            regions = self._calexp_regions(visit)
            out = {}
            for d in dets:
                corners = self._header_corners(visit, d) if len(dets) <= HEADER_FOOTPRINTS_PER_VISIT else None
                if corners is None:
                    corners = regions.get(d)
                if corners is not None:
                    out[d] = np.asarray(corners, float)
            return out

        return self._memoised(("visit_footprints", visit), compute)

    def footprints(self) -> Mapping:
        """(visit, detector) -> corners, answered visit by visit (see :meth:`visit_footprints`).
        Iterating it enumerates every calexp: views use :meth:`footprints_in` instead."""
        return _Footprints(self)

    def _all_footprints(self) -> dict[tuple[int, int], np.ndarray]:
        """Every calexp's footprint, visit by visit, stopping after :data:`FOOTPRINT_LIMIT` of
        them: a survey's million footprints are no quick look (the sky map asks for those of the
        chosen tract or patch, :meth:`footprints_in`, or for counts, :meth:`patch_coverage`)."""
        def compute():
            out = {}
            for visit in self.visits:
                for d, corners in self.visit_footprints(visit).items():
                    out[(visit, d)] = corners
                if len(out) >= FOOTPRINT_LIMIT:
                    break
            return out

        return self._memoised("all_footprints", compute)

    def _all_keys(self, kind: str) -> list[tuple]:
        if kind == "coadd":
            rows = self._distinct(self.coadd_type, ["tract", "patch", "band"])
            return [(int(t), patch_label(self.repo, t, p), str(b)) for t, p, b in rows]
        return [(int(v), int(d)) for v, d in self._distinct(self.calexp_type, ["visit", "detector"])]

    # ----- overlaps: the registry's spatial join -----------------------------------------------
    def overlapping(self, tract: Optional[int], patch: Optional[str]) -> dict[int, list[int]]:
        """Visit -> its calexp detectors whose footprint overlaps the patch (or the tract)."""
        if tract is None or not self.calexp_type:
            return {}

        def compute():
            try:
                rows = self.repo.overlapping_detectors(self.calexp_type, int(tract), patch, self.collection)
            except ExplorerError:
                rows = []
            by_visit: dict[int, list[int]] = {}
            bands: dict[int, Optional[str]] = {}
            for visit, det, band in rows or []:
                by_visit.setdefault(int(visit), []).append(int(det))
                bands[int(visit)] = band
            region = self._region(int(tract), patch)
            refine = region is not None and len(rows or ()) <= HEADER_REFINE_LIMIT
            out: dict[int, list[int]] = {}
            for visit, dets in by_visit.items():
                if band_known := bands.get(visit):
                    self._memo.get(("visit_band", visit), lambda b=band_known: str(b))
                if refine and len(self.detectors(visit)) <= HEADER_FOOTPRINTS_PER_VISIT:
                    fps = self.visit_footprints(visit)  # cut-outs: their own WCS decides
                    dets = [d for d in dets if d in fps and overlaps(fps[d], region)]
                if dets:
                    out[visit] = sorted(dets)
            return out

        return self._memoised(("overlap", int(tract), patch), compute)

    def visits_overlapping(self, tract: Optional[int], patch: Optional[str]) -> set[int]:
        """Visits with at least one calexp footprint overlapping the patch (or the tract)."""
        return set(self.overlapping(tract, patch))

    def _visits_in_band(self, band: Optional[str]) -> set[int]:
        if band is None:
            return set(self.visits)
        return self._memoised(("visits_in_band", band), lambda: {
            int(v) for (v,) in self._distinct(self.calexp_type, ["visit"], {"band": band})})

    def choose_visits(self, tract: Optional[int], patch: Optional[str], band: Optional[str]) -> VisitChoice:
        """Visits overlapping the patch in the band; falling back, with a note saying so, to any
        band, then to the tract, then to every visit in the band, then to every visit."""
        def in_band(vs):
            return {v for v in vs if band is None or self.band_of_visit(v) == band}

        where_patch = f"tract {tract} patch {patch}"
        if tract is not None and patch is not None:
            over = self.visits_overlapping(tract, patch)
            for visits, note in ((in_band(over), f"visits in {band} overlapping {where_patch}"),
                                 (over, f"no {band} visit overlaps {where_patch}: visits in any band overlapping it")):
                if visits:
                    return VisitChoice(sorted(visits), note)
        if tract is not None:
            over_t = self.visits_overlapping(tract, None)
            for visits, note in ((in_band(over_t),
                                  f"no visit overlaps {where_patch}: {band} visits overlapping tract {tract}"),
                                 (over_t, f"no visit overlaps {where_patch}: visits overlapping tract {tract}")):
                if visits:
                    return VisitChoice(sorted(visits), note)
        for visits, note in ((self._visits_in_band(band), f"no visit overlaps the selection: every {band} visit"),
                             (set(self.visits), "every visit with a calexp")):
            if visits:
                return VisitChoice(sorted(visits), note)
        return VisitChoice([], "no calexps in this collection")

    def visit_options(self, tract: Optional[int], patch: Optional[str], band: Optional[str],
                      search: str = "", limit: int = OPTION_LIMIT) -> tuple[list[Option], int, str]:
        """The visits :meth:`choose_visits` offers, as options for a type-ahead selector: each with
        its band and the number of its detectors overlapping the patch (or tract), filtered by
        ``search`` (a substring of the visit number), at most ``limit`` of them. Returns (options, how
        many matched in all, the note)."""
        choice = self.choose_visits(tract, patch, band)
        text = (search or "").strip().lower()
        matches = [v for v in choice.visits if not text or text in str(v)]
        return self.describe_visits(matches[:limit], tract, patch), len(matches), choice.note

    def describe_visits(self, visits: list[int], tract: Optional[int], patch: Optional[str]) -> list[Option]:
        """Some visits as options labelled "visit · band · N detectors": N (the count) is how many
        of the visit's calexp detectors overlap the patch (or, when none do, the tract); without a
        tract there is no count to give. Two queries at most, whatever the number of visits: the
        (remembered) overlap join and the bands of the visits not known yet."""
        counts: dict[int, list[int]] = {}
        if tract is not None:
            counts = self.overlapping(tract, patch) or self.overlapping(tract, None)
        bands = self._bands_of([int(v) for v in visits])
        out = []
        for v in visits:
            n = len(counts.get(int(v), ()))
            label = " · ".join([str(v)] + ([bands[int(v)]] if bands.get(int(v)) else [])
                               + ([f"{n} detector{'s' if n != 1 else ''}"] if counts else []))
            out.append(Option(v, label, n))
        return out

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

    def detector_options(self, visit: Optional[int], tract: Optional[int] = None, patch: Optional[str] = None,
                         search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """The detectors of a visit as options (count 1 where the detector overlaps the chosen
        patch or tract, else 0, and the label says so), overlapping ones first; ``search`` filters
        on id or name."""
        dets = self.detectors(visit)
        over = (set(self.overlapping(tract, patch).get(int(visit), ()))
                if visit is not None and tract is not None else set())
        names = getattr(self.repo, "detector_names", lambda: {})()
        text = (search or "").strip().lower()
        out = []
        for d in sorted(dets, key=lambda d: (d not in over, d)):
            label = f"{d}" + (f" {names[d]}" if d in names else "")
            if text and text not in label.lower():
                continue
            out.append(Option(d, label + (" · on the patch" if d in over and patch is not None else
                                          " · on the tract" if d in over else ""), int(d in over)))
            if len(out) >= limit:
                break
        return out

    def footprints_in(self, tract: Optional[int], patch: Optional[str] = None,
                      limit: int = 2000) -> dict[tuple[int, int], np.ndarray]:
        """Footprints (registry regions) of the calexps overlapping a patch or tract, at most
        ``limit`` of them, in visit order: what a sky map can draw as glyphs (beyond:
        :meth:`patch_coverage`). Up to :data:`FEW_VISITS` visits, visit by visit (small visits
        keep their headers' corners); beyond, from one query for the whole tract's regions."""
        over = sorted(self.overlapping(tract, patch).items())
        wanted = [(v, d) for v, dets in over for d in dets][:max(int(limit), 0)]
        if not wanted:
            return {}
        by_tract = self._tract_footprints(int(tract)) if len({v for v, _ in wanted}) > FEW_VISITS else None
        out: dict[tuple[int, int], np.ndarray] = {}
        for visit, d in wanted:
            corners = by_tract.get((visit, d)) if by_tract is not None else None
            if corners is None:
                corners = self.visit_footprints(visit).get(d)
            if corners is not None:
                out[(visit, d)] = corners
        return out

    def _tract_footprints(self, tract: int) -> Optional[dict[tuple[int, int], np.ndarray]]:
        """(visit, detector) -> registry region of every calexp overlapping a tract, in one query
        (None when the backend cannot say)."""
        ask = getattr(self.repo, "detector_regions_in", None)
        if ask is None or not self.calexp_type:
            return None

        def compute():
            try:
                regions = ask(self.calexp_type, int(tract), self.collection)
            except ExplorerError:
                return None
            if regions is None:
                return None
            return {(int(v), int(d)): np.asarray(c, float) for (v, d), c in regions.items()}

        return self._memoised(("tract_footprints", int(tract)), compute)

    def patch_coverage(self, tract: Optional[int]) -> dict[str, int]:
        """Patch "x,y" -> how many calexps overlap it: footprints aggregated for the sky map (the
        registry's regions of the tract's calexps in one query, matched to the patches here)."""
        if tract is None:
            return {}

        def compute():
            try:
                regions = self.repo.detector_regions_in(self.calexp_type, int(tract), self.collection,
                                                        as_regions=True) \
                    if self.calexp_type and self.count_kind("calexp") > FOOTPRINT_LIMIT else None
            except ExplorerError:
                regions = None
            if regions is None:  # few calexps (or no regions): their footprints patch by patch
                return {p: sum(len(d) for d in self.overlapping(tract, p).values()) for p in self.patches(tract)}
            patches = {p: r for p, r in self.patch_regions(tract).items() if p in set(self.patches(tract))}
            return {p: n for p, n in zip(patches, _overlap_counts(list(patches.values()), list(regions.values())))}

        return self._memoised(("coverage", int(tract)), compute)

    def tract_options(self, search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """Tracts with data as options: the count is the number of patches with data."""
        stats = self.tract_stats()
        text = (search or "").strip()
        out = [Option(t, f"{t}: {s['patches']} patches, {''.join(s['bands'])}", s["patches"])
               for t, s in stats.items() if not text or text in str(t)]
        return out[:limit]

    def patch_options(self, tract: Optional[int], search: str = "", limit: int = OPTION_LIMIT) -> list[Option]:
        """Patches of a tract with data as options: the count is the calexps overlapping each."""
        coverage = self.patch_coverage(tract)
        text = (search or "").strip().replace(" ", "")
        out = [Option(p, f"{p}: {coverage.get(p, 0)} calexps", coverage.get(p, 0))
               for p in self.patches(tract) if not text or text in p]
        return out[:limit]

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
        if tract is None or patch is None or band is None or not self.coadd_type:
            return None
        where = dict(self._patch_where(tract, str(patch)), band=str(band))
        return self._memoised(("coadd_id", int(tract), str(patch), str(band)),
                              lambda: next(iter(self._ids(self.coadd_type, where)), None))

    def calexp_id(self, visit: Optional[int], detector: Optional[int]) -> Optional[dict[str, Any]]:
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

    # ----- image kinds: the names the repository uses, and the extra kinds ----------------------
    def _init_kind_types(self, names: set[str]) -> None:
        self.difference_type = self._first_with_data([t for t in DIFFERENCE_TYPES if t in names])
        self.template_type = self._first_with_data([t for t in TEMPLATE_TYPES if t in names])

    def kind_type(self, kind: str) -> Optional[str]:
        """The dataset type of an image kind ("coadd", "calexp", "difference", "template") here,
        e.g. ``deep_coadd``/``visit_image`` in DP1/DP2, ``deepCoadd_calexp``/``calexp`` in DC2."""
        return {"coadd": self.coadd_type, "calexp": self.calexp_type, "difference": self.difference_type,
                "template": self.template_type}.get(kind)

    def kind_label(self, kind: str) -> str:
        """What the repository calls a kind (its dataset type), for buttons and titles."""
        return self.kind_type(kind) or kind

    def kinds(self) -> list[str]:
        """The image kinds this collection holds, in :data:`KIND_ORDER`."""
        return [k for k in KIND_ORDER if self.has_kind(k)]

    def kind_of_type(self, dataset_type: Optional[str]) -> Optional[str]:
        """The kind whose dataset type is ``dataset_type`` (None: no kind of this repository)."""
        return next((k for k in KIND_ORDER if dataset_type and self.kind_type(k) == dataset_type), None)

    def kind_id(self, kind: str, tract: Any = None, patch: Any = None, band: Any = None, visit: Any = None,
                detector: Any = None) -> Optional[dict[str, Any]]:
        """The data ID of the image of a kind that a selection names (None: there is none)."""
        if kind == "coadd":
            return self.coadd_id(tract, patch, band)
        if kind == "calexp":
            return self.calexp_id(visit, detector)
        dataset_type = self.kind_type(kind)
        if not dataset_type:
            return None
        if kind in COADD_KINDS:
            if tract is None or patch is None or band is None:
                return None
            where = dict(self._patch_where(tract, str(patch)), band=str(band))
            key = ("kind_id", kind, int(tract), str(patch), str(band))
        else:
            if visit is None or detector is None:
                return None
            where = {"visit": int(visit), "detector": int(detector)}
            key = ("kind_id", kind, int(visit), int(detector))
        return self._memoised(key, lambda: next(iter(self._ids(dataset_type, where)), None))

    def kind_visits(self, kind: str) -> list[int]:
        """Visits with an image of a visit-like kind (one distinct query)."""
        if kind == "calexp":
            return list(self.visits)
        return self._memoised(("kind_visits", kind), lambda: sorted(
            int(v) for (v,) in self._distinct(self.kind_type(kind), ["visit"])))

    def kind_detectors(self, kind: str, visit: Optional[int]) -> list[int]:
        """Detectors of a visit with an image of a visit-like kind."""
        if visit is None:
            return []
        if kind == "calexp":
            return self.detectors(visit)
        return self._memoised(("kind_detectors", kind, int(visit)), lambda: sorted(
            int(d) for (d,) in self._distinct(self.kind_type(kind), ["detector"], {"visit": int(visit)})))

    def kind_keys(self, kind: str) -> list[tuple]:
        """(tract, patch "x,y", band) of every image of a coadd-like kind (a distinct query)."""
        if kind == "coadd":
            return list(self.coadds)
        rows = self._distinct(self.kind_type(kind), ["tract", "patch", "band"])
        return [(int(t), patch_label(self.repo, t, p), str(b)) for t, p, b in rows]


class ScanIndex(RepoIndex):
    """The index of a repository without a registry to ask (Gen2): every data ID is scanned
    once, up front, and the answers come from those tables (fine at the sizes Gen2 repositories
    have; footprints come from exposure headers)."""

    bands = tracts = None  # plain attributes here, set by the scan

    def __init__(self, repo: Repository, collection: Optional[str] = None):
        self.repo = repo
        self.collection = collection or None
        self._lock = threading.RLock()
        self._memo: dict[Any, Any] = {}
        names = set(repo.dataset_type_names())
        self.calexp_type = self._first_with_data([t for t in CALEXP_TYPES if t in names])
        self.coadd_type = self._first_with_data([t for t in COADD_TYPES if t in names])
        # per-detector catalogs first: they match a calexp exactly (the notebook reads src)
        preferred = [t for t in PER_DETECTOR_SOURCES if t in SOURCE_TYPES] + list(SOURCE_TYPES)
        self.source_types = [t for t in dict.fromkeys(preferred) if t in names]
        self.coadd_catalog_types = [t for t in COADD_CATALOG_TYPES if t in names]
        self._init_kind_types(names)

        self.calexps: dict[tuple[int, int], dict[str, Any]] = {}
        self.visit_band: dict[int, str] = {}
        if self.calexp_type:
            for d in self._ids(self.calexp_type):
                if d.get("visit") is None or d.get("detector") is None:
                    continue
                key = (int(d["visit"]), int(d["detector"]))
                self.calexps[key] = d
                if d.get("band") is not None:
                    self.visit_band[key[0]] = str(d["band"])
        self.coadds: dict[tuple[int, str, str], dict[str, Any]] = {}
        if self.coadd_type:
            for d in self._ids(self.coadd_type):
                if d.get("tract") is None or d.get("patch") is None or d.get("band") is None:
                    continue
                self.coadds[(int(d["tract"]), patch_label(repo, d["tract"], d["patch"]), str(d["band"]))] = d

        self.patches_with_data: dict[int, set[str]] = {}
        tracts: set[int] = set()
        for name in sorted(names):
            try:
                dims = repo.dimensions_of(name)
            except ExplorerError:
                continue
            if "tract" not in dims:
                continue
            for d in self._ids(name):
                if d.get("tract") is None:
                    continue
                t = int(d["tract"])
                tracts.add(t)
                if "patch" in dims and d.get("patch") is not None:
                    self.patches_with_data.setdefault(t, set()).add(patch_label(repo, t, d["patch"]))
        self.tracts = sorted(tracts)
        bands = {b for (_, _, b) in self.coadds} | set(self.visit_band.values())
        self.bands = sorted(bands, key=band_key)

    # ----- registry access -----------------------------------------------------------------
    def _ids(self, dataset_type: str, where: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
        try:
            return self.repo.query_data_ids(dataset_type, where=where, collections=self.collection)
        except ExplorerError:
            return []

    def _first_with_data(self, names: list[str]) -> Optional[str]:
        for name in names:
            if self._ids(name):
                return name
        return names[0] if names else None

    def _memoised(self, key: Any, compute):
        with self._lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]

    # ----- selections ----------------------------------------------------------------------
    @property
    def visits(self) -> list[int]:
        return sorted(self.visit_band)

    def patches(self, tract: Optional[int]) -> list[str]:
        """Patches of a tract that hold data, in (y, x) order as the skymap numbers them."""
        if tract is None:
            return []
        names = self.patches_with_data.get(int(tract), set())
        return sorted(names, key=_patch_sort_key)

    def bands_of_patch(self, tract: Optional[int], patch: Optional[str]) -> list[str]:
        return sorted({b for (t, p, b) in self.coadds if t == tract and p == patch}, key=band_key)

    def detectors(self, visit: Optional[int]) -> list[int]:
        if visit is None:
            return []
        return sorted(det for (v, det) in self.calexps if v == int(visit))

    def footprints(self) -> dict[tuple[int, int], np.ndarray]:
        """(visit, detector) -> outer corners on the sky, from each calexp's WCS (headers only).

        A calexp whose file is absent or unreadable takes the region the registry records for its
        detector, if any, so a damaged file does not hide its visit from the lists (choosing it then
        says what is wrong). Above :data:`FOOTPRINT_LIMIT` calexps no header is read: the registry's
        regions serve for all (none in Gen2, where the result is then empty).
        """
        def compute():
            out: dict[tuple[int, int], np.ndarray] = {}
            if not self.calexp_type:
                return out
            if len(self.calexps) > FOOTPRINT_LIMIT:  # too many headers to read: the registry's regions
                regions = self.repo.detector_regions()
                return {key: regions[key] for key in self.calexps if key in regions}
            for key, data_id in sorted(self.calexps.items()):
                try:
                    info = self.repo.get_exposure(self.calexp_type, data_id, collections=self.collection).info
                    corners = info.corners_sky()
                except ExplorerError:
                    corners = self.repo.detector_regions().get(key)
                    if corners is None:
                        continue
                if corners is not None and np.all(np.isfinite(corners)):
                    out[key] = corners
            return out

        return self._memoised("footprints", compute)

    def visits_overlapping(self, tract: Optional[int], patch: Optional[str]) -> set[int]:
        """Visits with at least one calexp footprint overlapping the patch (or the tract)."""

        if tract is None:
            return set()
        key = ("overlap", int(tract), patch)

        def compute():
            if patch is not None:
                region = self.patch_regions(tract).get(patch)
            else:
                region = self.tract_regions().get(int(tract))
            if region is None:
                return set()
            return {v for (v, _), fp in self.footprints().items() if overlaps(fp, region)}

        return self._memoised(key, compute)

    def choose_visits(self, tract: Optional[int], patch: Optional[str], band: Optional[str]) -> VisitChoice:
        """Visits overlapping the patch in the band; falling back, with a note saying so, to any
        band, then to the tract, then to every visit in the band, then to every visit."""
        def in_band(vs):
            return {v for v in vs if band is None or self.visit_band.get(v) == band}

        where_patch = f"tract {tract} patch {patch}"
        tiers = []
        if tract is not None and patch is not None:
            over = self.visits_overlapping(tract, patch)
            tiers += [(in_band(over), f"visits in {band} overlapping {where_patch}"),
                      (over, f"no {band} visit overlaps {where_patch}: visits in any band overlapping it")]
        if tract is not None:
            over_t = self.visits_overlapping(tract, None)
            tiers += [(in_band(over_t), f"no visit overlaps {where_patch}: {band} visits overlapping tract {tract}"),
                      (over_t, f"no visit overlaps {where_patch}: visits overlapping tract {tract}")]
        tiers += [(in_band(set(self.visit_band)), f"no visit overlaps the selection: every {band} visit"),
                  (set(self.visit_band), "every visit with a calexp")]
        for visits, note in tiers:
            if visits:
                return VisitChoice(sorted(visits), note)
        return VisitChoice([], "no calexps in this collection")

    def tract_stats(self, with_visits: bool = False) -> dict[int, dict[str, Any]]:
        """Per tract: bands with coadds, patches with data, and (optionally) overlapping visits."""
        stats: dict[int, dict[str, Any]] = {}
        for t in self.tracts:
            bands = sorted({b for (tt, _, b) in self.coadds if tt == t}, key=band_key)
            stats[t] = {"bands": bands, "patches": len(self.patches_with_data.get(t, ())), "visits": 0}
            if with_visits:
                stats[t]["visits"] = len(self.visits_overlapping(t, None))
        return stats

    # ----- data IDs ------------------------------------------------------------------------
    def coadd_id(self, tract: Optional[int], patch: Optional[str], band: Optional[str]) -> Optional[dict[str, Any]]:
        if tract is None or patch is None or band is None:
            return None
        return self.coadds.get((int(tract), str(patch), str(band)))

    def calexp_id(self, visit: Optional[int], detector: Optional[int]) -> Optional[dict[str, Any]]:
        if visit is None or detector is None:
            return None
        return self.calexps.get((int(visit), int(detector)))


    # ----- the scoped methods, answered from the scan ---------------------------------------
    def has_kind(self, kind: str) -> bool:
        if kind not in ("coadd", "calexp"):
            return super().has_kind(kind)
        return bool(self.coadds if kind == "coadd" else self.calexps)

    def count_kind(self, kind: str) -> int:
        return len(self.coadds if kind == "coadd" else self.calexps)

    def band_of_visit(self, visit: Any) -> Optional[str]:
        try:
            return self.visit_band.get(int(visit))
        except (TypeError, ValueError):
            return None

    def _bands_of(self, visits: list[int]) -> dict[int, Optional[str]]:
        return {int(v): self.visit_band.get(int(v)) for v in visits}

    def visit_footprints(self, visit: Optional[int]) -> dict[int, np.ndarray]:
        if visit is None:
            return {}
        return {d: fp for (v, d), fp in self.footprints().items() if v == int(visit)}

    def overlapping(self, tract: Optional[int], patch: Optional[str]) -> dict[int, list[int]]:
        if tract is None:
            return {}
        region = self._region(int(tract), patch)
        if region is None:
            return {}

        def compute():
            out: dict[int, list[int]] = {}
            for (v, d), fp in sorted(self.footprints().items()):
                if overlaps(fp, region):
                    out.setdefault(v, []).append(d)
            return out

        return self._memoised(("overlapping", int(tract), patch), compute)


def _overlap_counts(polygons: list, others: list) -> list[int]:
    """For each polygon (RA/Dec vertices), how many of ``others`` (sphgeom regions) overlap it:
    pairs are pre-selected by bounding circles with numpy, then tested exactly with sphgeom."""
    from .sky.regions import to_sphgeom_polygon

    if not polygons or not others:
        return [0] * len(polygons)
    regions = [to_sphgeom_polygon(v) for v in polygons]
    circles = [r.getBoundingCircle() for r in regions]
    pc = np.array([[c.getCenter().x(), c.getCenter().y(), c.getCenter().z()] for c in circles])
    pr = np.array([c.getOpeningAngle().asRadians() for c in circles])
    ocircles = [o.getBoundingCircle() for o in others]
    oc = np.array([[c.getCenter().x(), c.getCenter().y(), c.getCenter().z()] for c in ocircles])
    orad = np.array([c.getOpeningAngle().asRadians() for c in ocircles])
    counts = []
    for i, region in enumerate(regions):
        near = np.nonzero(np.arccos(np.clip(oc @ pc[i], -1, 1)) <= pr[i] + orad)[0]
        counts.append(sum(1 for j in near if region.overlaps(others[j])))
    return counts


def _patch_sort_key(name: str) -> tuple[int, int, str]:
    try:
        x, y = (int(v) for v in name.split(","))
        return (y, x, name)
    except ValueError:
        return (1 << 30, 0, name)
