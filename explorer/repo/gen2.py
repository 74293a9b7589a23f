"""Gen2 backend: a ``lsst.daf.persistence`` repository read straight from its directory layout.

The Gen2 software cannot be installed, so nothing here imports it. What the Gen2 butler did is
redone from files:

* **The repository** (:mod:`.gen2_config`): ``_mapper`` or ``repositoryCfg.yaml`` (read with the
  tag-tolerant safe YAML loader), and the ``_parents`` chain a rerun reads through. A parent that
  is not on this machine (real configurations name absolute paths on the machine that wrote them)
  is listed in :attr:`Gen2Repository.unreachable_parents` and in the inventory notes; the
  repository itself still opens.
* **The registry** (:mod:`.gen2_registry`): ``registry.sqlite3`` (``raw``, ``raw_visit``) gives
  visits, detectors, filters and exposure times, as ``butler.queryMetadata`` did;
  ``calibRegistry.sqlite3`` (in the repository, its ``CALIB`` folder, or a parent's) the calibrations.
* **The files** (:mod:`.gen2_templates`, :mod:`.gen2_paths`): each dataset type's filename
  template, per mapper. Per-detector types (raw, calexp, src, ...) are found by filling the template
  from the registry's rows; coadd products, whose keys no registry holds, by a walk guided by the
  template (``deepCoadd-results/<filter>/<tract>/<patch>/``), never a blind walk of the tree.
* **The sky map**: a pickled ``deepCoadd_skyMap`` cannot be read without the LSST stack (and
  unpickling runs code), so the skymap is identified from ``config/makeSkyMap.py`` where a
  repository has one (read as text), and is otherwise the DC2 RingsSkyMap; a note says which.

Semantics of the inventory for Gen2 (see shared/DESIGN.md):

* ``collections`` are the repository root, its reachable parents, and the calibration root, as
  absolute paths in search order; ``--collections GLOB`` selects among them.
* ``count`` is the number of files found by the templates. A dataset is *known* (listed by
  :meth:`query_data_ids`, reported ``missing`` when absent) when the registry registers it (raw,
  calibrations), or when it is a registry row of a per-detector type some of whose files exist, or
  a coadd data ID whose sibling product in the same directory exists.
* ``bands`` are the registry's filters (Gen2 filter names, e.g. ``i_sim_1.4`` or ``HSC-I``);
  data IDs carry the generic ``band`` too, derived from the filter.
* Data IDs use Gen2 keys (``visit``, ``filter``, ``raftName``, ``detectorName``, ``detector``,
  ``ccd``, ``tract``, ``patch`` as "x,y"); :meth:`locate` also accepts the generic ``band``,
  ``physical_filter``, ``detector`` (for ``ccd``), and an integer (Gen3 sequential) patch.

Why this module is over 400 lines: it is one object, :class:`Gen2Repository`, the complete
backend interface for a Gen2 directory (collections, data IDs and files, registry summaries, the
sky map, the inventory) answered from one scan of the files the templates find; every part that
stands alone already lives in its own module (:mod:`.gen2_config`, :mod:`.gen2_registry`,
:mod:`.gen2_templates`, :mod:`.gen2_paths`).
"""
from __future__ import annotations

import fnmatch
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from ..bands import BAND_ORDER, band_key
from .base import SOURCE_TYPES, Progress, Repository, count_source_rows, format_data_id
from .confine import check_file
from .errors import (BadDataIdError, DatasetNotFoundError, ExplorerError, UnknownDatasetTypeError,
                     UnreachableParentError)
from .gen2_config import SKYMAP_CONFIG_FILES, parse_skymap_config, resolve_chain
from .gen2_paths import DirLister, PathTemplate, find_file, walk_template
from .gen2_registry import DETECTOR_COLUMNS, PLACEHOLDER_FILTERS, RawRegistry, SqliteRegistry
from .gen2_templates import PATH_COMMA_KEYS, DatasetTemplate, family_for_mapper, templates_for
from .model import DatasetLocation, DatasetTypeSummary, Inventory

# Generic (Gen3-style) data ID keys accepted by locate/query, and what they mean here.
_GENERIC_FILTER_KEYS = ("band", "physical_filter")
_IGNORED_KEYS = ("instrument", "skymap")
# Registry columns added to a data ID (when not template keys) so that, e.g., an imsim raw (whose
# template uses expId) still carries its visit and filter.
_EXTRA_ID_COLUMNS = ("visit", "filter", "detector", "ccd", "raftName", "detectorName", "raft", "sensor")


