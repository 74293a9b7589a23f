"""Regions and footprints on the sky, the part of :class:`explorer.index.RepoIndex` that draws the sky map.

Tract and patch regions come from the registry (dimension records); a calexp's footprint is its
registry region, or, for a visit of at most :data:`HEADER_FOOTPRINTS_PER_VISIT` calexps, the
corners its own WCS gives (cut-out calexps cover less than their detector). Which visits overlap a
patch is the registry's spatial join (``overlapping_detectors``), refined by those headers when
there are few candidates. What a view can draw is bounded: footprints of a patch or tract
(:meth:`FootprintQueries.footprints_in`), or counts per patch beyond
(:meth:`FootprintQueries.patch_coverage`), never every calexp of a survey.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import numpy as np

from ..errors import ExplorerError
from ..sky.predicates import overlap_counts, overlaps
from .mappings import FootprintMap
from .patches import patch_label

FOOTPRINT_LIMIT = 5000  # ScanIndex: beyond this many calexps, reading every header is no quick look
HEADER_FOOTPRINTS_PER_VISIT = 16  # a visit with at most this many calexps: footprints from their headers
HEADER_REFINE_LIMIT = 64  # overlap candidates up to which cut-out calexps are checked by their headers
FEW_VISITS = 8  # footprints of at most this many visits are asked visit by visit, else per tract


class FootprintQueries:
    """Regions, footprints and overlaps: mixed into :class:`explorer.index.RepoIndex`.

    Uses the index's ``repo``, ``collection``, ``calexp_type``, ``_memo``, ``_memoised``,
    ``tracts``, ``patches``, ``detectors``, ``calexp_id`` and ``count_kind``.
    """

    def _calexp_regions(self, visit: int) -> dict[int, np.ndarray]:
        def compute():
            try:
                return {int(d): np.asarray(v, float) for d, v in self.repo.visit_regions(
                    visit, self.calexp_type, self.collection).items()}
            except ExplorerError:
                return {}

        return self._memoised(("calexp_regions", visit), compute)

    def tract_regions(self) -> dict[int, np.ndarray]:
        """Tract -> inner-region vertices (RA/Dec), for the tracts that hold data."""
        def compute():
            wanted = set(self.tracts)
            regions = self.repo.tract_regions()
            return {int(t): np.asarray(v, float) for t, v in regions.items() if int(t) in wanted}

        return self._memoised("tract_regions", compute)

    def patch_regions(self, tract: Optional[int]) -> dict[str, np.ndarray]:
        """Patch "x,y" -> region vertices (RA/Dec) of every patch of a tract (from the registry)."""
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
        return FootprintMap(self)

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
            return {p: n for p, n in zip(patches, overlap_counts(list(patches.values()), list(regions.values())))}

        return self._memoised(("coverage", int(tract)), compute)
