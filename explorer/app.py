"""The explorer app: one ``param.Parameterized`` state object and the Panel page built on it.

:class:`ExplorerState` holds every choice a person makes (repository, collection, band, tract,
patch, visit, detector, plane, stretch, mask planes, catalog column, ...). Selectors only offer
values the repository has, computed by a shared :class:`~explorer.views.selection.RepoIndex`.
Changing one choice updates the choices below it in one batch and then the two derived
parameters ``exposure_ref`` and ``catalog_ref``; views depend on those and on their own display
parameters only, so changing the stretch re-renders the image and nothing else, and changing
the histogram column recomputes the histogram and nothing else.

The state works without a browser (tests, the benchmark, notebooks): ``render_image`` returns
the screen-sized frame the page would show, ``histogram`` the bins, ``apply_query``/``to_query``
the URL round trip. :class:`Explorer` lays the views out with Panel, for Jupyter (inline) and
for ``panel serve`` / ``repo-explorer serve`` (:func:`create_app`).
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd
import panel as pn
import param

from .paths import display_path, resolve_repo_path
from .repo import open_repo
from .repo.base import Repository
from .repo.errors import ExplorerError
from .repo.model import Exposure
from .views import catalog as cat
from .views.colors import default_shown, mask_plane_colors
from .views.raster import COLORMAPS, Frame, render_plane
from .views.selection import RepoIndex, band_key
from .views.stretch import LIMITS, STRETCHES, compute_limits

log = logging.getLogger(__name__)

ENV_REPO = "REPO_EXPLORER_REPO"
ENV_ROOTS = "REPO_EXPLORER_REPO_ROOTS"  # os.pathsep-separated, for `panel serve apps/explorer.py`

# ----- repositories shared by every session -----------------------------------------------------
_REPOS: dict[str, Repository] = {}
_INDEXES: dict[tuple[str, Optional[str]], RepoIndex] = {}
_REGISTRY_LOCK = threading.Lock()
_OPEN_LOCKS: dict[str, threading.Lock] = {}


def get_repository(path: str) -> Repository:
    """The one :class:`Repository` object for a path, opened on first use and shared by sessions."""
    real = os.path.realpath(path)
    with _REGISTRY_LOCK:
        repo = _REPOS.get(real)
        if repo is not None:
            return repo
        lock = _OPEN_LOCKS.setdefault(real, threading.Lock())
    with lock:  # a slow open (a Butler takes ~1 s) happens once even if sessions ask at once
        with _REGISTRY_LOCK:
            if real in _REPOS:
                return _REPOS[real]
        repo = open_repo(real)
        with _REGISTRY_LOCK:
            _REPOS[real] = repo
        return repo


def get_index(repo: Repository, collection: Optional[str]) -> RepoIndex:
    """The shared selector index of a repository and collection ("" or None: all collections)."""
    key = (repo.root, collection or None)
    with _REGISTRY_LOCK:
        index = _INDEXES.get(key)
    if index is None:
        index = RepoIndex(repo, collection or None)
        with _REGISTRY_LOCK:
            index = _INDEXES.setdefault(key, index)
    return index


def forget_repositories() -> None:
    """Close and drop every shared repository (tests; a server picking up new data)."""
    with _REGISTRY_LOCK:
        repos = list(_REPOS.values())
        _REPOS.clear()
        _INDEXES.clear()
    for repo in repos:
        repo.close()


def default_repository() -> str:
    """``$REPO_EXPLORER_REPO``, else the sample repository (built on first use)."""
    env = os.environ.get(ENV_REPO)
    if env:
        return env
    from .defaults import ensure_sample

    return str(ensure_sample())


def env_repo_roots() -> list[str]:
    text = os.environ.get(ENV_ROOTS, "")
    return [p for p in text.split(os.pathsep) if p]


# ----- the state --------------------------------------------------------------------------------
IMAGE_KINDS = ("coadd", "calexp")
PLANES = ("image", "mask", "variance")
# Query-string names of the state's parameters, in the order a link is applied.
QUERY_ORDER = ("repo", "collection", "kind", "band", "tract", "patch", "visit", "detector", "plane",
               "stretch", "cmap", "masks", "alpha", "catalog", "column", "logx", "logy", "bins",
               "require", "exclude", "sources", "footprints", "skycolor")
_LEVELS = ("repo", "collection", "tract", "patch", "band", "visit", "detector", "exposure", "catalog")


def _as_int(value: Any) -> Optional[int]:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class ExplorerState(param.Parameterized):
    """Everything the explorer shows, as parameters (see module docstring)."""

    repo_path = param.String(default="", doc="Repository path (relative to the first --repo-root when confined)")
    collection = param.Selector(default="", objects=[""], check_on_set=True,
                                doc="Collection to search ('' = all collections)")
    image_kind = param.Selector(default="coadd", objects=list(IMAGE_KINDS), check_on_set=True,
                                doc="Show a coadd (band, tract, patch) or a calexp (visit, detector)")
    band = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    tract = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    patch = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    visit = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    detector = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)

    plane = param.Selector(default="image", objects=list(PLANES), check_on_set=True)
    stretch = param.Selector(default="zscale", objects=list(STRETCHES), check_on_set=True)
    cmap = param.Selector(default="gray", objects=list(COLORMAPS), check_on_set=True)
    mask_planes = param.ListSelector(default=[], objects=[], doc="Mask planes drawn over the image")
    mask_alpha = param.Number(default=0.5, bounds=(0.0, 1.0), step=0.05, doc="Opacity of mask colours")

    catalog = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    column = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True)
    log_x = param.Boolean(default=True, doc="Histogram log10 of the column (positive values)")
    log_y = param.Boolean(default=False, doc="Logarithmic count axis")
    bins = param.Integer(default=80, bounds=(5, 400))
    require_flags = param.ListSelector(default=[], objects=[], doc="Keep only rows with these flags set")
    exclude_flags = param.ListSelector(default=[], objects=[], doc="Drop rows with these flags set")
    show_sources = param.Boolean(default=True, doc="Draw the catalog's sources on the image")

    show_footprints = param.Boolean(default=False, doc="Draw calexp footprints on the sky map")
    sky_color = param.Selector(default="bands", objects=["bands", "visits"], check_on_set=True)

    # derived: what the views show (set by the cascade only, never by widgets)
    exposure_ref = param.Parameter(default=None, doc="(dataset type, data ID) of the exposure shown")
    catalog_ref = param.Parameter(default=None, doc="(dataset type, data ID) of the catalog shown")
    repo_root = param.String(default="", doc="Real path of the open repository")
    visit_note = param.String(default="", doc="How the visit list was chosen")
    error = param.String(default="", doc="The last problem, one line, for a notification")
    error_count = param.Integer(default=0, doc="Bumped on every error, so repeats notify too")

    def __init__(self, repo: Optional[str] = None, repo_roots: Sequence[str] = (), **params):
        super().__init__(**params)
        self.repo_roots = list(repo_roots)
        self._busy = False
        self._user_masks: Optional[set[str]] = None  # planes the user chose (None: defaults)
        self._exposure_cache: tuple[Any, Optional[Exposure]] = (None, None)
        self.repo: Optional[Repository] = None
        self.index: Optional[RepoIndex] = None
        if repo is not None:
            self.repo_path = repo  # triggers _on_repo_path

    # ----- errors ------------------------------------------------------------------------------
    def report(self, message: str) -> None:
        """Record a problem for the page to show; never raises."""
        log.info("explorer: %s", message)
        self.param.update(error=" ".join(str(message).split()), error_count=self.error_count + 1)

    # ----- repository and collection ------------------------------------------------------------
    @param.depends("repo_path", watch=True)
    def _on_repo_path(self) -> None:
        if self._busy:
            return
        self.open(self.repo_path)

    def open(self, path: str) -> bool:
        """Open a repository (confined to the roots, if any); on failure keep the current one."""
        previous = self.repo_root
        try:
            real = resolve_repo_path(path, self.repo_roots)
            repo = get_repository(real)
            index = get_index(repo, None)
        except ExplorerError as exc:
            self.report(str(exc))
            self._set_quietly(repo_path=display_path(previous, self.repo_roots) if previous else "")
            return False
        except Exception as exc:  # a backend bug must not take the page down
            log.exception("opening %s", path)
            self.report(f"cannot open {path}: {type(exc).__name__}: {exc}")
            self._set_quietly(repo_path=display_path(previous, self.repo_roots) if previous else "")
            return False
        self.repo, self.index = repo, index
        collections = [""]
        try:
            collections += repo.collections()
        except ExplorerError as exc:
            self.report(str(exc))
        self.param.collection.objects = {("all collections" if c == "" else c): c for c in collections}
        self._set_quietly(repo_root=real, repo_path=display_path(real, self.repo_roots), collection="")
        self._cascade("collection")
        return True

    @param.depends("collection", watch=True)
    def _on_collection(self) -> None:
        if not self._busy:
            self._cascade("collection")

    @param.depends("tract", watch=True)
    def _on_tract(self) -> None:
        if not self._busy:
            self._cascade("patch")

    @param.depends("patch", "band", watch=True)
    def _on_patch_band(self) -> None:
        if not self._busy:
            self._cascade("visit")

    @param.depends("visit", watch=True)
    def _on_visit(self) -> None:
        if not self._busy:
            self._cascade("detector")

    @param.depends("detector", "image_kind", watch=True)
    def _on_detector(self) -> None:
        if not self._busy:
            self._cascade("exposure")

    @param.depends("catalog", watch=True)
    def _on_catalog(self) -> None:
        if not self._busy:
            self._cascade("catalog")

    @param.depends("mask_planes", watch=True)
    def _on_masks(self) -> None:
        if not self._busy:
            self._user_masks = set(self.mask_planes)

    def _set_quietly(self, **values: Any) -> None:
        """Set parameters without running the cascade watchers (views still see the change)."""
        busy, self._busy = self._busy, True
        try:
            self.param.update(**values)
        finally:
            self._busy = busy

    @staticmethod
    def _keep(current: Any, options: Sequence[Any], fallback: Any = "first") -> Any:
        if current in options:
            return current
        if not options:
            return None
        return options[0] if fallback == "first" else fallback

    def _cascade(self, level: str) -> None:
        """Recompute the options of every selector from ``level`` down and apply them in one batch."""
        if self.index is None:
            return
        try:
            self._cascade_unsafe(level)
        except ExplorerError as exc:
            self.report(str(exc))
        except Exception as exc:  # keep the page alive; say what broke
            log.exception("updating the selection")
            self.report(f"{type(exc).__name__}: {exc}")

    def _cascade_unsafe(self, level: str) -> None:
        start = _LEVELS.index(level)
        if start <= _LEVELS.index("collection"):
            self.index = get_index(self.repo, self.collection or None)
        idx = self.index
        values: dict[str, Any] = {}
        objects: dict[str, list] = {}

        def choose(name: str, options: list, current: Any) -> Any:
            objects[name] = options
            values[name] = self._keep(current, options)
            return values[name]

        tract, patch, band = self.tract, self.patch, self.band
        visit, detector = self.visit, self.detector
        if start <= _LEVELS.index("tract"):
            band = choose("band", list(idx.bands), band)
            tract = choose("tract", list(idx.tracts), tract)
            kinds = [k for k, ok in (("coadd", bool(idx.coadds)), ("calexp", bool(idx.calexps))) if ok]
            if kinds and self.image_kind not in kinds:
                values["image_kind"] = kinds[0]
        if start <= _LEVELS.index("patch"):
            patch = choose("patch", idx.patches(tract), patch)
        if start <= _LEVELS.index("visit"):
            choice = idx.choose_visits(tract, patch, band)
            visit = choose("visit", choice.visits, visit)
            values["visit_note"] = choice.note
        if start <= _LEVELS.index("detector"):
            dets = idx.detectors(visit)
            if detector not in dets and dets and tract is not None:
                # prefer a detector of the visit that overlaps the chosen patch
                from .views.sky import overlaps

                region = idx.patch_regions(tract).get(patch) if patch else idx.tract_regions().get(tract)
                fps = idx.footprints()
                over = [d for d in dets if region is not None and (visit, d) in fps and overlaps(fps[(visit, d)], region)]
                detector = over[0] if over else detector
            detector = choose("detector", dets, detector)

        kind = values.get("image_kind", self.image_kind)
        if kind == "coadd":
            ref_id = idx.coadd_id(tract, patch, band)
            ref = (idx.coadd_type, ref_id) if ref_id else None
        else:
            ref_id = idx.calexp_id(visit, detector)
            ref = (idx.calexp_type, ref_id) if ref_id else None
        if ref != self.exposure_ref or start <= _LEVELS.index("exposure"):
            values["exposure_ref"] = ref
            self._update_mask_options(ref, objects, values)
        # the catalog that goes with the image
        catalog = values.get("catalog", self.catalog)
        cat_types = idx.catalog_types_for(ref[0]) if ref else []
        catalog = choose("catalog", cat_types, catalog)
        cat_ref = None
        if ref and catalog:
            cat_id = idx.catalog_id(catalog, ref[1])
            cat_ref = (catalog, cat_id) if cat_id else None
        if cat_ref != self.catalog_ref:
            values["catalog_ref"] = cat_ref
            self._update_column_options(cat_ref, objects, values)

        busy, self._busy = self._busy, True
        try:
            for name, opts in objects.items():
                self.param[name].objects = opts
            self.param.update(**values)
        finally:
            self._busy = busy

    def _update_mask_options(self, ref, objects: dict, values: dict) -> None:
        exposure = self._load_exposure(ref, report=True)
        planes = sorted(exposure.info.mask_planes, key=lambda n: exposure.info.mask_planes[n]) if exposure else []
        objects["mask_planes"] = planes
        wanted = self._user_masks if self._user_masks is not None else set(default_shown(planes))
        values["mask_planes"] = [p for p in planes if p in wanted]
        if exposure is not None and values.get("plane", self.plane) not in exposure.info.planes:
            values["plane"] = "image"

    def _update_column_options(self, cat_ref, objects: dict, values: dict) -> None:
        numeric, flags = [], []
        if cat_ref is not None:
            try:
                schema = self.repo.catalog_schema(cat_ref[0], cat_ref[1], collections=self.collection or None)
                numeric, flags = cat.numeric_columns(schema), cat.flag_columns(schema)
            except ExplorerError as exc:
                self.report(str(exc))
        objects["column"] = numeric
        band = (cat_ref[1].get("band") if cat_ref else None) or self.band
        current = values.get("column", self.column)
        values["column"] = current if current in numeric else cat.default_column(numeric, band)
        objects["require_flags"] = flags
        objects["exclude_flags"] = flags
        req = [f for f in self.require_flags if f in flags]
        if not req and not self.require_flags:
            req = [f for f in cat.DEFAULT_REQUIRE if f in flags]
        values["require_flags"] = req
        values["exclude_flags"] = [f for f in self.exclude_flags if f in flags]

    # ----- data the views need --------------------------------------------------------------------
    def _load_exposure(self, ref, report: bool = False) -> Optional[Exposure]:
        if ref is None:
            return None
        key = (self.repo_root, ref[0], tuple(sorted(ref[1].items())))
        cached_key, cached = self._exposure_cache
        if cached_key == key:
            return cached
        try:
            exposure = self.repo.get_exposure(ref[0], ref[1], collections=self.collection or None)
        except ExplorerError as exc:
            if report:
                self.report(str(exc))
            exposure = None
        self._exposure_cache = (key, exposure)
        return exposure

    def exposure(self) -> Optional[Exposure]:
        """The exposure the selection names (None when nothing is selected or it cannot be read)."""
        return self._load_exposure(self.exposure_ref)

    def limits(self, exposure: Exposure, plane: str):
        """Full-frame stretch limits of a plane, computed once per file and plane."""
        from .repo.cache import file_key

        def compute():
            arr = exposure.plane(plane)
            exclude = None
            mask = exposure.mask
            if mask is not None and plane != "mask":
                bad = 0
                for name in ("NO_DATA", "SAT", "BAD", "SATURATED"):
                    if name in exposure.info.mask_planes:
                        bad |= 1 << exposure.info.mask_planes[name]
                exclude = (mask & bad) != 0 if bad else None
            return compute_limits(arr, exclude=exclude)

        try:
            key = file_key(exposure.info.path, "limits", plane)
        except OSError:
            key = (exposure.info.path, "limits", plane)
        return LIMITS.get(key, compute)

    def render_image(self, width: int = 800, height: int = 800, x_range: Optional[Sequence[float]] = None,
                     y_range: Optional[Sequence[float]] = None) -> Optional[Frame]:
        """The current plane rendered at screen resolution (the page's image, without a browser).

        Returns a :class:`~explorer.views.raster.Frame` (``rgba`` (h, w, 4) uint8 rows bottom to
        top, ``values`` the downsampled plane, ``x_range``/``y_range`` in parent pixels), or None
        when nothing is selected or the exposure cannot be read.
        """
        exposure = self.exposure()
        if exposure is None:
            return None
        plane = self.plane if self.plane in exposure.info.planes else "image"
        planes = {plane: exposure.plane(plane)}
        if exposure.mask is not None:
            planes["mask"] = exposure.mask
        limits = None if plane == "mask" else self.limits(exposure, plane)
        return render_plane(planes, exposure.info.xy0, plane, limits, self.stretch, exposure.info.mask_planes,
                            list(self.mask_planes), self.mask_alpha, x_range, y_range, width, height, self.cmap)

    def mask_colors(self) -> dict[str, str]:
        exposure = self.exposure()
        return mask_plane_colors(exposure.info.mask_planes) if exposure else {}

    def catalog_frame(self, columns: Sequence[str]) -> Optional[pd.DataFrame]:
        """Columns of the current catalog, rows filtered by the flags and (for visit-level tables)
        to the detector shown."""
        if self.catalog_ref is None:
            return None
        name, data_id = self.catalog_ref
        schema_names = None
        wanted = list(dict.fromkeys([c for c in columns if c] + list(self.require_flags) + list(self.exclude_flags)))
        per_detector = (self.exposure_ref is not None and "detector" in self.exposure_ref[1]
                        and "detector" not in data_id)
        if per_detector:
            wanted.append("detector")
        try:
            df = self.repo.get_catalog(name, data_id, columns=wanted, collections=self.collection or None)
        except ExplorerError as exc:
            if per_detector:  # a table without a detector column: use all its rows
                try:
                    wanted.remove("detector")
                    df = self.repo.get_catalog(name, data_id, columns=wanted, collections=self.collection or None)
                    per_detector = False
                except ExplorerError as exc2:
                    self.report(str(exc2))
                    return None
            else:
                self.report(str(exc))
                return None
        del schema_names
        keep = cat.filter_rows(df, self.require_flags, self.exclude_flags)
        if per_detector and "detector" in df.columns:
            keep &= df["detector"].to_numpy() == int(self.exposure_ref[1]["detector"])
        if not keep.all():
            df = df.loc[keep]
        return df

    def histogram(self) -> Optional[cat.Histogram]:
        """Bins of the chosen column of the current catalog (flag filters applied)."""
        if self.catalog_ref is None or not self.column:
            return None
        df = self.catalog_frame([self.column])
        if df is None or self.column not in df.columns:
            return None
        return cat.histogram(df[self.column].to_numpy(), self.column, bins=self.bins, log=self.log_x)

    def source_positions(self) -> Optional[pd.DataFrame]:
        """Sources of the current catalog in the image's parent-pixel coordinates: x, y, id, value."""
        exposure = self.exposure()
        if exposure is None or self.catalog_ref is None:
            return None
        name, data_id = self.catalog_ref
        try:
            schema = self.repo.catalog_schema(name, data_id, collections=self.collection or None)
        except ExplorerError as exc:
            self.report(str(exc))
            return None
        names = [c.name for c in schema]
        units = {c.name: c.unit for c in schema}
        id_col = next((c for c in ("id", "sourceId", "objectId") if c in names), None)
        pix = cat.centroid_columns(names)
        sky = cat.sky_columns(names)
        if pix is None and sky is None:
            return None
        cols = list(pix or sky) + ([id_col] if id_col else []) + ([self.column] if self.column else [])
        df = self.catalog_frame(cols)
        if df is None:
            return None
        if pix is not None:
            x, y = df[pix[0]].to_numpy(float), df[pix[1]].to_numpy(float)
        elif exposure.info.wcs is not None:
            x, y = exposure.info.sky_to_pixel(cat.to_degrees(df[sky[0]].to_numpy(float), units.get(sky[0])),
                                              cat.to_degrees(df[sky[1]].to_numpy(float), units.get(sky[1])))
        else:
            return None
        out = pd.DataFrame({"x": x, "y": y,
                            "id": df[id_col].to_numpy() if id_col else np.arange(len(df)),
                            "value": df[self.column].to_numpy(float) if self.column in df.columns else np.nan})
        return out[np.isfinite(out["x"]) & np.isfinite(out["y"])]

    # ----- sky map -------------------------------------------------------------------------------
    def select_sky(self, ra: float, dec: float) -> None:
        """A tap on the sky map at (RA, Dec): select the patch under it, or else the tract."""
        from .views.sky import find_containing

        if self.index is None or ra is None or dec is None:
            return
        ra = float(ra) % 360.0
        if self.tract is not None:
            hit = find_containing({p: self.index.patch_regions(self.tract).get(p)
                                   for p in self.index.patches(self.tract)}, ra, dec)
            if hit is not None:
                if hit != self.patch:
                    self.patch = hit
                return
        tract = find_containing(self.index.tract_regions(), ra, dec)
        if tract is None or tract == self.tract:
            return
        patch = find_containing({p: self.index.patch_regions(tract).get(p) for p in self.index.patches(tract)},
                                ra, dec)
        busy, self._busy = self._busy, True
        try:
            self.param.patch.objects = self.index.patches(tract)
            self.param.update(tract=tract, patch=patch if patch is not None else self._keep(None, self.index.patches(tract)))
        finally:
            self._busy = busy
        self._cascade("visit")

    # ----- URL query -----------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """The selection as URL query parameters (only what differs from the defaults)."""
        q: dict[str, str] = {}
        if self.repo_path:
            q["repo"] = self.repo_path
        if self.collection:
            q["collection"] = self.collection
        q["kind"] = self.image_kind
        for key, name in (("band", "band"), ("tract", "tract"), ("patch", "patch")):
            if getattr(self, name) is not None:
                q[key] = str(getattr(self, name))
        if self.image_kind == "calexp":
            if self.visit is not None:
                q["visit"] = str(self.visit)
            if self.detector is not None:
                q["detector"] = str(self.detector)
        defaults = {"plane": "image", "stretch": "zscale", "cmap": "gray"}
        for key, value in (("plane", self.plane), ("stretch", self.stretch), ("cmap", self.cmap)):
            if value != defaults[key]:
                q[key] = value
        if self._user_masks is not None:
            q["masks"] = ",".join(self.mask_planes) or "none"
        if self.catalog:
            q["catalog"] = self.catalog
        if self.column:
            q["column"] = self.column
        if not self.log_x:
            q["logx"] = "0"
        if self.log_y:
            q["logy"] = "1"
        if self.sky_color != "bands":
            q["skycolor"] = self.sky_color
        if self.show_footprints:
            q["footprints"] = "1"
        return q

    def apply_query(self, query: dict[str, Any]) -> list[str]:
        """Apply URL query parameters in dependency order; returns the problems (also reported).

        Unknown values are refused with a message and the current choice kept, so a stale link
        still opens a working page.
        """
        q = {}
        for k, v in query.items():
            if isinstance(v, (list, tuple)):
                v = v[-1] if v else ""
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            q[str(k)] = str(v)
        problems: list[str] = []

        def refuse(what: str) -> None:
            problems.append(what)
            self.report(what)

        if "repo" in q and q["repo"]:
            if not self.open(q["repo"]):
                problems.append(self.error)
        elif self.index is None and self.repo_path:
            self.open(self.repo_path)
        if self.index is None:
            return problems
        if "collection" in q:
            if q["collection"] in self.param.collection.objects:
                self.collection = q["collection"]
            else:
                refuse(f"no collection {q['collection']!r} in this repository")
        if "kind" in q:
            if q["kind"] in IMAGE_KINDS:
                self._set_quietly(image_kind=q["kind"])
                self._cascade("exposure")
            else:
                refuse(f"unknown image kind {q['kind']!r} (use coadd or calexp)")

        def select(name: str, key: str, convert, level: str) -> None:
            if key not in q:
                return
            value = convert(q[key])
            if value in self.param[name].objects:
                self._set_quietly(**{name: value})
                self._cascade(level)
            else:
                offered = ", ".join(str(o) for o in self.param[name].objects[:20]) or "none"
                refuse(f"{key} {q[key]!r} is not available here (choices: {offered})")

        select("band", "band", str, "visit")
        select("tract", "tract", _as_int, "patch")
        select("patch", "patch", lambda s: s.replace(" ", ""), "visit")
        select("visit", "visit", _as_int, "detector")
        select("detector", "detector", _as_int, "exposure")
        for key, name in (("plane", "plane"), ("stretch", "stretch"), ("cmap", "cmap"), ("skycolor", "sky_color")):
            if key in q:
                if q[key] in self.param[name].objects:
                    setattr(self, name, q[key])
                else:
                    refuse(f"unknown {key} {q[key]!r}")
        if "masks" in q:
            wanted = [] if q["masks"] in ("", "none") else [m for m in q["masks"].split(",") if m]
            self._user_masks = set(wanted)
            self.mask_planes = [m for m in self.param.mask_planes.objects if m in self._user_masks]
        if "alpha" in q:
            try:
                self.mask_alpha = min(1.0, max(0.0, float(q["alpha"])))
            except ValueError:
                refuse(f"bad alpha {q['alpha']!r}")
        select("catalog", "catalog", str, "catalog")
        if "column" in q:
            if q["column"] in self.param.column.objects:
                self.column = q["column"]
            else:
                refuse(f"no column {q['column']!r} in the {self.catalog or 'current'} catalog")
        flags = {"logx": "log_x", "logy": "log_y", "sources": "show_sources", "footprints": "show_footprints"}
        for key, name in flags.items():
            if key in q:
                setattr(self, name, q[key].lower() in ("1", "true", "yes", "on"))
        if "bins" in q and _as_int(q["bins"]):
            self.bins = min(400, max(5, _as_int(q["bins"])))
        return problems

    # ----- summary ---------------------------------------------------------------------------------
    def inventory(self, check_files: Optional[bool] = None):
        """The repository's inventory for the chosen collection (files checked for small repos)."""
        if self.repo is None:
            return None
        key = ("inventory", self.collection or None, check_files)
        with _REGISTRY_LOCK:
            memo = getattr(self.index, "_app_memo", None)
            if memo is None:
                memo = self.index._app_memo = {}
            if key in memo:
                return memo[key]
        inv = self.repo.inventory(collections=self.collection or None, check_files=False)
        if check_files is None:
            check_files = sum(d.count for d in inv.dataset_types) <= CHECK_FILES_LIMIT
        if check_files:
            inv = self.repo.inventory(collections=self.collection or None, check_files=True)
        with _REGISTRY_LOCK:
            memo[key] = inv
        return inv

    def describe(self) -> str:
        """One line naming what the image shows."""
        ref = self.exposure_ref
        if ref is None:
            return "nothing selected"
        dt, data_id = ref
        if self.image_kind == "coadd":
            return f"{dt} tract {self.tract} patch {self.patch} band {self.band}"
        band = data_id.get("band", "")
        return f"{dt} visit {self.visit} detector {self.detector}" + (f" ({band})" if band else "")


CHECK_FILES_LIMIT = 20000  # datasets: above this, the summary does not stat every file


def sorted_bands(bands) -> list[str]:
    return sorted(bands, key=band_key)


# =================================================================================================
# The page (Panel): widgets bound to the state, and the views.
# =================================================================================================
ACCENT = "#0b6e82"
SOURCE_LIMIT = 5000  # sources drawn individually in view; beyond, the brightest are drawn


def _ensure_extensions() -> None:
    """Load the Bokeh backend and the Panel extensions the page uses (cheap to repeat)."""
    import holoviews as hv

    pn.extension("tabulator", notifications=True, loading_indicator=True)
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)


