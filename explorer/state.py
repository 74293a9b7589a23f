"""The explorer's state: every choice a person makes, as one ``param.Parameterized`` object.

:class:`ExplorerState` holds the repository, collection, band, tract, patch, visit, detector,
plane, stretch, mask planes, catalog column, ... Selectors only offer values the repository has,
computed by a shared :class:`~explorer.views.selection.RepoIndex`. Changing one choice updates the
choices below it in one batch and then the two derived parameters ``exposure_ref`` and
``catalog_ref``; views depend on those and on their own display parameters only, so changing the
stretch re-renders the image and nothing else, and changing the histogram column recomputes the
histogram and nothing else.

No Panel here: the state works without a browser (tests, the benchmark, notebooks).
``render_image`` returns the screen-sized frame the page would show, ``histogram`` the bins,
``apply_query``/``to_query`` the URL round trip. Repositories and their indexes are shared by
every session of a process (:func:`get_repository`, :func:`get_index`).
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Optional, Sequence

import numpy as np
import pandas as pd
import param

from .paths import display_path, resolve_repo_path
from .repo import open_repo
from .repo.base import Repository
from .errors import ExplorerError
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
_REPOS: dict[Any, Repository] = {}
_INDEXES: dict[tuple[str, str, Optional[str]], RepoIndex] = {}
_REGISTRY_LOCK = threading.Lock()
_OPEN_LOCKS: dict[str, threading.Lock] = {}


def get_repository(path: str, token: Optional[str] = None) -> Repository:
    """The one :class:`Repository` object for a path, opened on first use and shared by sessions
    (a Butler server URL or index label: shared only by sessions with the same ``token``)."""
    from .repo.auth import repository_key
    from .repo.remote import is_remote_target

    remote = is_remote_target(path)
    target = path if remote else os.path.realpath(path)
    real = repository_key(target, token) if remote else target
    with _REGISTRY_LOCK:
        repo = _REPOS.get(real)
        if repo is not None:
            return repo
        lock = _OPEN_LOCKS.setdefault(real, threading.Lock())
    with lock:  # a slow open (a Butler takes ~1 s) happens once even if sessions ask at once
        with _REGISTRY_LOCK:
            if real in _REPOS:
                return _REPOS[real]
        repo = open_repo(target, token=token) if remote else open_repo(real)
        with _REGISTRY_LOCK:
            _REPOS[real] = repo
        return repo


def get_index(repo: Repository, collection: Optional[str]) -> RepoIndex:
    """The shared selector index of a repository and collection ("" or None: all collections)."""
    key = (repo.root, getattr(repo, "authority", ""), collection or None)
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

    def __init__(self, repo: Optional[str] = None, repo_roots: Sequence[str] = (),
                 token: Optional[str] = None, **params):
        super().__init__(**params)
        self.repo_roots = list(repo_roots)
        self._token = token  # for remote repositories (explorer/repo/auth.py); never a param, never shown
        self._busy = False
        # wraps each cascade (the page sets it to hold its document, so one update goes out)
        self.hold: Callable[[], ContextManager] = nullcontext
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
            repo = get_repository(real, token=self._token)
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
            with self.hold():
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
            exclude_bits = None
            mask = exposure.mask
            if mask is not None and plane != "mask":
                bad = 0
                for name in ("NO_DATA", "SAT", "BAD", "SATURATED"):
                    if name in exposure.info.mask_planes:
                        bad |= 1 << exposure.info.mask_planes[name]
                exclude_bits = (mask, bad) if bad else None
            return compute_limits(arr, exclude_bits=exclude_bits)

        try:  # a remote exposure's identity: its mirror, partitioned by token (explorer/repo/http.py)
            ident = getattr(exposure, "identity", None)
            key = ident + ("limits", plane) if ident else file_key(exposure.info.path, "limits", plane)
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
                            list(self.mask_planes), self.mask_alpha, x_range, y_range, width, height, self.cmap,
                            binned=exposure.binned)

    def mask_colors(self) -> dict[str, str]:
        exposure = self.exposure()
        return mask_plane_colors(exposure.info.mask_planes) if exposure else {}

    def catalog_frame(self, columns: Sequence[str], ref: Optional[tuple] = None) -> Optional[pd.DataFrame]:
        """Columns of the current catalog (or of ``ref``, the catalog a caller already looked at, so
        its columns and its rows come from the same file even if the selection moves meanwhile),
        rows filtered by the flags and (for visit-level tables) to the detector shown."""
        ref = ref if ref is not None else self.catalog_ref
        if ref is None:
            return None
        name, data_id = ref
        known = self._schema_names(ref)
        require = [f for f in self.require_flags if f in known]  # (flags of this catalog only)
        exclude = [f for f in self.exclude_flags if f in known]
        wanted = list(dict.fromkeys([c for c in columns if c] + require + exclude))
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
        keep = cat.filter_rows(df, require, exclude)
        if per_detector and "detector" in df.columns:
            keep &= df["detector"].to_numpy() == int(self.exposure_ref[1]["detector"])
        if not keep.all():
            df = df.loc[keep]
        return df

    def _schema_names(self, ref) -> set[str]:
        """Column names of a catalog (cached by the data layer; empty when it cannot be read)."""
        try:
            return {c.name for c in self.repo.catalog_schema(ref[0], ref[1], collections=self.collection or None)}
        except ExplorerError:
            return set()

    def histogram(self) -> Optional[cat.Histogram]:
        """Bins of the chosen column of the current catalog (flag filters applied)."""
        ref, column = self.catalog_ref, self.column
        if ref is None or not column or column not in self._schema_names(ref):
            return None  # a column of another catalog, met while the selection moves: not this one's
        df = self.catalog_frame([column], ref)
        if df is None or column not in df.columns:
            return None
        return cat.histogram(df[column].to_numpy(), column, bins=self.bins, log=self.log_x)

    def source_positions(self) -> Optional[pd.DataFrame]:
        """Sources of the current catalog in the image's parent-pixel coordinates: x, y, id, value."""
        exposure = self.exposure()
        if exposure is None or self.catalog_ref is None:
            return None
        ref = self.catalog_ref
        name, data_id = ref
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
        value_col = self.column if self.column in names else None
        cols = list(pix or sky) + ([id_col] if id_col else []) + ([value_col] if value_col else [])
        df = self.catalog_frame(cols, ref)
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
                            "value": df[value_col].to_numpy(float) if value_col in df.columns else np.nan})
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
