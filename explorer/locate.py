"""Where "Go to" goes: the coadd (tract, patch) or calexp (visit, detector) of a repository that
covers a sky position, and the sky position of a source/object id.

Bounded like every query of the explorer: a position is placed with the index's tract and patch
regions and the registry's spatial join of the patch with calexp regions (refined by the calexps'
own WCS where the index does so); an id is looked for in the catalogs of the current tract and
visit only (at most :data:`ID_SEARCH_FILES` files, reading the id and position columns), never in
every catalog of the repository. Errors are :class:`~explorer.goto.GotoError` with one line saying
what was not found and where the explorer looked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from .compute.catalog import sky_columns, to_degrees
from .errors import ExplorerError
from .goto import GotoError
from .sky.predicates import contains, find_containing

__all__ = ["ID_SEARCH_FILES", "Destination", "find_id", "locate_sky"]

ID_SEARCH_FILES = 48
ID_COLUMNS = ("objectId", "sourceId", "id")
OBJECT_TYPES = ("objectTable", "objectTable_tract", "object")


@dataclass
class Destination:
    """What to select and where to centre: ``kind`` "coadd" (``tract``, ``patch``) or "calexp"
    (``visit``, ``detector``); ``ra``, ``dec`` in degrees; ``note`` says how it was found."""

    kind: str
    ra: float
    dec: float
    tract: Optional[int] = None
    patch: Optional[str] = None
    visit: Optional[int] = None
    detector: Optional[int] = None
    note: str = ""
    hints: dict[str, Any] = field(default_factory=dict)


def _where(ra: float, dec: float) -> str:
    return f"RA {ra:.5f} Dec {dec:.5f}"


def locate_sky(index, ra: float, dec: float, kind: str, tract: Optional[int] = None,
               visit: Optional[int] = None, band: Optional[str] = None,
               prefer: Optional[dict[str, Any]] = None) -> Destination:
    """The coadd patch (``kind`` "coadd") or calexp ("calexp") covering (ra, dec).

    The current ``tract`` and ``visit`` win when they cover the point (so going to a position on
    the image shown keeps it); among calexps, those of ``band`` come first. ``prefer`` may name a
    ``visit`` and ``detector`` known to hold the point (a source's own calexp).
    """
    prefer = prefer or {}
    where = _where(ra, dec)
    regions = index.tract_regions()
    candidates = [tract] if tract in regions and contains(regions[tract], ra, dec) else []
    candidates += [t for t, verts in regions.items() if t not in candidates and contains(verts, ra, dec)]
    if kind == "coadd":
        for t in candidates:
            patches = {p: index.patch_regions(t).get(p) for p in index.patches(t)}
            hit = find_containing({p: v for p, v in patches.items() if v is not None}, ra, dec)
            if hit is not None:
                return Destination("coadd", ra, dec, tract=int(t), patch=hit, note=f"tract {t} patch {hit}")
        if candidates:
            raise GotoError(f"no coadd patch of tract {candidates[0]} in this repository covers {where}")
        raise GotoError(f"no tract of this repository covers {where}")
    # calexps: the preferred one, else those overlapping the point's patch (the registry's spatial join)
    pv, pd = prefer.get("visit"), prefer.get("detector")
    if pv is not None and pd is not None and _calexp_covers(index, int(pv), int(pd), ra, dec):
        return Destination("calexp", ra, dec, visit=int(pv), detector=int(pd), note=f"visit {pv} detector {pd}")
    found: list[tuple[int, int]] = []
    for t in candidates:
        patches = {p: index.patch_regions(t).get(p) for p in index.patches(t)}
        patch = find_containing({p: v for p, v in patches.items() if v is not None}, ra, dec)
        for v, dets in index.overlapping(t, patch).items():
            fps = index.visit_footprints(v)
            found += [(int(v), int(d)) for d in dets if d in fps and contains(fps[d], ra, dec)]
        if found:
            break
    if not found and visit is not None:  # no tract in the registry: the current visit's own footprints
        fps = index.visit_footprints(visit)
        found = [(int(visit), int(d)) for d, verts in fps.items() if contains(verts, ra, dec)]
    if not found:
        raise GotoError(f"no calexp of this repository covers {where}")
    band_of = index.band_of_visit

    def rank(vd):
        return (vd[0] != visit, band is not None and band_of(vd[0]) != band, vd)

    v, d = min(found, key=rank)
    return Destination("calexp", ra, dec, visit=v, detector=d, note=f"visit {v} detector {d}")


def _calexp_covers(index, visit: int, detector: int, ra: float, dec: float) -> bool:
    fps = index.visit_footprints(visit)
    return detector in fps and contains(fps[detector], ra, dec)


def _id_column(names: list[str]) -> Optional[str]:
    return next((c for c in ID_COLUMNS if c in names), None)


def find_id(repo, index, ident: int, tract: Optional[int] = None, visit: Optional[int] = None,
            collections: Optional[str] = None, first: Optional[tuple[str, dict[str, Any]]] = None) -> Destination:
    """The sky position of a source or object id, looked for in ``first`` (a catalog already
    shown: dataset type and data ID), then the object tables of ``tract`` and the source tables
    of ``visit``. The result's ``kind`` is "coadd" for an object and "calexp" for a source (with
    its ``visit``/``detector`` in ``hints`` when the table has them); its tract/patch or
    visit/detector are still to be placed with :func:`locate_sky`."""
    plan: list[tuple[str, dict[str, Any]]] = [first] if first else []
    object_types = [t for t in OBJECT_TYPES if t in index.coadd_catalog_types] or list(index.coadd_catalog_types)
    if tract is not None:
        for t in object_types:
            plan += [(t, d) for d in _ids(repo, t, {"tract": int(tract)}, collections)]
    if visit is not None:
        for t in index.source_types:
            plan += [(t, d) for d in _ids(repo, t, {"visit": int(visit)}, collections)]
    seen, searched = set(), 0
    for dataset_type, data_id in plan:
        key = (dataset_type, tuple(sorted(data_id.items())))
        if key in seen:
            continue
        seen.add(key)
        if searched >= ID_SEARCH_FILES:
            break
        searched += 1
        hit = _find_in(repo, dataset_type, data_id, ident, collections)
        if hit is not None:
            return hit
    where = " and ".join(w for w in (f"the objects of tract {tract}" if tract is not None else "",
                                     f"the sources of visit {visit}" if visit is not None else "") if w)
    raise GotoError(f"id {ident} not found in {where or 'the catalog shown'} ({searched} catalogs searched); "
                    "select the tract or visit that holds it, or go to its RA/Dec")


def _ids(repo, dataset_type: str, where: dict[str, Any], collections: Optional[str]) -> list[dict[str, Any]]:
    try:
        if not all(k in repo.dimensions_of(dataset_type) for k in where):
            return []
        return repo.query_data_ids(dataset_type, where, collections)[:ID_SEARCH_FILES]
    except ExplorerError:
        return []


def _find_in(repo, dataset_type: str, data_id: dict[str, Any], ident: int,
             collections: Optional[str]) -> Optional[Destination]:
    try:
        schema = repo.catalog_schema(dataset_type, data_id, collections=collections)
    except ExplorerError:
        return None
    names = [c.name for c in schema]
    units = {c.name: c.unit for c in schema}
    id_col, sky = _id_column(names), sky_columns(names)
    if id_col is None or sky is None:
        return None
    extra = [c for c in ("visit", "detector", "tract", "patch") if c in names]
    try:
        df = repo.get_catalog(dataset_type, data_id, columns=[id_col, *sky, *extra], collections=collections)
    except ExplorerError:
        return None
    rows = np.flatnonzero(df[id_col].to_numpy() == ident)
    if not rows.size:
        return None
    row = df.iloc[int(rows[0])]
    ra = float(to_degrees(np.array([row[sky[0]]], float), units.get(sky[0]))[0]) % 360.0
    dec = float(to_degrees(np.array([row[sky[1]]], float), units.get(sky[1]))[0])
    hints = {k: int(row[k]) for k in ("visit", "detector") if k in extra}
    hints.update({k: v for k, v in data_id.items() if k in ("visit", "detector") and k not in hints})
    is_source = dataset_type not in OBJECT_TYPES and "visit" in data_id
    what = "source" if is_source else "object"
    return Destination("calexp" if is_source else "coadd", ra, dec,
                       note=f"{what} {ident} in {dataset_type} at {_where(ra, dec)}", hints=hints)
