"""The index's legacy mapping attributes, answered key by key from scoped queries.

Older code reads ``index.coadds[(tract, patch, band)]``, ``index.calexps[(visit, detector)]``,
``index.visit_band[visit]`` and ``index.footprints()[(visit, detector)]`` as if they were dicts
of everything. These mappings keep that working at survey scale: a look-up, ``get`` or truth test
costs one query (remembered); only iterating enumerates the registry, which code on a hot path
must not do.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from ..index import RepoIndex


class LazyIds(Mapping):
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


class VisitBands(Mapping):
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


class FootprintMap(Mapping):
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
        """Every (visit, detector) and its corners: enumerates every calexp (bounded by FOOTPRINT_LIMIT)."""
        return self._index._all_footprints().items()
