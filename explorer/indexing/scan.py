"""The index of a repository without a registry to ask scoped questions (Gen2 directories).

A Gen2 repository has a sqlite registry of raw exposures and directory templates, not the
spatial and distinct-value queries :class:`explorer.index.RepoIndex` relies on: every data ID is
scanned once, up front, and the answers come from those tables (fine at the sizes Gen2
repositories have); footprints come from the exposure headers. ``RepoIndex(repo)`` returns a
:class:`ScanIndex` by itself for a backend whose ``scoped_queries`` is false.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

import numpy as np

from ..bands import band_key
from ..errors import ExplorerError
from ..index import RepoIndex
from ..repo.base import Repository
from ..sky.predicates import overlaps
from .footprints import FOOTPRINT_LIMIT
from .kinds import nearest_coadd_key
from .options import VisitChoice
from .patches import patch_label, patch_sort_key


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
        names = self._choose_types()

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
        """Every visit with a calexp (from the scan)."""
        return sorted(self.visit_band)

    def patches(self, tract: Optional[int]) -> list[str]:
        """Patches of a tract that hold data, in (y, x) order as the skymap numbers them."""
        if tract is None:
            return []
        names = self.patches_with_data.get(int(tract), set())
        return sorted(names, key=patch_sort_key)

    def bands_of_patch(self, tract: Optional[int], patch: Optional[str]) -> list[str]:
        """Bands with a coadd of the patch (from the scan)."""
        return sorted({b for (t, p, b) in self.coadds if t == tract and p == patch}, key=band_key)

    def detectors(self, visit: Optional[int]) -> list[int]:
        """The detectors of a visit with a calexp (from the scan)."""
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
        """The data ID of the coadd of (tract, patch "x,y", band), or None (from the scan)."""
        if tract is None or patch is None or band is None:
            return None
        return self.coadds.get((int(tract), str(patch), str(band)))

    def nearest_coadd(self, kind: str, tract: Any, patch: Any, band: Any) -> Optional[tuple]:
        """:func:`~explorer.indexing.kinds.nearest_coadd_key` over the scanned coadds."""
        return nearest_coadd_key(self.coadds if kind == "coadd" else self.kind_keys(kind), tract, patch, band)

    def calexp_id(self, visit: Optional[int], detector: Optional[int]) -> Optional[dict[str, Any]]:
        """The data ID of the calexp of (visit, detector), or None (from the scan)."""
        if visit is None or detector is None:
            return None
        return self.calexps.get((int(visit), int(detector)))


    # ----- the scoped methods, answered from the scan ---------------------------------------
    def has_kind(self, kind: str) -> bool:
        """Whether the collection holds any image of a kind (coadds and calexps: from the scan)."""
        if kind not in ("coadd", "calexp"):
            return super().has_kind(kind)
        return bool(self.coadds if kind == "coadd" else self.calexps)

    def count_kind(self, kind: str) -> int:
        """How many coadds or calexps the scan found."""
        return len(self.coadds if kind == "coadd" else self.calexps)

    def band_of_visit(self, visit: Any) -> Optional[str]:
        """The band of one visit (from the scan), or None."""
        try:
            return self.visit_band.get(int(visit))
        except (TypeError, ValueError):
            return None

    def _bands_of(self, visits: list[int]) -> dict[int, Optional[str]]:
        return {int(v): self.visit_band.get(int(v)) for v in visits}

    def visit_footprints(self, visit: Optional[int]) -> dict[int, np.ndarray]:
        """Detector -> corners on the sky of one visit's calexps (from :meth:`footprints`)."""
        if visit is None:
            return {}
        return {d: fp for (v, d), fp in self.footprints().items() if v == int(visit)}

    def overlapping(self, tract: Optional[int], patch: Optional[str]) -> dict[int, list[int]]:
        """Visit -> its calexp detectors whose footprint overlaps the patch (or the tract)."""
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