def band_of(filter_name: Any) -> Optional[str]:
    """The band of a Gen2 filter name: ``i_sim_1.4`` -> i, ``HSC-I2`` -> i, ``NB0921`` -> N921, ``r`` -> r."""
    if filter_name is None:
        return None
    f = str(filter_name).strip()
    if not f or f in PLACEHOLDER_FILTERS:
        return None
    if len(f) == 1:
        return f.lower() if f.lower() in BAND_ORDER else f
    m = re.fullmatch(r"HSC-([GRIZY])\d?", f, re.I)
    if m:
        return m.group(1).lower()
    m = re.fullmatch(r"NB0?(\d{3,4})", f, re.I)
    if m:
        return f"N{m.group(1)}"
    m = re.match(r"^([ugrizy])(?:[_~\-. ]|$)", f)
    if m:
        return m.group(1)
    return f


def band_sort_key(name: str) -> tuple[int, str]:
    """A Gen2 filter name sorts by its band (:func:`explorer.bands.band_key`), then by the name."""
    return band_key(band_of(name) or name)[0], str(name)


@dataclass
class _TypeScan:
    """What one pass found for one dataset type."""

    name: str
    keys: list[str]
    storage_class: str
    source: str  # "registry", "calib registry", "walk", "file"
    registered: bool  # the registry itself lists these datasets (raw, calibrations)
    found: dict[tuple, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # key -> (path, data ID)
    expected: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # key -> data ID

    @property
    def present(self) -> bool:
        return bool(self.found) or (self.registered and bool(self.expected))

    def missing_keys(self) -> list[tuple]:
        return [k for k in self.expected if k not in self.found]

    def known(self) -> dict[tuple, dict[str, Any]]:
        out = {k: v[1] for k, v in self.found.items()}
        for k in self.missing_keys():
            out[k] = self.expected[k]
        return out


class Gen2Repository(Repository):
    """A Gen2 repository (``_mapper`` / ``repositoryCfg.yaml``), opened read-only."""

    kind = "gen2"

    def __init__(self, root: str):
        super().__init__(root)
        self.chain = resolve_chain(self.root)
        self.mapper: Optional[str] = self.chain.mapper
        self.family = family_for_mapper(self.mapper)
        self._comma_keys = PATH_COMMA_KEYS.get(self.family, frozenset())
        self.templates: dict[str, DatasetTemplate] = templates_for(self.family, self.chain.policy_overrides)
        self._paths = {n: PathTemplate(t.template, self._comma_keys) for n, t in self.templates.items()}
        reg_root = self.chain.first_with("registry.sqlite3")
        self.registry_root = reg_root
        self.registry_path = os.path.join(reg_root, "registry.sqlite3") if reg_root else None
        self.registry = RawRegistry(SqliteRegistry(self.registry_path)) if self.registry_path else None
        self.calib_root = self._find_calib_root()
        calib_db = os.path.join(self.calib_root, "calibRegistry.sqlite3") if self.calib_root else None
        self.calib_registry = SqliteRegistry(calib_db) if calib_db and os.path.isfile(calib_db) else None
        self._lock = threading.RLock()
        self._scans: dict[Optional[str], dict[str, _TypeScan]] = {}
        self._skymap_cache: Optional[tuple[Any, str, list[str]]] = None

    # ----- the repository chain ----------------------------------------------------------------
    @property
    def unreachable_parents(self) -> list[str]:
        """Parents named by the configuration that do not exist on this machine."""
        return list(self.chain.unreachable)

    def require_parents(self) -> None:
        """Raise UnreachableParentError if any parent repository is unreachable."""
        if self.chain.unreachable:
            raise UnreachableParentError(
                f"{self.root}: parent repository {self.chain.unreachable[0]} is not reachable on this machine")

    def _find_calib_root(self) -> Optional[str]:
        arg = self.chain.mapper_args.get("calibRoot")
        if isinstance(arg, str) and arg.strip():
            path = arg if os.path.isabs(arg) else os.path.join(self.root, arg)
            if os.path.isdir(path):
                return os.path.normpath(path)
        for root in self.chain.roots:
            if os.path.isfile(os.path.join(root, "calibRegistry.sqlite3")):
                return root
            if os.path.isfile(os.path.join(root, "CALIB", "calibRegistry.sqlite3")):
                return os.path.join(root, "CALIB")
        for root in self.chain.roots:
            if os.path.isdir(os.path.join(root, "CALIB")):
                return os.path.join(root, "CALIB")
        return None

    def _all_collections(self) -> list[str]:
        out = list(self.chain.roots)
        if self.calib_root and self.calib_root not in out:
            out.append(self.calib_root)
        return out

    def collections(self, pattern: Optional[str] = None) -> list[str]:
        """The repository root, its reachable parents (search order) and the calib root, as paths."""
        every = self._all_collections()
        if not pattern:
            return every
        return [c for c in every
                if fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(os.path.basename(c), pattern)]

    def _selected(self, collections: Optional[str]) -> list[str]:
        chosen = self.collections(collections)
        if collections and not chosen:
            raise ExplorerError(f"no collection matches {collections!r} in {self.root} "
                                f"(Gen2 collections are the repository and its parents: "
                                f"{', '.join(self._all_collections())})")
        return chosen

    # ----- dataset types -------------------------------------------------------------------------
    def template_for(self, dataset_type: str) -> PathTemplate:
        """The filename template of a dataset type; UnknownDatasetTypeError if the mapper has none."""
        tmpl = self._paths.get(dataset_type)
        if tmpl is None:
            raise UnknownDatasetTypeError(
                f"unknown dataset type {dataset_type!r} for the Gen2 mapper {self.mapper or '(none)'} "
                f"(templates known: {', '.join(sorted(self._paths))})")
        return tmpl

    def dataset_type_names(self) -> list[str]:
        """Dataset types with at least one known dataset (file found, or registered) in the repository."""
        return sorted(n for n, s in self._scan(None).items() if s.present)

    def dimensions_of(self, dataset_type: str) -> list[str]:
        """The Gen2 data ID keys of a dataset type: its template's keys."""
        return list(self.template_for(dataset_type).keys)

    # ----- scanning: which files the templates find ----------------------------------------------
    def refresh(self) -> None:
        """Forget what earlier scans found (files may have been added or removed)."""
        with self._lock:
            self._scans.clear()

    def _scan(self, collections: Optional[str], progress: Progress = None) -> dict[str, _TypeScan]:
        with self._lock:
            if collections not in self._scans:
                self._scans[collections] = self._scan_all(collections, progress)
            return self._scans[collections]

    def _search_roots(self, tmpl: DatasetTemplate, selected: list[str]) -> list[str]:
        if tmpl.calibration and self.calib_root:
            return [self.calib_root] if self.calib_root in selected else []
        return [r for r in self.chain.roots if r in selected]

    def _registry_source(self, keys: list[str]) -> Optional[str]:
        """The registry table whose columns hold all ``keys`` (``raw`` first), or None."""
        if self.registry is None or not keys:
            return None
        db = self.registry.db
        for table in ("raw", "raw_visit"):
            cols = set(db.columns(table))
            if cols and set(keys) <= cols:
                return table
        return None

    def _scan_all(self, collections: Optional[str], progress: Progress) -> dict[str, _TypeScan]:
        say = progress or (lambda _msg: None)
        selected = self._selected(collections)
        lister = DirLister()
        scans: dict[str, _TypeScan] = {}
        names = sorted(self.templates)
        for i, name in enumerate(names, 1):
            tmpl, path = self.templates[name], self._paths[name]
            roots = self._search_roots(tmpl, selected)
            say(f"[{i}/{len(names)}] looking for {name} files")
            scans[name] = self._scan_type(tmpl, path, roots, lister)
        self._fill_sibling_expectations(scans)
        return scans

    def _scan_type(self, tmpl: DatasetTemplate, path: PathTemplate, roots: list[str],
                   lister: DirLister) -> _TypeScan:
        keys = path.keys
        if not roots:
            return _TypeScan(tmpl.name, keys, tmpl.storage_class, "none", registered=False)
        calib_table = None
        if tmpl.calibration and self.calib_registry is not None and self.calib_registry.has_table(tmpl.name):
            calib_table = tmpl.name
        table = None if tmpl.calibration else self._registry_source(keys)
        if not keys:
            scan = _TypeScan(tmpl.name, keys, tmpl.storage_class, "file",
                             registered=bool(calib_table and self.calib_registry.count(calib_table)))
            if scan.registered:
                scan.expected[()] = {}
            for root in roots:
                found = lister.find_file(root, path.path)
                if found:
                    scan.found[()] = (found, {})
                    break
            return scan
        if calib_table and set(keys) <= set(self.calib_registry.columns(calib_table)):
            rows = self.calib_registry.distinct(calib_table, keys)
            extras = []
            scan = _TypeScan(tmpl.name, keys, tmpl.storage_class, "calib registry", registered=True)
        elif table is not None:
            # The registry registers the raws of its own repository (when that one is searched).
            registered = tmpl.name == "raw" and self.registry_root in roots
            scan = _TypeScan(tmpl.name, keys, tmpl.storage_class, "registry", registered=registered)
            # Skip at once a type whose fixed leading directory (calexp/, src/, ...) exists nowhere.
            prefix = _literal_prefix(path)
            if not scan.registered and prefix and not any(lister.dir_exists(r, prefix) for r in roots):
                return scan
            extras = [c for c in _EXTRA_ID_COLUMNS if c not in keys and c in self.registry.db.columns(table)]
            rows = self.registry.db.distinct(table, keys + extras)
        else:
            scan = _TypeScan(tmpl.name, keys, tmpl.storage_class, "walk", registered=False)
            for root in roots:
                for fpath, data_id in walk_template(root, path, lister):
                    scan.found.setdefault(_key(keys, data_id), (fpath, data_id))
            return scan
        columns = keys + extras
        for row in rows:
            data_id = dict(zip(columns, row))
            if any(data_id[k] is None for k in keys):
                continue
            k = _key(keys, data_id)
            if k in scan.expected:
                continue  # the same file for several rows (snaps, amplifiers): counted once
            try:
                rel = path.expand(data_id)
            except (KeyError, ValueError, TypeError):
                continue
            scan.expected[k] = data_id
            for root in roots:
                found = lister.find_file(root, rel)
                if found:
                    scan.found[k] = (found, data_id)
                    break
        if not scan.registered:
            # A registry row says a raw was taken, not that a calexp was made: only files found
            # (here) and sibling products (see _fill_sibling_expectations) make one known.
            scan.expected.clear()
        return scan

    def _fill_sibling_expectations(self, scans: dict[str, _TypeScan]) -> None:
        """Expected data IDs of unregistered types: a data ID found for any type with the same keys.

        So a calexp whose src exists (same visit and detector), or a deepCoadd_forced_src whose
        deepCoadd_calexp exists (same filter, tract, patch), is known and, if its file is absent,
        reported missing -- as a Gen3 registry would list it.
        """
        groups: dict[tuple, list[_TypeScan]] = {}
        for scan in scans.values():
            if not scan.registered and scan.found:
                groups.setdefault(tuple(sorted(scan.keys)), []).append(scan)
        for members in groups.values():
            union: dict[tuple, dict] = {}
            for scan in members:
                for (_, data_id) in scan.found.values():
                    union.setdefault(_key(sorted(scan.keys), data_id), data_id)
            for scan in members:
                for data_id in union.values():
                    scan.expected.setdefault(_key(scan.keys, data_id), dict(data_id))

    # ----- data IDs ------------------------------------------------------------------------------
    def _decorate(self, data_id: dict[str, Any]) -> dict[str, Any]:
        """Add the generic keys the app uses (band; detector for ccd) to a Gen2 data ID."""
        out = dict(data_id)
        if "filter" in out and "band" not in out:
            band = band_of(out["filter"])
            if band is not None:
                out["band"] = band
        if "ccd" in out and "detector" not in out:
            out["detector"] = out["ccd"]
        return out

    def _normalise_where(self, dataset_type: str, where: dict[str, Any]) -> tuple[dict[str, Any], Optional[str]]:
        """(Gen2-key constraints, wanted band) from a data ID that may use generic keys."""
        keys = self.dimensions_of(dataset_type)
        extra = set(self._registry_columns_for(dataset_type))
        out: dict[str, Any] = {}
        band = None
        for k, v in where.items():
            v = _coerce(v)
            if k in _IGNORED_KEYS:
                continue
            if k == "band":
                band = str(v)
                continue
            if k == "physical_filter":
                k = "filter"
            elif k == "detector" and "detector" not in keys and "detector" not in extra and \
                    ("ccd" in keys or "ccd" in extra):
                k = "ccd"
            elif k == "exposure" and "exposure" not in keys and "visit" in keys + list(extra):
                k = "visit"
            if k == "patch" and isinstance(v, int) and "tract" in where:
                v = self.patch_name(int(_coerce(where["tract"])), v)
            if k not in keys and k not in extra:
                allowed = sorted(set(keys) | extra | {"band"})
                raise BadDataIdError(
                    f"{dataset_type} has no data ID key {k!r} (its keys: {', '.join(allowed)})")
            if k in out and out[k] != v:
                raise BadDataIdError(f"conflicting values for {k!r} in {format_data_id(where)}")
            out[k] = v
        return out, band

    def _registry_columns_for(self, dataset_type: str) -> list[str]:
        tmpl = self.templates.get(dataset_type)
        if tmpl is None:
            return []
        if tmpl.calibration:
            return self.calib_registry.columns(dataset_type) if self.calib_registry is not None and \
                self.calib_registry.has_table(dataset_type) else []
        table = self._registry_source(self._paths[dataset_type].keys)
        return self.registry.db.columns(table) if table else []

    @staticmethod
    def _matches(data_id: dict[str, Any], where: dict[str, Any], band: Optional[str]) -> bool:
        for k, v in where.items():
            if k in data_id and str(data_id[k]) != str(v):
                return False
        if band is not None and "filter" in data_id:
            f = data_id["filter"]
            if str(f) != band and band_of(f) != band:
                return False
        return True

    def query_data_ids(self, dataset_type: str, where: Optional[dict[str, Any]] = None,
                       collections: Optional[str] = None) -> list[dict[str, Any]]:
        """Data IDs of the known datasets of a type (found, or registered/expected but absent)."""
        self.template_for(dataset_type)
        cond, band = self._normalise_where(dataset_type, where or {})
        scan = self._scan(collections).get(dataset_type)
        if scan is None or not scan.present:
            return []
        tmpl_keys = set(scan.keys)
        narrowing = {k: v for k, v in cond.items() if k not in tmpl_keys}
        allowed = self._rows_matching(dataset_type, narrowing) if narrowing else None
        out = []
        for data_id in scan.known().values():
            if not self._matches(data_id, {k: v for k, v in cond.items() if k in tmpl_keys}, band):
                continue
            if allowed is not None and _key(scan.keys, data_id) not in allowed:
                continue
            out.append(self._decorate(data_id))
        out.sort(key=lambda d: tuple(f"{d[k]:012d}" if isinstance(d[k], int) else str(d[k]) for k in sorted(d)))
        return out

    def _rows_matching(self, dataset_type: str, narrowing: dict[str, Any]) -> set[tuple]:
        """Template-key tuples of the registry rows that satisfy constraints on non-template columns."""
        keys = self._paths[dataset_type].keys
        tmpl = self.templates[dataset_type]
        db = self.calib_registry if tmpl.calibration else (self.registry.db if self.registry else None)
        table = dataset_type if tmpl.calibration else self._registry_source(keys)
        if db is None or table is None:
            return set()
        try:
            return {tuple(str(v) for v in r) for r in db.distinct(table, keys, narrowing)}
        except KeyError as exc:
            raise BadDataIdError(f"{dataset_type} has no data ID key {exc.args[0]!r}") from None

    def _complete(self, dataset_type: str, cond: dict[str, Any], band: Optional[str]) -> list[dict[str, Any]]:
        """Full template data IDs consistent with a partial one (registry rows, else known files)."""
        path = self._paths[dataset_type]
        keys = path.keys
        if all(k in cond for k in keys) and band is None:
            return [{k: cond[k] for k in keys}]
        tmpl = self.templates[dataset_type]
        db = self.calib_registry if tmpl.calibration else (self.registry.db if self.registry else None)
        table = (dataset_type if tmpl.calibration and db is not None and db.has_table(dataset_type)
                 else (None if tmpl.calibration else self._registry_source(keys)))
        candidates: list[dict[str, Any]] = []
        if db is not None and table is not None and set(keys) <= set(db.columns(table)):
            cols = set(db.columns(table))
            where = {k: v for k, v in cond.items() if k in cols}
            extras = [] if tmpl.calibration else [c for c in _EXTRA_ID_COLUMNS if c not in keys and c in cols]
            seen: set[tuple] = set()
            for r in db.distinct(table, keys + extras, where):
                data_id = dict(zip(keys + extras, r))
                if _key(keys, data_id) not in seen:
                    seen.add(_key(keys, data_id))
                    candidates.append(data_id)
        else:
            scan = self._scan(None).get(dataset_type)
            candidates = list(scan.known().values()) if scan else []
            if not candidates and band is not None and "filter" in keys and \
                    all(k in cond for k in keys if k != "filter"):
                candidates = [dict(cond, filter=f) for f in self._filters_for_band(band)]
        return [c for c in candidates
                if self._matches(c, {k: v for k, v in cond.items() if k in keys}, band)]

    def _filters_for_band(self, band: str) -> list[str]:
        names = set(self.registry.filters()) if self.registry else set()
        for scan in self._scan(None).values():
            for data_id in scan.known().values():
                if "filter" in data_id:
                    names.add(str(data_id["filter"]))
        return sorted(f for f in names if f == band or band_of(f) == band) or [band]

    def locate(self, dataset_type: str, data_id: dict[str, Any],
               collections: Optional[str] = None) -> DatasetLocation:
        path = self.template_for(dataset_type)
        tmpl = self.templates[dataset_type]
        cond, band = self._normalise_where(dataset_type, data_id)
        candidates = self._complete(dataset_type, cond, band)
        if not candidates:
            hint = (f"; parent repositories unreachable: {', '.join(self.chain.unreachable)}"
                    if self.chain.unreachable else "")
            raise DatasetNotFoundError(
                f"no {dataset_type} with data ID {format_data_id(data_id)} in {self.root}{hint}")
        roots = self._search_roots(tmpl, self._selected(collections))
        located = []
        for cand in candidates:
            try:
                rel = path.expand(cand)
            except (KeyError, ValueError, TypeError):
                continue
            hit = next(((root, f) for root in roots for f in [find_file(root, rel)] if f), None)
            located.append((cand, rel, hit))
        on_disk = [x for x in located if x[2] is not None]
        pool = on_disk or located
        if len(pool) > 1:
            missing = [k for k in path.keys if k not in cond]
            raise BadDataIdError(
                f"data ID {format_data_id(data_id)} matches {len(pool)} {dataset_type} datasets; "
                f"also give {', '.join(missing) or 'a narrower collection'}")
        if not pool:
            raise DatasetNotFoundError(f"no {dataset_type} with data ID {format_data_id(data_id)} in {self.root}")
        cand, rel, hit = pool[0]
        if hit is None:
            known = self._scan(collections).get(dataset_type)
            registered = known is not None and _key(path.keys, cand) in known.expected
            parent_dir = os.path.dirname(rel)
            if not registered and not any(os.path.isdir(os.path.join(r, parent_dir)) for r in roots):
                raise DatasetNotFoundError(
                    f"no {dataset_type} with data ID {format_data_id(self._decorate(cand))} in {self.root} "
                    f"(no file at {rel})")
            return DatasetLocation(dataset_type, self._decorate(cand),
                                   os.path.join(roots[0] if roots else self.root, rel), False,
                                   storage_class=tmpl.storage_class, component=path.hdu)
        root, fpath = hit
        check_file(self.root, fpath, f"the {dataset_type} file")  # no-op unless opened confined
        return DatasetLocation(dataset_type, self._decorate(cand), fpath, True,
                               storage_class=tmpl.storage_class, collection=root, component=path.hdu)

    # ----- registry summaries ------------------------------------------------------------------
    def instrument(self) -> Optional[str]:
        return self.mapper

    def all_bands(self) -> list[str]:
        """The registry's filters (raw registry; else the calib registry's and those in file names)."""
        if self.registry is not None and self.registry.table:
            names = set(self.registry.filters())
        else:
            names = set()
            if self.calib_registry is not None:
                for table in self.calib_registry.tables():
                    if "filter" in self.calib_registry.columns(table):
                        names.update(str(r[0]) for r in self.calib_registry.distinct(table, ["filter"]))
            for scan in self._scan(None).values():
                names.update(str(d["filter"]) for d in scan.known().values() if "filter" in d)
        return sorted((n for n in names if n not in PLACEHOLDER_FILTERS), key=band_sort_key)

    def detectors(self) -> list[tuple]:
        """Distinct detector identities of the raw registry (else of the calib registry)."""
        if self.registry is not None and self.registry.table:
            return self.registry.detectors()
        out: set[tuple] = set()
        if self.calib_registry is not None:
            for table in self.calib_registry.tables():
                cols = [c for c in DETECTOR_COLUMNS if c in self.calib_registry.columns(table)]
                if cols:
                    out.update(self.calib_registry.distinct(table, cols))
        return sorted(out, key=str)

    def detector_names(self) -> dict[Any, str]:
        """Detector id -> name as the registry gives them (imsim: 42 -> "R11_S20"; HSC: ccd -> "22")."""
        if self.registry is None or not self.registry.table:
            return {}
        cols = self.registry.columns
        db, table = self.registry.db, self.registry.table
        if {"detector", "raftName", "detectorName"} <= set(cols):
            return {d: f"{r}_{n}" for d, r, n in db.distinct(table, ["detector", "raftName", "detectorName"])}
        if "ccd" in cols:
            return {c: str(c) for (c,) in db.distinct(table, ["ccd"])}
        if {"raft", "sensor"} <= set(cols):
            return {f"R:{r} S:{s}": f"R:{r} S:{s}" for r, s in db.distinct(table, ["raft", "sensor"])}
        return {}

    def skymap_name(self) -> Optional[str]:
        return self.skymap()[1]

    def visits(self) -> list[Any]:
        return self.registry.visits() if self.registry is not None else []

    def visit_table(self) -> list[dict[str, Any]]:
        """One row per visit (visit, filter, expTime, date ...), as ``butler.queryMetadata`` gave them."""
        rows = self.registry.visit_table() if self.registry is not None else []
        return [self._decorate(r) for r in rows]

    # ----- the sky map -----------------------------------------------------------------------------
    def skymap(self) -> tuple[Any, str, list[str]]:
        """(RingsSkyMap or None, short name, notes saying where it came from)."""
        with self._lock:
            if self._skymap_cache is None:
                self._skymap_cache = self._identify_skymap()
            return self._skymap_cache

    def _identify_skymap(self) -> tuple[Any, str, list[str]]:
        from ..sky import DC2_CONFIG, RingsSkyMap, RingsSkyMapConfig, dc2_skymap

        notes: list[str] = []
        pickle_root = self.chain.first_with("deepCoadd", "skyMap.pickle")
        if pickle_root:
            notes.append(f"{os.path.join(pickle_root, 'deepCoadd', 'skyMap.pickle')} is not read "
                         f"(unpickling needs the LSST stack and would run code)")
        for rel in SKYMAP_CONFIG_FILES:
            root = self.chain.first_with(*rel.split("/"))
            if root is None:
                continue
            cfg_path = os.path.join(root, rel)
            try:
                with open(cfg_path, "rb") as fh:
                    text = fh.read(1 << 20).decode("utf-8", "replace")
            except OSError as exc:
                notes.append(f"cannot read {cfg_path}: {exc.strerror or exc}")
                continue
            settings = parse_skymap_config(text)
            name = settings.get("name") or ("discrete" if "Discrete" in rel else None)
            builder = settings.get("tractBuilder", "legacy")
            if name not in (None, "rings") or builder != "legacy":
                what = name if builder == "legacy" else f"{name} with the {builder!r} tract builder"
                notes.append(f"skymap: {cfg_path} configures a {what} skymap, which the explorer cannot "
                             f"compute; no tract geometry (sky area 0)")
                return None, f"{name or 'unknown'} (from {rel}, unsupported)", notes
            if "numRings" not in settings:
                notes.append(f"skymap: {cfg_path} does not set numRings; assuming DC2")
                break
            try:
                config = RingsSkyMapConfig(
                    num_rings=settings["numRings"], projection=settings.get("projection", "STG"),
                    pixel_scale_arcsec=settings.get("pixelScale", 0.333),
                    tract_overlap_deg=settings.get("tractOverlap", 1.0),
                    patch_inner_dimensions=settings.get("patchInnerDimensions", (4000, 4000)),
                    patch_border=settings.get("patchBorder", 100),
                    ra_start_deg=settings.get("raStart", 0.0), rotation_deg=settings.get("rotation", 0.0))
            except ValueError as exc:
                notes.append(f"skymap: {cfg_path} has settings the explorer cannot use ({exc}); no tract geometry")
                return None, f"rings (from {rel}, unsupported)", notes
            if config == DC2_CONFIG:
                notes.append(f"skymap: the DC2 RingsSkyMap, identified from {cfg_path}")
                return dc2_skymap(), "DC2", notes
            notes.append(f"skymap: a RingsSkyMap with numRings={config.num_rings}, {config.projection}, "
                         f"{config.pixel_scale_arcsec}\"/pixel, from {cfg_path}")
            return RingsSkyMap(config, name="rings"), f"rings (from {rel})", notes
        notes.append("skymap: the DC2 RingsSkyMap (the default: no config/makeSkyMap.py in the repository "
                     "or its parents)")
        return dc2_skymap(), "DC2", notes

    def patch_name(self, tract: int, patch: int) -> str:
        """Gen3 sequential patch id -> Gen2 "x,y" (via the sky map's patch grid)."""
        sm = self.skymap()[0]
        if sm is None:
            nx = 7
            return f"{int(patch) % nx},{int(patch) // nx}"
        try:
            return sm.tract(int(tract)).patch_from_sequential(int(patch)).name
        except Exception as exc:
            raise BadDataIdError(f"bad patch {patch!r} for tract {tract}: {exc}") from None

    def patch_id(self, name: str, tract: Optional[int] = None) -> int:
        """Gen2 "x,y" -> Gen3 sequential patch id."""
        x, y = (int(v) for v in str(name).split(","))
        sm = self.skymap()[0]
        nx = sm.tract(int(tract)).num_patches[0] if (sm is not None and tract is not None) else 7
        return y * nx + x

    def _tracts_with_data(self, collections: Optional[str] = None) -> list[int]:
        tracts: set[int] = set()
        for scan in self._scan(collections).values():
            if "tract" in scan.keys:
                tracts.update(int(d["tract"]) for d in scan.known().values())
        return sorted(tracts)

    def tract_regions(self) -> dict[int, Any]:
        sm = self.skymap()[0]
        if sm is None:
            return {}
        out = {}
        for t in self._tracts_with_data():
            try:
                out[t] = sm.tract(t).inner_vertices_deg
            except Exception:
                continue
        return out

    def patch_regions(self, tract: int) -> dict[str, Any]:
        sm = self.skymap()[0]
        if sm is None:
            return {}
        try:
            return {p.name: p.inner_vertices_deg for p in sm.tract(int(tract)).patches()}
        except Exception:
            return {}

    # ----- the inventory -----------------------------------------------------------------------
    def inventory(self, collections: Optional[str] = None, check_files: bool = False,
                  progress: Progress = None) -> Inventory:
        say = progress or (lambda _msg: None)
        matched = self._selected(collections)
        scans = self._scan(collections, progress)
        summaries = []
        for name in sorted(scans):
            scan = scans[name]
            if not scan.present:
                continue
            missing_ids = [dict(scan.expected[k]) for k in scan.missing_keys()] if check_files else None
            summaries.append(DatasetTypeSummary(name, list(scan.keys), scan.storage_class, len(scan.found),
                                                None if missing_ids is None else len(missing_ids), missing_ids))
        tracts: set[int] = set()
        patches: set[tuple[int, str]] = set()
        for scan in scans.values():
            if "tract" not in scan.keys:
                continue
            for d in scan.known().values():
                tracts.add(int(d["tract"]))
                if "patch" in d:
                    patches.add((int(d["tract"]), str(d["patch"])))
        notes = list(self.chain.notes)
        say("identifying the skymap")
        sm, sm_name, sm_notes = self.skymap()
        notes.extend(sm_notes)
        area = self._tract_area(sm, tracts, notes)
        if self.registry is None:
            notes.append("no registry.sqlite3 in the repository or its reachable parents: no visits; "
                         + ("detectors from the calib registry; " if self.calib_registry is not None else "")
                         + "per-detector files were looked for by their templates alone")
        for d in summaries:
            scan = scans[d.name]
            if scan.registered and not scan.found:
                notes.append(f"{d.name}: the registry lists {len(scan.expected)}, none of them is on disk")
        sources = self._count_sources(scans, say, notes)
        return Inventory(
            kind=self.kind, root=self.root, collections=matched, dataset_types=summaries,
            instrument=self.instrument(), bands=self.all_bands(), visits=len(self.visits()),
            detectors=len(self.detectors()), tracts=sorted(tracts), patches=len(patches),
            sources=sources, sky_area_deg2=area, skymap=sm_name, notes=notes)

    @staticmethod
    def _tract_area(sm: Any, tracts: Iterable[int], notes: list[str]) -> float:
        tracts = sorted(set(tracts))
        if not tracts or sm is None:
            return 0.0
        from ..sky import union_area_deg2

        polys = []
        for t in tracts:
            try:
                polys.append(sm.tract(int(t)).inner_vertices_deg)
            except Exception:
                notes.append(f"tract {t} is not in the skymap {sm.name}: left out of the sky area")
        return float(union_area_deg2(polys)) if polys else 0.0

    @staticmethod
    def _count_sources(scans: dict[str, _TypeScan], say: Callable[[str], None],
                       notes: list[str]) -> Optional[int]:
        """Rows of single-visit source catalogs (the shared counter; absent known files are unreadable)."""
        paths: dict[str, list[Optional[str]]] = {}
        for name in SOURCE_TYPES:
            scan = scans.get(name)
            if scan is not None and scan.present:
                paths[name] = [v[0] for v in scan.found.values()] + [None] * len(scan.missing_keys())
        return count_source_rows(paths, say, notes)

    def close(self) -> None:
        for db in (self.registry.db if self.registry else None, self.calib_registry):
            if db is not None:
                db.close()


def _key(keys: list[str], data_id: dict[str, Any]) -> tuple:
    return tuple(str(data_id.get(k)) for k in keys)


def _literal_prefix(path: PathTemplate) -> str:
    """The leading directories of a template that hold no key (``calexp`` of ``calexp/%(visit)...``)."""
    out = []
    for comp in path.components[:-1]:
        if "%(" in comp:
            break
        out.append(comp)
    return "/".join(out)


def _coerce(value: Any) -> Any:
    """Data ID values from the CLI or URL arrive as strings: make integers integers."""
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return int(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return text
    return value
