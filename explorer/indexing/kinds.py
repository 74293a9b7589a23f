"""Image kinds: the coadd, the calexp, and the kinds beyond (difference images, templates).

Releases name them differently (``deep_coadd``/``visit_image`` in DP1/DP2,
``deepCoadd_calexp``/``calexp`` in DC2, ``goodSeeingDiff_differenceExp``...): the index finds the
dataset type of each kind present in the collection, and the page speaks of kinds. Visit-like
kinds (:data:`VISIT_KINDS`) are chosen by visit and detector, coadd-like ones (:data:`COADD_KINDS`)
by tract, patch and band.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from ..bands import band_key
from .patches import patch_label

# image kinds beyond the coadd and the calexp (their dataset types, first present wins): visit-like
# kinds are chosen by visit and detector, coadd-like ones by tract, patch and band
DIFFERENCE_TYPES = ("difference_image", "goodSeeingDiff_differenceExp", "deepDiff_differenceExp")
TEMPLATE_TYPES = ("template_coadd", "goodSeeingCoadd")
VISIT_KINDS = ("calexp", "difference")
COADD_KINDS = ("coadd", "template")
KIND_ORDER = ("coadd", "calexp", "difference", "template")  # the order the kind buttons show


def _coadd_order(key: tuple) -> tuple:
    """Sort key of a (tract, patch "x,y", band): tract, then the patch by (y, x), then the band
    in wavelength order."""
    tract, patch, band = key
    return (tract, patch.split(",")[::-1] if isinstance(patch, str) else patch, band_key(band))


def nearest_coadd_key(coadds: Iterable[tuple], tract: Any, patch: Any, band: Any) -> Optional[tuple]:
    """A (tract, patch, band) with a coadd, as close to the given one as the repository allows:
    it when it has one, else the same tract and patch in another band, else the same band and
    tract, else the same band, else the first coadd; None when there is no coadd at all.
    ``coadds``: the (tract, patch, band) keys that have one (every one of them: a small
    repository's; :meth:`KindQueries.nearest_coadd` asks the registry the same questions scoped)."""
    keys = list(coadds)
    if not keys or (tract, patch, band) in set(keys):
        return (tract, patch, band) if keys else None
    for same in (lambda k: k[:2] == (tract, patch), lambda k: k[0] == tract and k[2] == band,
                 lambda k: k[2] == band, lambda k: True):
        hits = [k for k in keys if same(k)]
        if hits:
            return min(hits, key=_coadd_order)
    return None


class KindQueries:
    """Image kinds and their data IDs: mixed into :class:`explorer.index.RepoIndex`.

    Uses the index's ``coadd_type``, ``calexp_type``, ``_first_with_data``, ``has_kind``,
    ``coadd_id``, ``calexp_id``, ``visits``, ``detectors``, ``coadds``, ``_patch_where``, ``_ids``,
    ``_distinct``, ``_memoised`` and ``repo``.
    """

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

    def nearest_coadd(self, kind: str, tract: Any, patch: Any, band: Any) -> Optional[tuple]:
        """:func:`nearest_coadd_key` over every image of a coadd-like kind, without listing them:
        each step is one scoped registry question (the coadd's data ID; the bands of the patch;
        the patches of the tract in the band; the tracts in the band, or with any coadd), so the
        first page costs what it shows, not the number of coadds the registry holds."""
        dataset_type = self.kind_type(kind)
        if not dataset_type or not self.has_kind(kind):
            return None

        def patches(where: dict[str, Any], t: int) -> list[str]:
            return [patch_label(self.repo, t, p) for (p,) in self._distinct(dataset_type, ["patch"], where)]

        def first(keys: list[tuple]) -> Optional[tuple]:
            return min(keys, key=_coadd_order) if keys else None

        try:  # (a patch that is no "x,y" name has no coadd)
            where_patch = self._patch_where(tract, str(patch)) if tract is not None and patch is not None else None
        except (ValueError, TypeError):
            where_patch = None
        if where_patch is not None:
            if band is not None and self.kind_id(kind, tract, patch, band) is not None:
                return (tract, patch, band)
            bands = [str(b) for (b,) in self._distinct(dataset_type, ["band"], where_patch)]
            if bands:
                return first([(tract, patch, b) for b in bands])
        if band is not None:
            if tract is not None:
                found = first([(tract, p, band) for p in patches({"tract": int(tract), "band": str(band)}, tract)])
                if found:
                    return found
            tracts = sorted(int(t) for (t,) in self._distinct(dataset_type, ["tract"], {"band": str(band)}))
            if tracts:
                t = tracts[0]
                return first([(t, p, band) for p in patches({"tract": t, "band": str(band)}, t)])
        tracts = sorted(int(t) for (t,) in self._distinct(dataset_type, ["tract"]))
        if not tracts:
            return None
        t = tracts[0]
        p = first([(t, p, "") for p in patches({"tract": t}, t)])
        if p is None:
            return None
        bands = [str(b) for (b,) in self._distinct(dataset_type, ["band"], self._patch_where(t, p[1]))]
        return first([(t, p[1], b) for b in bands])

    def kind_keys(self, kind: str) -> list[tuple]:
        """(tract, patch "x,y", band) of every image of a coadd-like kind (a distinct query)."""
        if kind == "coadd":
            return list(self.coadds)
        rows = self._distinct(self.kind_type(kind), ["tract", "patch", "band"])
        return [(int(t), patch_label(self.repo, t, p), str(b)) for t, p, b in rows]
