"""What a repository offers to choose from: the index behind the explorer's selectors.

A :class:`RepoIndex` answers, from registry queries only (plus exposure headers for footprints),
the questions the selectors ask: which bands have data, which tracts have coadds, which patches
of a tract have data, which visits overlap a patch, which detectors a visit has, and the data ID
of the exposure or catalog a selection names. It is built once per (repository, collection) and
shared by every session (it holds no UI state), so it is thread-safe and memoises what it
computes.

Patches are always named "x,y" here, whatever the backend uses (Gen3: a sequential integer).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..repo.base import CALEXP_TYPES, COADD_CATALOG_TYPES, COADD_TYPES, SOURCE_TYPES, Repository
from ..errors import ExplorerError

BAND_ORDER = "ugrizy"
PER_DETECTOR_SOURCES = ("src", "source", "single_visit_star")
FOOTPRINT_LIMIT = 5000  # beyond this many calexps, reading every header is no quick look


def band_key(band: str) -> tuple[int, str]:
    return (BAND_ORDER.index(band) if band in BAND_ORDER else len(BAND_ORDER), band)


def patch_label(repo: Repository, tract: Any, patch: Any) -> str:
    """A patch as "x,y" whatever the backend calls it."""
    if isinstance(patch, str) and "," in patch:
        return patch.replace(" ", "")
    name = getattr(repo, "patch_name", None)
    if name is not None and tract is not None:
        return str(name(int(tract), int(patch)))
    return str(patch)


@dataclass(frozen=True)
class VisitChoice:
    """The visits a selection offers, and how they were chosen (shown to the user)."""

    visits: list[int]
    note: str


class RepoIndex:
    """Selectable values of one repository and collection (see module docstring)."""

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

    def tract_regions(self) -> dict[int, np.ndarray]:
        def compute():
            regions = self.repo.tract_regions()
            return {int(t): np.asarray(v, float) for t, v in regions.items() if int(t) in set(self.tracts)}

        return self._memoised("tract_regions", compute)

    def patch_regions(self, tract: Optional[int]) -> dict[str, np.ndarray]:
        if tract is None:
            return {}

        def compute():
            try:
                regions = self.repo.patch_regions(int(tract))
            except ExplorerError:
                return {}
            return {patch_label(self.repo, tract, k): np.asarray(v, float) for k, v in regions.items()}

        return self._memoised(("patch_regions", int(tract)), compute)

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
        from .sky import overlaps

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

    def catalog_types_for(self, image_type: Optional[str]) -> list[str]:
        """Catalogs that go with an image dataset type: single-visit sources for a calexp,
        coadd measurements and object tables for a coadd."""
        if image_type is None:
            return []
        if image_type == self.calexp_type:
            return list(self.source_types)
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
        ids = self._ids(catalog_type, where=where)
        return ids[0] if ids else None


def _patch_sort_key(name: str) -> tuple[int, int, str]:
    try:
        x, y = (int(v) for v in name.split(","))
        return (y, x, name)
    except ValueError:
        return (1 << 30, 0, name)