def _swatch(color: str) -> str:
    return (f'<span style="display:inline-block;width:12px;height:12px;background:{color};'
            f'border:1px solid #555;margin-right:4px;vertical-align:middle"></span>')


class Explorer(pn.viewable.Viewer):
    """The explorer page: ``Explorer("path/to/repo")`` displays inline in Jupyter; ``.show()``
    opens it in its own browser tab; ``.servable()`` marks it for ``panel serve``.

    ``repo``: the repository to open (default: ``$REPO_EXPLORER_REPO`` or the sample);
    ``repo_roots``: confine the repository-path box to these directories.
    """

    state = param.ClassSelector(class_=ExplorerState, doc="What the page shows")

    def __init__(self, repo: Optional[str] = None, repo_roots: Sequence[str] = (),
                 state: Optional[ExplorerState] = None, query: Optional[dict[str, Any]] = None):
        import holoviews as hv

        _ensure_extensions()
        super().__init__(state=state or ExplorerState(repo_roots=repo_roots))
        self.pn, self.hv = pn, hv
        if query and query.get("repo"):
            self.state.apply_query(query)
        else:
            if repo is None and self.state.index is None:
                try:
                    repo = default_repository()
                except ExplorerError as exc:
                    self.state.report(str(exc))
            if repo is not None and self.state.index is None:
                self.state.open(repo)
            if query:
                self.state.apply_query(query)
        self._sources_memo: tuple[Any, Optional[pd.DataFrame]] = (None, None)
        self._build()

    # ----- widgets --------------------------------------------------------------------------------
    def _build(self) -> None:
        pn, s = self.pn, self.state
        w = pn.widgets
        self.repo_input = w.TextInput.from_param(s.param.repo_path, label="Repository",
                                                 placeholder="path to a Gen3 or Gen2 repository")
        self.open_button = w.Button(label="Open", color="primary", width=70, align="end")
        self.open_button.on_click(lambda _e: s.open(self.repo_input.value_input or self.repo_input.value))
        self.collection_select = w.Select.from_param(s.param.collection, label="Collection")
        self.kind_buttons = w.RadioButtonGroup.from_param(s.param.image_kind, label="Image", color="primary",
                                                          variant="outline")
        self.band_buttons = w.RadioButtonGroup.from_param(s.param.band, label="Band", color="primary",
                                                          variant="outline")
        self.tract_select = w.Select.from_param(s.param.tract, label="Tract")
        self.patch_select = w.Select.from_param(s.param.patch, label="Patch")
        self.visit_select = w.Select.from_param(s.param.visit, label="Visit")
        self.detector_select = w.Select.from_param(s.param.detector, label="Detector")
        self.plane_buttons = w.RadioButtonGroup.from_param(s.param.plane, label="Plane", color="primary",
                                                           variant="outline")
        self.stretch_buttons = w.RadioButtonGroup.from_param(s.param.stretch, label="Stretch", color="primary",
                                                             variant="outline")
        self.cmap_select = w.Select.from_param(s.param.cmap, label="Colour map")
        self.alpha_slider = w.FloatSlider.from_param(s.param.mask_alpha, label="Mask opacity")
        self.mask_box = pn.Column(sizing_mode="stretch_width", margin=(0, 5))
        self._mask_checks: dict[str, Any] = {}
        self.catalog_select = w.Select.from_param(s.param.catalog, label="Catalog")
        self.column_select = w.Select.from_param(s.param.column, label="Histogram column")
        self.logx_check = w.Checkbox.from_param(s.param.log_x, label="log10 of the column")
        self.logy_check = w.Checkbox.from_param(s.param.log_y, label="log count axis")
        self.bins_slider = w.IntSlider.from_param(s.param.bins, label="Bins")
        self.require_choice = w.MultiChoice.from_param(s.param.require_flags, label="Require flags")
        self.exclude_choice = w.MultiChoice.from_param(s.param.exclude_flags, label="Exclude flags")
        self.sources_check = w.Checkbox.from_param(s.param.show_sources, label="Sources on the image")
        self.skycolor_buttons = w.RadioButtonGroup.from_param(s.param.sky_color, label="Colour tracts by",
                                                              color="primary", variant="outline")
        self.footprints_check = w.Checkbox.from_param(s.param.show_footprints, label="Calexp footprints")
        for widget in (self.repo_input, self.collection_select, self.kind_buttons, self.band_buttons,
                       self.tract_select, self.patch_select, self.visit_select, self.detector_select,
                       self.plane_buttons, self.stretch_buttons, self.cmap_select, self.alpha_slider,
                       self.catalog_select, self.column_select, self.bins_slider, self.require_choice,
                       self.exclude_choice, self.skycolor_buttons):
            widget.sizing_mode = "stretch_width"
        # stable hooks for browser tests and for people styling a deployment
        for widget, css in ((self.repo_input, "w-repo"), (self.collection_select, "w-collection"),
                            (self.kind_buttons, "w-kind"), (self.band_buttons, "w-band"),
                            (self.tract_select, "w-tract"), (self.patch_select, "w-patch"),
                            (self.visit_select, "w-visit"), (self.detector_select, "w-detector"),
                            (self.plane_buttons, "w-plane"), (self.stretch_buttons, "w-stretch"),
                            (self.catalog_select, "w-catalog"), (self.column_select, "w-column"),
                            (self.open_button, "w-open")):
            widget.css_classes = [css]
        self.visit_note = pn.pane.Markdown(s.param.visit_note, styles={"color": "#666", "font-size": "11px"},
                                           margin=(0, 10))
        self.error_alert = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width",
                                         css_classes=["explorer-error"])
        self.readout = pn.pane.HTML(self._readout_html(None), sizing_mode="stretch_width", height=44,
                                    css_classes=["explorer-readout"], styles={"font-family": "monospace"})
        s.param.watch(self._on_error, ["error_count"])
        s.param.watch(self._sync_masks, ["exposure_ref", "mask_planes"])
        self._sync_masks()

        pm = pn.param.ParamMethod
        self.summary_pane = pm(self._summary_view, loading_indicator=True, sizing_mode="stretch_width")
        self.sky_pane = pm(self._sky_view, loading_indicator=True, sizing_mode="stretch_width")
        self.image_pane = pm(self._image_view, loading_indicator=True, sizing_mode="stretch_width")
        self.title_pane = pm(self._image_title, sizing_mode="stretch_width")
        self.hist_pane = pm(self._histogram_view, loading_indicator=True, sizing_mode="stretch_width")
        self.info_pane = pm(self._info_view, loading_indicator=True, sizing_mode="stretch_width")

    def controls(self):
        """The sidebar: repository, selection, display and catalog controls."""
        pn = self.pn
        header = {"font-weight": "600", "color": ACCENT, "margin-top": "6px"}
        mask_buttons = pn.Row(self.pn.widgets.Button(label="all", width=50, height=28),
                              self.pn.widgets.Button(label="none", width=50, height=28))
        mask_buttons[0].on_click(lambda _e: self._set_all_masks(True))
        mask_buttons[1].on_click(lambda _e: self._set_all_masks(False))
        return pn.Column(
            pn.pane.HTML("Repository", styles=header),
            pn.Row(self.repo_input, self.open_button, sizing_mode="stretch_width"),
            self.collection_select,
            pn.pane.HTML("Selection", styles=header),
            self.kind_buttons, self.band_buttons, pn.Row(self.tract_select, self.patch_select),
            pn.Row(self.visit_select, self.detector_select), self.visit_note,
            pn.pane.HTML("Display", styles=header),
            self.plane_buttons, self.stretch_buttons, pn.Row(self.cmap_select, self.alpha_slider),
            pn.Row(pn.pane.HTML("Mask planes", styles={"font-size": "12px"}), mask_buttons),
            self.mask_box,
            pn.pane.HTML("Catalog", styles=header),
            self.catalog_select, self.column_select, pn.Row(self.logx_check, self.logy_check),
            self.bins_slider, self.require_choice, self.exclude_choice, self.sources_check,
            pn.pane.HTML("Sky map", styles=header),
            self.skycolor_buttons, self.footprints_check,
            sizing_mode="stretch_width",
        )

    def main(self):
        """The views: summary, sky map, image, histogram, exposure information."""
        pn = self.pn
        card = dict(sizing_mode="stretch_width", header_background="#e8f1f3", margin=(5, 5))
        return pn.Column(
            self.error_alert,
            pn.Card(self.summary_pane, title="Repository summary", collapsed=False, **card),
            pn.Row(
                pn.Card(self.sky_pane, title="Sky map: tap a tract or a patch", **card),
                pn.Card(pn.Column(self.title_pane, self.image_pane, self.readout, sizing_mode="stretch_width"),
                        title="Image", **card),
                sizing_mode="stretch_width",
            ),
            pn.Row(
                pn.Card(self.hist_pane, title="Catalog histogram", **card),
                pn.Card(self.info_pane, title="Exposure information", **card),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self.pn.Row(self.pn.Column(self.controls(), width=330), self.main(), sizing_mode="stretch_width")

    def template(self, title: str = "Repository explorer"):
        """The page in a FastListTemplate (for serving)."""
        pn = self.pn
        # font_url: no web font, so a server without internet access (or a test) loads nothing remote
        # Bootstrap design: no web fonts, so a server without internet access loads nothing remote
        return pn.template.BootstrapTemplate(
            title=title, sidebar=[self.controls()], main=[self.main()], header_background=ACCENT,
            sidebar_width=360)

    def servable(self, title: str = "Repository explorer"):
        return self.template(title).servable(title=title)

    def show(self, port: int = 0, **kwargs):
        """Open the page in its own browser tab (a small server in this process)."""
        return self.pn.serve({"explorer": lambda: self.template()}, port=port, show=True, **kwargs)

    # ----- errors -----------------------------------------------------------------------------------
    def _on_error(self, _event=None) -> None:
        message = self.state.error
        self.error_alert.object = f"**Problem:** {message}"
        self.error_alert.visible = bool(message)
        notifications = getattr(self.pn.state, "notifications", None)
        if notifications is not None and message:
            try:
                notifications.error(message, duration=8000)
            except Exception:  # no notification area (e.g. a static export): the alert suffices
                pass

    # ----- mask toggles + legend -----------------------------------------------------------------
    def _sync_masks(self, *_events) -> None:
        pn = self.pn
        planes = list(self.state.param.mask_planes.objects)
        colors = self.state.mask_colors()
        shown = set(self.state.mask_planes)
        if list(self._mask_checks) != planes:
            rows, self._mask_checks = [], {}
            for name in planes:
                box = pn.widgets.Checkbox(label=name, value=name in shown, margin=(0, 0), height=18, width=140,
                                          css_classes=["mask-toggle"])
                box.param.watch(self._mask_toggled, "value")
                self._mask_checks[name] = box
                rows.append(pn.Row(pn.pane.HTML(_swatch(colors.get(name, "#888")), width=18, margin=(0, 0)), box,
                                   margin=(0, 0), height=20))
            half = (len(rows) + 1) // 2
            self.mask_box[:] = [pn.Row(pn.Column(*rows[:half], margin=0), pn.Column(*rows[half:], margin=0),
                                       margin=0)] if rows else [pn.pane.HTML("<i>no mask plane</i>")]
        else:
            for name, box in self._mask_checks.items():
                if box.value != (name in shown):
                    box.value = name in shown

    def _mask_toggled(self, _event) -> None:
        chosen = [n for n, box in self._mask_checks.items() if box.value]
        if set(chosen) != set(self.state.mask_planes):
            self.state.mask_planes = chosen

    def _set_all_masks(self, on: bool) -> None:
        self.state.mask_planes = list(self.state.param.mask_planes.objects) if on else []

    # ----- summary ----------------------------------------------------------------------------------
    @param.depends("state.repo_root", "state.collection")
    def _summary_view(self):
        from .views.summary import dataset_table, summary_counts

        pn = self.pn
        try:
            inv = self.state.inventory()
        except ExplorerError as exc:
            self.state.report(str(exc))
            inv = None
        if inv is None:
            return pn.pane.Markdown("*No repository open.*")
        counts = summary_counts(inv)
        cells = [("visits", f"{counts['visits']:,}"), ("detectors", f"{counts['detectors']:,}"),
                 ("bands", " ".join(inv.bands) or "-"), ("tracts", f"{counts['tracts']:,}"),
                 ("patches", f"{counts['patches']:,}"),
                 ("sources", "-" if counts["sources"] is None else f"{counts['sources']:,}"),
                 ("sky area", f"{counts['sky_area_deg2']:,.2f} deg²"),
                 ("datasets", f"{counts['datasets']:,}"),
                 ("missing files", "not checked" if counts["missing"] is None else f"{counts['missing']:,}")]
        stat = "".join(f'<div class="stat"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cells)
        head = (f'<div class="repo-line"><b>{inv.instrument or "?"}</b> · {inv.kind} repository '
                f'<code>{inv.root}</code>' + (f' · skymap {inv.skymap}' if inv.skymap else "") + "</div>")
        css = ("<style>.stats{display:flex;flex-wrap:wrap;gap:8px}.stat{background:#f3f7f8;border-radius:6px;"
               "padding:6px 12px;min-width:90px}.stat .v{font-size:18px;font-weight:600;color:#0b3954}"
               ".stat .k{font-size:11px;color:#567}.repo-line{margin-bottom:6px;color:#333}</style>")
        html = pn.pane.HTML(css + head + f'<div class="stats">{stat}</div>', sizing_mode="stretch_width",
                            css_classes=["explorer-summary"])
        table = pn.widgets.Tabulator(dataset_table(inv), show_index=False, disabled=True, layout="fit_data_stretch",
                                     sizing_mode="stretch_width", height=min(40 + 30 * len(inv.dataset_types), 260),
                                     css_classes=["dataset-table"])
        notes = [pn.pane.Markdown("\n".join(f"- {n}" for n in inv.notes), styles={"color": "#a45"})] if inv.notes else []
        return pn.Column(html, table, *notes, sizing_mode="stretch_width")

    # ----- sky map ---------------------------------------------------------------------------------
    @param.depends("state.repo_root", "state.collection")
    def _sky_view(self):
        hv = self.hv
        from .views import sky

        idx = self.state.index
        if idx is None or not idx.tracts:
            return self.pn.pane.Markdown("*No tract holds data in this repository.*")
        regions = idx.tract_regions()
        frame = sky.sky_frame(regions.values())
        st = self.state

        def params(*names):
            return [hv.streams.Params(st, list(names))]

        # One DynamicMap per layer, each returning a single element: HoloViews links a tap stream
        # to an element-returning DynamicMap (not to one returning an Overlay), and each layer
        # then redraws only when its own parameters change.
        def tracts(sky_color):
            return sky.tract_polygons(regions, frame, idx.tract_stats(sky_color == "visits"), sky_color)

        def patches(tract):
            pregs = idx.patch_regions(tract)
            return sky.patch_polygons(pregs, frame, idx.patches(tract), tract) if pregs else \
                sky.patch_polygons({}, frame, [], -1)

        def patch_names(tract):
            return sky.patch_labels(idx.patch_regions(tract), frame, idx.patches(tract))

        def tract_outline(tract):
            return sky.outline(regions.get(tract), frame, "#1d3557", 2.5, "tract")

        def patch_outline(tract, patch):
            return sky.outline(idx.patch_regions(tract).get(patch) if patch else None, frame, "#d00000", 3.0,
                               "patch")

        def calexp_outline(visit, detector, image_kind):
            fp = idx.footprints().get((visit, detector)) if image_kind == "calexp" else None
            return sky.outline(fp, frame, "#7b2cbf", 2.5, "calexp")

        def footprints(show_footprints):
            fps = [{"vertices": v, "visit": k[0], "detector": k[1], "band": idx.visit_band.get(k[0])}
                   for k, v in idx.footprints().items()] if show_footprints else []
            return sky.footprint_polygons(fps, frame)

        tract_layer = hv.DynamicMap(tracts, streams=params("sky_color"))
        tap = hv.streams.Tap(source=tract_layer, x=None, y=None)
        tap.add_subscriber(lambda x=None, y=None: self._safe(st.select_sky, x, y))
        self._sky_tap = tap
        overlay = (tract_layer * sky.tract_labels(regions, frame)
                   * hv.DynamicMap(patches, streams=params("tract"))
                   * hv.DynamicMap(patch_names, streams=params("tract"))
                   * hv.DynamicMap(footprints, streams=params("show_footprints"))
                   * hv.DynamicMap(tract_outline, streams=params("tract"))
                   * hv.DynamicMap(patch_outline, streams=params("tract", "patch"))
                   * hv.DynamicMap(calexp_outline, streams=params("visit", "detector", "image_kind")))
        plot = sky.style_axes(overlay, frame, height=460).opts(hv.opts.Overlay(show_legend=False))
        return self.pn.pane.HoloViews(plot, linked_axes=False, sizing_mode="stretch_width", min_height=460,
                                      css_classes=["sky-plot"])

    def _safe(self, fn, *args) -> None:
        try:
            fn(*args)
        except ExplorerError as exc:
            self.state.report(str(exc))
        except Exception as exc:  # a bug in a callback must not break the page
            log.exception("callback")
            self.state.report(f"{type(exc).__name__}: {exc}")

    # ----- image -------------------------------------------------------------------------------------
    @param.depends("state.exposure_ref")
    def _image_title(self):
        exposure = self.state.exposure()
        text = self.state.describe()
        if exposure is not None and exposure.info.zero_point_mag is not None:
            text += f" · zero point {exposure.info.zero_point_mag:.3f} mag"
        return self.pn.pane.HTML(f'<div class="image-title" style="font-weight:600">{text}</div>',
                                 sizing_mode="stretch_width", margin=(0, 10))

    @param.depends("state.exposure_ref", "state.repo_root")
    def _image_view(self):
        hv, pn = self.hv, self.pn
        from .views.image import empty_image, frame_element, sources_element
        from .views.raster import full_range

        st = self.state
        exposure = st.exposure()
        if exposure is None:
            message = "nothing to show for this selection" if st.exposure_ref is None else \
                f"cannot read {st.describe()}"
            if st.exposure_ref is not None and st.error:
                message = st.error
            return pn.pane.HTML(f'<div class="image-empty" style="padding:40px;color:#a33">{message}</div>',
                                sizing_mode="stretch_width", height=200)
        fx, fy = full_range(exposure.info.shape, exposure.info.xy0)
        display = hv.streams.Params(st, ["plane", "stretch", "cmap", "mask_planes", "mask_alpha"])
        rng = hv.streams.RangeXY(x_range=fx, y_range=fy)
        size = hv.streams.PlotSize(width=800, height=800)

        def frame(x_range=None, y_range=None, width=None, height=None, **_kw):
            try:
                f = st.render_image(width=int(width or 800), height=int(height or 800),
                                    x_range=x_range, y_range=y_range)
            except Exception as exc:  # e.g. a truncated plane: say so, keep the page
                st.report(f"cannot render {st.describe()}: {exc}")
                f = None
            if f is None:
                return empty_image("cannot render", bounds=(fx[0], fy[0], fx[1], fy[1]))
            return frame_element(f)

        def sources(x_range=None, y_range=None, **_kw):
            df = self._sources() if st.show_sources else None
            if df is None or not len(df):
                return sources_element(np.zeros(0), np.zeros(0), value_name=st.column or "value")
            if x_range is not None and y_range is not None:
                inside = (df["x"].between(*sorted(x_range))) & (df["y"].between(*sorted(y_range)))
                df = df[inside]
            if len(df) > SOURCE_LIMIT:
                df = df.nlargest(SOURCE_LIMIT, "value") if df["value"].notna().any() else df.iloc[:SOURCE_LIMIT]
            return sources_element(df["x"].to_numpy(), df["y"].to_numpy(), df["id"].to_numpy(),
                                   df["value"].to_numpy(), value_name=st.column or "value")

        img = hv.DynamicMap(frame, streams=[rng, size, display])
        src_params = hv.streams.Params(st, ["catalog_ref", "show_sources", "column", "require_flags",
                                            "exclude_flags"])
        src = hv.DynamicMap(sources, streams=[hv.streams.RangeXY(source=img), src_params])
        pointer = hv.streams.PointerXY(x=None, y=None, source=img)
        pointer.add_subscriber(lambda x=None, y=None: self._update_readout(exposure, x, y))
        self._pointer = pointer
        plot = (img * src).opts(
            hv.opts.RGB(data_aspect=1, responsive=True, min_height=560, max_height=760, xlabel="x (parent pixels)",
                        ylabel="y (parent pixels)", active_tools=["wheel_zoom", "pan"],
                        toolbar="above", xlim=fx, ylim=fy),
            hv.opts.Overlay(show_legend=False))
        self.readout.object = self._readout_html(None)
        return pn.pane.HoloViews(plot, linked_axes=False, sizing_mode="stretch_width", min_height=560,
                                 css_classes=["image-plot"])

    def _sources(self) -> Optional[pd.DataFrame]:
        st = self.state
        key = (st.catalog_ref and (st.catalog_ref[0], tuple(sorted(st.catalog_ref[1].items()))), st.column,
               tuple(st.require_flags), tuple(st.exclude_flags), st.exposure_ref and st.exposure_ref[0])
        if self._sources_memo[0] != key:
            self._sources_memo = (key, st.source_positions())
        return self._sources_memo[1]

    def _update_readout(self, exposure: Optional[Exposure], x, y) -> None:
        from .views.info import pixel_readout

        try:
            info = pixel_readout(exposure, x, y) if (exposure is not None and x is not None and y is not None) else None
        except Exception:
            info = None
        self.readout.object = self._readout_html(info)

    @staticmethod
    def _readout_html(info: Optional[dict[str, Any]]) -> str:
        from .views.info import sexagesimal

        if info is None:
            return '<div class="readout" style="color:#777">move the pointer over the image: pixel, value, mask planes, RA/Dec</div>'
        parts = [f"x <b>{info['x']}</b> y <b>{info['y']}</b>", f"value <b>{info['value']:.6g}</b>"]
        if "variance" in info:
            parts.append(f"var {info['variance']:.4g}")
        if "mask_planes" in info:
            parts.append("mask " + (",".join(info["mask_planes"]) or "-"))
        line2 = ""
        if "ra" in info:
            line2 = (f"RA <b>{info['ra']:.6f}</b> Dec <b>{info['dec']:.6f}</b> "
                     f"({sexagesimal(info['ra'], info['dec'])})")
        return f'<div class="readout">{" · ".join(parts)}<br>{line2}</div>'

    # ----- histogram ---------------------------------------------------------------------------------
    @param.depends("state.catalog_ref", "state.column", "state.log_x", "state.log_y", "state.bins",
                   "state.require_flags", "state.exclude_flags")
    def _histogram_view(self):
        from .views.catalog import histogram_element

        st = self.state
        try:
            hist = st.histogram()
        except (ExplorerError, TypeError) as exc:
            st.report(str(exc))
            hist = None
        if hist is None:
            why = "no catalog goes with this image" if st.catalog_ref is None else "no numeric column chosen"
            return self.pn.pane.HTML(f'<div style="padding:30px;color:#777">{why}</div>', height=120)
        element = histogram_element(hist, logy=st.log_y).opts(responsive=True, height=330, xlabel=hist.label)
        caption = f"{st.catalog_ref[0]} " + ", ".join(f"{k}={v}" for k, v in st.catalog_ref[1].items()
                                                      if k in ("visit", "detector", "tract", "patch", "band"))
        return self.pn.Column(self.pn.pane.HoloViews(element, linked_axes=False, sizing_mode="stretch_width",
                                                     css_classes=["histogram"]),
                              self.pn.pane.HTML(f'<span class="hist-caption" style="color:#666;font-size:11px">{caption}</span>'),
                              sizing_mode="stretch_width")

    # ----- exposure information ----------------------------------------------------------------------
    @param.depends("state.exposure_ref")
    def _info_view(self):
        from .views import info as vi

        pn = self.pn
        exposure = self.state.exposure()
        if exposure is None:
            return pn.pane.HTML('<div style="padding:30px;color:#777">no exposure</div>', height=120)
        inf = exposure.info

        def table(df, **kw):
            return pn.widgets.Tabulator(df, show_index=False, disabled=True, layout="fit_data_stretch",
                                        sizing_mode="stretch_width", height=330, **kw)

        return pn.Tabs(
            ("Overview", table(vi.overview_table(inf, exposure.dataset_type, exposure.data_id))),
            ("WCS", table(vi.wcs_table(inf))),
            ("VisitInfo", table(vi.visit_info_table(inf))),
            ("Metadata", table(vi.metadata_table(inf), header_filters=True)),
            sizing_mode="stretch_width", dynamic=True)


# ----- serving ------------------------------------------------------------------------------------
def _query_from_session() -> dict[str, Any]:
    args = getattr(pn.state, "session_args", None) or {}
    return {k: (v[-1].decode("utf-8", "replace") if isinstance(v, list) and v and isinstance(v[-1], bytes) else v)
            for k, v in args.items()}


def create_app(repo: Optional[str] = None, repo_roots: Sequence[str] = (), title: str = "Repository explorer"):
    """The served page for one browser session: the query string chooses the selection, and the
    selection is written back to the URL so the view can be shared as a link."""
    query = _query_from_session()
    explorer = Explorer(repo=repo, repo_roots=repo_roots, query=query)
    state = explorer.state
    location = getattr(pn.state, "location", None)
    if location is not None:
        watched = ["repo_path", "collection", "image_kind", "band", "tract", "patch", "visit", "detector",
                   "plane", "stretch", "cmap", "mask_planes", "catalog", "column", "log_x", "log_y",
                   "sky_color", "show_footprints"]

        def push(*_events):
            from urllib.parse import urlencode

            try:
                location.search = "?" + urlencode(state.to_query())
            except Exception:  # the URL is a convenience; never break the page over it
                log.debug("could not update the URL", exc_info=True)

        state.param.watch(push, watched)
        push()
    return explorer.template(title)


def warm_up() -> None:
    """Compile the numba kernels and touch datashader once, so the first real view is fast."""
    from .views.catalog import histogram
    from .views.raster import render_plane
    from .views.stretch import compute_limits

    img = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    for mask in (np.zeros((64, 64), np.int32), np.zeros((64, 64), np.uint16)):
        mask[3, 3] = 3
        lim = compute_limits(img)
        for rng in (None, (10.0, 20.0)):  # downsampling and upsampling paths
            render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"BAD": 0, "SAT": 1},
                         ["BAD"], 0.5, rng, rng, 32, 32)
        render_plane({"image": img, "mask": mask}, (0, 0), "mask", lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                     None, None, 32, 32)
    for arr in (img.ravel(), img.ravel().astype(np.float64), np.arange(10, dtype=np.int64),
                np.arange(10, dtype=np.int32)):
        histogram(arr, bins=10)
        histogram(arr, bins=10, log=True)
