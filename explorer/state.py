"""The explorer's state: every choice a person makes, as one ``param.Parameterized`` object.

:class:`ExplorerState` holds the repository, collection, band, tract, patch, visit, detector,
plane, stretch, mask planes, catalog column, ... Selectors only offer values the repository has,
computed by the shared selector index (:mod:`explorer.shared`). Changing one choice updates the
choices below it in one batch and then the two derived parameters ``exposure_ref`` and
``catalog_ref`` (:class:`~explorer.keys.DatasetKey`); views depend on those and on their own
display parameters only, so changing the stretch re-renders the image and nothing else, and
changing the histogram column recomputes the histogram and nothing else.

No Panel and no views here: the state works without a browser (tests, the benchmark, notebooks).
``render_image`` returns the screen-sized frame the page would show (:mod:`explorer.render`),
``histogram`` the bins (:mod:`explorer.compute`), ``apply_query``/``to_query`` the URL round trip
(the table in :mod:`explorer.urlstate`).

Why this module is over 400 lines: it is one object, and most of it is the cascade (the options
each selector offers and the choice it keeps, in one batch) which only makes sense whole; the
shared repositories (:mod:`explorer.shared`), rendering (:mod:`explorer.render`), catalog
computations (:mod:`explorer.compute`) and the URL codec (:mod:`explorer.urlstate`) live elsewhere.
"""
from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Optional, Sequence

import numpy as np
import pandas as pd
import param

from . import urlstate
from .bands import band_key
from .compute import catalog as cat
from .compute.axes import is_flux_column
from .compute.columns import flux_to_ab
from .compute.sources import position_columns, source_positions, wanted_columns
from .errors import ExplorerError
from .index import VisitChoice
from .keys import DatasetKey
from .paths import display_path, resolve_repo_path
from .render.colors import default_shown, mask_plane_colors
from .render.exposure import plane_limits, render_exposure
from .render.raster import COLORMAPS, Frame
from .render.stretch import STRETCHES
from .repo.base import Repository
from .repo.model import Exposure
from .shared import _REPOS, forget_repositories, get_index, get_inventory, get_repository  # noqa: F401
from .sky.geometry import radec_to_xyz, xyz_to_radec
from .sky.predicates import find_containing, overlaps

log = logging.getLogger(__name__)

ENV_REPO = "REPO_EXPLORER_REPO"
ENV_ROOTS = "REPO_EXPLORER_REPO_ROOTS"  # os.pathsep-separated, for `panel serve apps/explorer.py`


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
# image kinds: internal keys; the buttons show what the repository calls them (its dataset types:
# visit_image and deep_coadd in DP1/DP2, calexp and deepCoadd_calexp in DC2; see RepoIndex.kind_label)
IMAGE_KINDS = ("coadd", "calexp", "difference", "template")
VISIT_KINDS = ("calexp", "difference")  # chosen by visit and detector
COADD_KINDS = ("coadd", "template")  # chosen by tract, patch and band
PLANES = ("image", "mask", "variance")
QUERY_ORDER = urlstate.QUERY_ORDER  # query-string keys, in the order a link is applied
_LEVELS = ("repo", "collection", "tract", "patch", "band", "visit", "detector", "exposure", "catalog")


class ExplorerState(param.Parameterized):
    """Everything the explorer shows, as parameters (see module docstring)."""

    repo_path = param.String(default="", doc="Repository path (relative to the first --repo-root when confined)")
    collection = param.Selector(default="", objects=[""], check_on_set=True,
                                doc="Collection to search ('' = all collections)")
    image_kind = param.Selector(default="coadd", objects=list(IMAGE_KINDS), check_on_set=True,
                                doc="Show a coadd or template (band, tract, patch), or a calexp or difference image "
                                "(visit, detector)")
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
    hist_mag = param.Boolean(default=False, doc="Histogram a flux column as AB magnitudes (nJy columns as "
                             "they are, instFlux ones with the image's zero point); other columns as they are")
    log_y = param.Boolean(default=False, doc="Logarithmic count axis")
    bins = param.Integer(default=80, bounds=(5, 400))
    require_flags = param.ListSelector(default=[], objects=[], doc="Keep only rows with these flags set")
    exclude_flags = param.ListSelector(default=[], objects=[], doc="Drop rows with these flags set")
    show_sources = param.Boolean(default=True, doc="Draw the catalog's sources on the image")

    show_footprints = param.Boolean(default=False, doc="Draw calexp footprints on the sky map")
    sky_color = param.Selector(default="bands", objects=["bands", "visits"], check_on_set=True)
    sky_note = param.String(default="", doc="What the last tap on the sky map found when it changed nothing "
                            "(a patch or place without data), for the page to say; '' otherwise")
    zoom = param.Parameter(default=None, doc="The image view (x0, x1, y0, y1) in parent pixels, or None: whole")
    # image tools (explorer/app/tools): display limits, sky axes
    limits_choice = param.Selector(default="stretch",
                                   objects=["stretch", "zscale", "99.5", "99", "95", "minmax", "manual"],
                                   check_on_set=True, doc="Display limits: the stretch's own, zscale (with contrast), "
                                   "a percentile preset, every pixel, or manual (vmin, vmax)")
    contrast = param.Number(default=0.25, bounds=(0.01, 1.0), step=0.05, doc="zscale contrast (smaller: wider)")
    vmin = param.Number(default=None, allow_None=True, doc="Manual low display limit (data units)")
    vmax = param.Number(default=None, allow_None=True, doc="Manual high display limit (data units)")
    show_grid = param.Boolean(default=False, doc="Draw the RA/Dec grid and the N/E compass over the image")
    show_cells = param.Boolean(default=True, doc="Draw a cell coadd's cell grid over the image (missing cells "
                               "crossed out)")
    marker = param.Parameter(default=None, doc="(RA, Dec) in degrees marked on the image (Go to), or None")

    # derived: what the views show (set by the cascade only, never by widgets)
    exposure_ref = param.ClassSelector(class_=DatasetKey, default=None, allow_None=True,
                                       doc="The exposure shown (a DatasetKey)")
    catalog_ref = param.ClassSelector(class_=DatasetKey, default=None, allow_None=True,
                                      doc="The catalog shown (a DatasetKey)")
    repo_root = param.String(default="", doc="Real path of the open repository")
    visit_note = param.String(default="", doc="How the visit list was chosen")
    error = param.String(default="", doc="The last problem, one line, for a notification")
    error_count = param.Integer(default=0, doc="Bumped on every error, so repeats notify too")
    regions_ds9 = param.String(default="", doc="DS9 region text imported to draw on the image (sky regions "
                               "are placed through each image's WCS)")
    # remote repositories (issue 14): a slow fetch of the planes shown, done in the background
    fetch_progress = param.String(default="", doc="How far the background fetch of the image's bytes got "
                                  "('fetching NAME: 3.1 of 12.0 MB from HOST'); '' when none is under way")

    # catalog tools (issue 17): the marked source and the selections that link image, histogram, table
    marked_source = param.Parameter(default=None, doc="The source marked on the image: (id, x, y) in parent "
                                    "pixels, or None (set by a click on a catalog table row)")
    selection_box = param.Parameter(default=None, doc="A box selected on the image: (x0, y0, x1, y1) in parent "
                                    "pixels, or None")
    selection_lasso = param.Parameter(default=None, doc="A lasso drawn on the image: (xs, ys) vertices in "
                                      "parent pixels, or None")
    selection_range = param.Parameter(default=None, doc="A range selected on the histogram: (lo, hi) on its "
                                      "axis (log10 of the column when log_x), or None")
    hats_catalog = param.String(default="", doc="The HATS catalog open in the survey-catalog panel as a link "
                                "carries it (a path as the repository box shows it, or a URL without "
                                "credentials), or ''")

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
        self._on_disk_memo: dict[DatasetKey, bool] = {}
        self._visit_disk_memo: dict[tuple, dict[int, bool]] = {}  # (repo, collection, type, visit)
        self.repo: Optional[Repository] = None
        self.index = None  # the shared selector index of the repository and collection
        # set by a page: runs a function on the page's own thread; with it, planes of a remote
        # exposure not fetched yet are fetched in the background while the page shows progress
        self.defer: Optional[Callable[[Callable[[], None]], None]] = None
        self._fetching: set = set()
        self._fetch_failed: set = set()
        if repo is not None:
            self.repo_path = repo  # triggers _on_repo_path

    # ----- errors ------------------------------------------------------------------------------
    def report(self, message: str) -> None:
        """Record a problem for the page to show; never raises."""
        log.info("explorer: %s", message)
        self.param.update(error=" ".join(str(message).split()), error_count=self.error_count + 1)

    def selection_works(self) -> bool:
        """Whether the image shown reads and its catalog (if any) has columns."""
        if self.exposure() is None:
            return False
        return self.catalog_ref is None or bool(self._schema_names(self.catalog_ref))

    def clear_problem(self) -> None:
        """Forget the last problem (the page hides it)."""
        self.error = ""

    # ----- repository and collection ------------------------------------------------------------
    @param.depends("repo_path", watch=True)
    def _on_repo_path(self) -> None:
        if self._busy:
            return
        self.open(self.repo_path, typed=True)

    def open(self, path: str, typed: bool = False) -> bool:
        """Open a repository (confined to the roots, if any); on failure keep the current one.

        ``typed``: the path was typed in the repository box; a refused one then stays in the box
        to be corrected (a path from a link is replaced by the open repository's).
        """
        previous = self.repo_root
        try:
            real = resolve_repo_path(path, self.repo_roots)
            repo = get_repository(real, token=self._token)
            index = get_index(repo, None)
        except Exception as exc:  # (a backend bug, too, must not take the page down)
            if isinstance(exc, ExplorerError):
                self.report(str(exc))
            else:
                log.exception("opening %s", path)
                self.report(f"cannot open {path}: {type(exc).__name__}: {exc}")
            if not typed:
                self._set_quietly(repo_path=self.open_path() if previous else "")
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

    def open_path(self) -> str:
        """The open repository as the repository box shows it (relative to the first root, if any)."""
        return display_path(self.repo_root, self.repo_roots) if self.repo_root else ""

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

    @param.depends("detector", watch=True)
    def _on_detector(self) -> None:
        if not self._busy:
            self._cascade("exposure")

    @param.depends("image_kind", watch=True)
    def _on_kind(self) -> None:
        previous, self._kind_before = getattr(self, "_kind_before", "coadd"), self.image_kind
        if not self._busy:
            self._cascade(self._kind_level(previous, self.image_kind))

    @staticmethod
    def _kind_level(old: Any, new: Any) -> str:
        """Where the cascade starts when the image kind changes: between the coadd and the calexp
        only the exposure changes; a difference image or template exists for fewer visits and
        patches, so the selection is chosen again among those that have one."""
        return "exposure" if {old, new} <= {"coadd", "calexp"} else "tract"

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
        count = self.error_count
        try:
            with self.hold():
                self._cascade_unsafe(level)
            if self.error and self.error_count == count and self.selection_works():
                self.clear_problem()  # this selection works: the last one's problem is over
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
            kinds = idx.kinds()
            if kinds:  # the buttons name each kind as the repository does
                objects["image_kind"] = {idx.kind_label(k): k for k in kinds}
            if kinds and self.image_kind not in kinds:
                values["image_kind"] = kinds[0]
        if start <= _LEVELS.index("patch"):
            patch = choose("patch", idx.patches(tract), patch)
        kind = values.get("image_kind", self.image_kind)
        if start <= _LEVELS.index("tract") and kind in COADD_KINDS:
            # the first page shows a picture: defaults among what exists together
            found = idx.nearest_coadd(kind, tract, patch, band)
            if found is not None and found != (tract, patch, band):
                tract, patch, band = found
                values.update(tract=tract, patch=patch, band=band)
                objects["patch"] = idx.patches(tract)
        if start <= _LEVELS.index("visit"):
            choice = idx.choose_visits(tract, patch, band)
            if (start <= _LEVELS.index("tract") and choice.visits
                    and self._lies_elsewhere(choice.visits[0], tract, patch)):
                home = self._home_of(choice.visits[0])  # a first page with calexps only: go where they are
                if home is not None and values.get("image_kind", self.image_kind) == "calexp":
                    tract, patch = values["tract"], values["patch"] = home
                    objects["patch"] = idx.patches(tract)
                    choice = idx.choose_visits(tract, patch, band)
            if choice.visits and self._lies_elsewhere(choice.visits[0], tract, patch):
                # never a calexp from elsewhere under this tract and patch (issue 11 item 4): none
                choice = VisitChoice([], f"no calexp overlaps tract {tract} patch {patch}: choose another "
                                     "(the sky map's calexp footprints show where they are)")
            if kind in VISIT_KINDS and kind != "calexp":  # only the visits that have this kind of image
                having = set(idx.kind_visits(kind))
                label = idx.kind_label(kind)
                kept = [v for v in choice.visits if v in having]
                choice = (type(choice)(kept, f"{choice.note}, with a {label}") if kept else
                          type(choice)(sorted(having), f"every visit with a {label}"))
            visit = choose("visit", choice.visits, visit)
            values["visit_note"] = choice.note
            shown_band = idx.visit_band.get(visit) if visit is not None else None
            if (kind in VISIT_KINDS and shown_band and shown_band != band
                    and shown_band in objects.get("band", self.param.band.objects)):
                # the band buttons follow the calexp shown, never contradict it (issue 11 item 4)
                band = values["band"] = shown_band
                values["visit_note"] = f"{choice.note} (band {shown_band}: the visit's)"
        if start <= _LEVELS.index("detector"):
            dets = idx.detectors(visit) if kind not in VISIT_KINDS else idx.kind_detectors(kind, visit)
            image_type = idx.kind_type(kind) if kind in VISIT_KINDS else idx.calexp_type

            def image_id(v, d):
                return idx.kind_id(kind, visit=v, detector=d) if kind in VISIT_KINDS else idx.calexp_id(v, d)

            known = self._detectors_on_disk(image_type, visit, dets, image_id)

            def on_disk(d) -> bool:
                return known[int(d)] if int(d) in known else self._on_disk(image_type, image_id(visit, d))
            if detector not in dets and dets:
                # a default: a detector on disk, overlapping the chosen patch if one does
                region = None
                if tract is not None:
                    region = idx.patch_regions(tract).get(patch) if patch else idx.tract_regions().get(tract)
                fps = idx.footprints()
                over = [d for d in dets
                        if region is not None and (visit, d) in fps and overlaps(fps[(visit, d)], region)]
                present = [d for d in dets if on_disk(d)]
                ranked = [d for d in over if d in present] or present or over
                detector = ranked[0] if ranked else detector
            detector = choose("detector", dets, detector)
            absent = {d for d in dets if not on_disk(d)}
            if absent:  # the list says which are registered but not on disk
                objects["detector"] = {(f"{d} (not on disk)" if d in absent else str(d)): d for d in dets}

        if kind == "coadd":
            ref = DatasetKey.maybe(idx.coadd_type, idx.coadd_id(tract, patch, band))
        elif kind == "calexp":
            ref = DatasetKey.maybe(idx.calexp_type, idx.calexp_id(visit, detector))
        else:
            ref = DatasetKey.maybe(idx.kind_type(kind), idx.kind_id(kind, tract, patch, band, visit, detector))
        if ref != self.exposure_ref or start <= _LEVELS.index("exposure"):
            values["exposure_ref"] = ref
            self._update_mask_options(ref, objects, values)
        # the catalog that goes with the image
        catalog = values.get("catalog", self.catalog)
        cat_types = idx.catalog_types_for(ref.dataset_type) if ref else []
        catalog = choose("catalog", cat_types, catalog)
        cat_ref = DatasetKey.maybe(catalog, idx.catalog_id(catalog, ref.data_id)) if ref and catalog else None
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
                schema = self._schema(cat_ref)
                numeric, flags = cat.numeric_columns(schema), cat.flag_columns(schema)
            except ExplorerError as exc:
                self.report(str(exc))
        objects["column"] = numeric
        band = (cat_ref.get("band") if cat_ref else None) or self.band
        current = values.get("column", self.column)
        values["column"] = current if current in numeric else cat.default_column(numeric, band)
        objects["require_flags"] = flags
        objects["exclude_flags"] = flags
        req = [f for f in self.require_flags if f in flags]
        if not req and not self.require_flags:
            req = [f for f in cat.DEFAULT_REQUIRE if f in flags]
        values["require_flags"] = req
        values["exclude_flags"] = [f for f in self.exclude_flags if f in flags]

    def _lies_elsewhere(self, visit: Any, tract: Any, patch: Any) -> bool:
        """Whether a visit's calexps are known to miss the patch (or, without one, the tract):
        the visit overlaps none of it and its footprints are known (so unknown is not "elsewhere")."""
        idx = self.index
        if visit is None or tract is None:
            return False
        region = idx.patch_regions(tract).get(patch) if patch else idx.tract_regions().get(tract)
        if region is None or visit in idx.visits_overlapping(tract, patch or None):
            return False
        return bool(idx.visit_footprints(visit))

    def _home_of(self, visit: Any) -> Optional[tuple[int, str]]:
        """The offered (tract, patch) holding the centre of one of a visit's calexps, or None."""
        idx = self.index
        regions = {t: r for t, r in idx.tract_regions().items() if t in set(idx.tracts)}
        for corners in idx.visit_footprints(visit).values():
            c = np.asarray(corners, float)
            ra, dec = (float(v) for v in xyz_to_radec(radec_to_xyz(c[:, 0], c[:, 1]).mean(axis=0)))
            tract = find_containing(regions, ra, dec)
            if tract is None:
                continue
            patch = find_containing({p: idx.patch_regions(tract).get(p) for p in idx.patches(tract)}, ra, dec)
            if patch is not None:
                return int(tract), patch
        return None

    # ----- data the views need --------------------------------------------------------------------
    def _detectors_on_disk(self, dataset_type: Optional[str], visit: Any, dets: list, image_id) -> dict:
        """Detector -> whether its file is there, for one visit: one batched question to the data
        layer (:meth:`~explorer.repo.base.Repository.locate_all`), remembered per visit, rather than
        a registry query per detector (189 of them on LSSTCam). ``{}`` when it cannot be asked."""
        if not dataset_type or visit is None or not dets:
            return {}
        key = (self.repo_root, self.collection, dataset_type, visit)
        if key not in self._visit_disk_memo:
            common = {k: v for k, v in (image_id(visit, dets[0]) or {}).items() if k != "detector"}
            try:
                self._visit_disk_memo[key] = {
                    int(loc.data_id["detector"]): loc.on_disk for loc in self.repo.locate_all(
                        dataset_type, common, collections=self.collection or None) if "detector" in loc.data_id}
            except ExplorerError:
                self._visit_disk_memo[key] = {}
            while len(self._visit_disk_memo) > 256:
                self._visit_disk_memo.pop(next(iter(self._visit_disk_memo)))
        return self._visit_disk_memo[key]

    def _on_disk(self, dataset_type: Optional[str], data_id: Optional[dict]) -> bool:
        """Whether a dataset's file is there (asked of the data layer once per dataset and state)."""
        if not dataset_type or not data_id:
            return False
        key = DatasetKey.of(dataset_type, data_id)
        if key not in self._on_disk_memo:
            try:
                self._on_disk_memo[key] = bool(self.repo.locate(dataset_type, data_id,
                                                                collections=self.collection or None).on_disk)
            except ExplorerError:
                self._on_disk_memo[key] = False
            if len(self._on_disk_memo) > 4096:
                self._on_disk_memo.pop(next(iter(self._on_disk_memo)))
        return self._on_disk_memo[key]

    def _load_exposure(self, ref: Optional[DatasetKey], report: bool = False) -> Optional[Exposure]:
        if ref is None:
            return None
        key = (self.repo_root, ref)
        cached_key, cached = self._exposure_cache
        if cached_key == key:
            return None if self._fetch_in_background(key, cached) else cached
        try:
            exposure = self.repo.get_exposure(ref.dataset_type, ref.data_id, collections=self.collection or None)
        except ExplorerError as exc:
            if report:
                self.report(str(exc))
            exposure = None
        self._exposure_cache = (key, exposure)
        return None if self._fetch_in_background(key, exposure) else exposure

    def exposure(self) -> Optional[Exposure]:
        """The exposure the selection names (None when nothing is selected or it cannot be read)."""
        return self._load_exposure(self.exposure_ref)

    def limits(self, exposure: Exposure, plane: str):
        """Full-frame stretch limits of a plane, computed once per file and plane."""
        return plane_limits(exposure, plane)

    def fetching(self) -> bool:
        """Whether the shown exposure's bytes are being fetched in the background (see ``fetch_progress``)."""
        current = (self.repo_root, self.exposure_ref)
        return any(job[0] == current for job in list(self._fetching))

    def _fetch_in_background(self, key: Any, exposure: Optional[Exposure]) -> bool:
        """True while the planes the page shows of a remote exposure are fetched in a background
        thread (bytes not fetched yet, a page that set :attr:`defer`, a fetch that took more than
        a second): until then the exposure reads as None to every view (nothing on the page blocks
        on the network), ``fetch_progress`` says how far the fetch got, and when it ends
        ``exposure_ref`` is triggered so every view takes the exposure. A failed fetch is not
        retried in the background: the views then read in the foreground and say what fails."""
        missing = getattr(exposure, "missing_bytes", None)
        defer = self.defer
        if defer is None or missing is None:
            return False
        wanted = tuple(dict.fromkeys([self.plane if self.plane in PLANES else "image"]
                                     + (["mask"] if self.mask_planes else [])))
        job = (key, wanted)
        if job in self._fetching:
            return True
        if job in self._fetch_failed:
            return False
        planes = [p for p in wanted if missing(p)]
        if not planes:
            return False
        import threading

        from .repo.http import PROGRESS_AFTER, reporting_to

        self._fetching.add(job)
        lock, waiting, outcome = threading.Lock(), [True], []

        def shown() -> bool:
            return (self.repo_root, self.exposure_ref) == key

        def say(message: str) -> None:  # (an exposure left behind goes on fetching, silently)
            defer(lambda: setattr(self, "fetch_progress", message) if shown() else None)

        def done() -> None:
            self._fetching.discard(job)
            if outcome and outcome[0]:
                self._fetch_failed.add(job)
            if shown():
                self.fetch_progress = ""
                self.param.trigger("exposure_ref")  # every view takes the exposure now

        def work() -> None:
            failed = False
            try:
                with reporting_to(say):
                    for plane in planes:
                        exposure.fetch(plane)
            except Exception:
                failed = True
            with lock:
                outcome.append(failed)
                late = not waiting[0]
            if late:  # the page stopped waiting and shows progress: tell it the bytes are here
                defer(done)

        worker = threading.Thread(target=work, daemon=True, name="explorer-fetch")
        worker.start()
        worker.join(PROGRESS_AFTER)  # a quick fetch: no placeholder, the views read it now
        with lock:
            waiting[0] = False
            quick = bool(outcome)
        if quick:
            self._fetching.discard(job)
            return False  # (a failed one: the views read in the foreground and say what fails)
        return True

    def render_image(self, width: int = 800, height: int = 800, x_range: Optional[Sequence[float]] = None,
                     y_range: Optional[Sequence[float]] = None) -> Optional[Frame]:
        """The current plane rendered at screen resolution (the page's image, without a browser).

        Returns a :class:`~explorer.render.raster.Frame` (``rgba`` (h, w, 4) uint8 rows bottom to
        top, ``values`` the downsampled plane, ``x_range``/``y_range`` in parent pixels), or None
        when nothing is selected or the exposure cannot be read.
        """
        exposure = self.exposure()
        if exposure is None:
            return None
        return render_exposure(exposure, self.plane, self.stretch, self.cmap, self.mask_planes, self.mask_alpha,
                               width, height, x_range, y_range, value_range=self.display_range(exposure))

    @param.depends("limits_choice", watch=True)
    def _on_limits_choice(self) -> None:
        if self.limits_choice != "manual" and (self.vmin is not None or self.vmax is not None):
            self.param.update(vmin=None, vmax=None)  # typed limits belong to "manual" only

    def display_range(self, exposure: Optional[Exposure] = None) -> Optional[tuple[float, float]]:
        """The (low, high) data values the limits choice maps to black and white, or None when the
        stretch's own limits apply (see :mod:`explorer.render.display_limits`)."""
        from .render.display_limits import limits_for_choice

        exposure = exposure if exposure is not None else self.exposure()
        if exposure is None or self.limits_choice == "stretch" or self.plane == "mask":
            return None
        try:
            return limits_for_choice(exposure, self.plane, self.limits_choice, self.contrast, self.vmin, self.vmax)
        except ExplorerError:  # unusable manual limits: the stretch's own (the colour bar says why)
            return None

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
        name, data_id = ref.dataset_type, ref.data_id
        known = self._schema_names(ref)
        require = [f for f in self.require_flags if f in known]  # (flags of this catalog only)
        exclude = [f for f in self.exclude_flags if f in known]
        wanted = list(dict.fromkeys([c for c in columns if c] + require + exclude))
        per_detector = (self.exposure_ref is not None and self.exposure_ref.get("detector") is not None
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
        flagged = cat.filter_rows(df, require, exclude)
        mine = np.ones(len(df), dtype=bool)  # the rows of the image shown
        if per_detector and "detector" in df.columns:
            mine = df["detector"].to_numpy() == int(self.exposure_ref.get("detector"))
        keep = flagged & mine
        filtered_out = int(np.count_nonzero(mine & ~flagged))
        if not keep.all():
            df = df.loc[keep]
        df.attrs["filtered_out"] = filtered_out  # (the histogram's title counts them)
        return df

    def _schema(self, ref: DatasetKey):
        """A catalog's columns (cached by the data layer); raises ExplorerError."""
        return self.repo.catalog_schema(ref.dataset_type, ref.data_id, collections=self.collection or None)

    def _schema_names(self, ref: DatasetKey) -> set[str]:
        """Column names of a catalog (empty when it cannot be read)."""
        try:
            return {c.name for c in self._schema(ref)}
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
        values, log, magnitudes = self.axis_values(df[column].to_numpy(), column)
        hist = cat.histogram(values, column, bins=self.bins, log=log)
        hist.filtered_out = int(df.attrs.get("filtered_out", 0))
        hist.magnitudes = magnitudes
        return hist

    def axis_values(self, values: np.ndarray, column: str) -> tuple[np.ndarray, bool, bool]:
        """A column's values as the histogram's axis shows them: ``(values, log, magnitudes)``, the
        values to bin (or select a range of), whether the binning takes their log10, and whether
        they are AB magnitudes (a flux column with :attr:`hist_mag`; instrumental fluxes need the
        image's zero point, without one they have no magnitude: NaN)."""
        if self.hist_mag and is_flux_column(column):
            exposure = self.exposure()
            zero_point = exposure.info.zero_point_mag if exposure is not None else None
            return np.asarray(flux_to_ab(np.asarray(values, float), column, zero_point), float), False, True
        return values, self.log_x, False

    def source_positions(self) -> Optional[pd.DataFrame]:
        """Sources of the current catalog in the image's parent-pixel coordinates: x, y, id, value."""
        exposure = self.exposure()
        ref = self.catalog_ref
        if exposure is None or ref is None:
            return None
        try:
            cols = position_columns(self._schema(ref), self.column)
        except ExplorerError as exc:
            self.report(str(exc))
            return None
        if cols is None:
            return None
        df = self.catalog_frame(wanted_columns(cols), ref)
        if df is None:
            return None
        return source_positions(exposure.info, df, cols)

    # ----- sky map -------------------------------------------------------------------------------
    def select_sky(self, ra: float, dec: float) -> None:
        """A tap on the sky map at (RA, Dec): select the patch under it, or else the tract.

        A tap on a patch (or a place) without data changes nothing and says so in
        :attr:`sky_note` (information, not a problem); a tap that selects clears it."""
        if self.index is None or ra is None or dec is None:
            return
        ra = float(ra) % 360.0
        self.sky_note = ""
        if self.tract is not None:
            hit = find_containing({p: self.index.patch_regions(self.tract).get(p)
                                   for p in self.index.patches(self.tract)}, ra, dec)
            if hit is not None:
                if hit != self.patch:
                    self.patch = hit
                return
        tract = find_containing(self.index.tract_regions(), ra, dec)
        if tract is None or tract == self.tract:
            self.sky_note = self._no_data_note(tract if tract is not None else self.tract, ra, dec)
            return
        patch = find_containing({p: self.index.patch_regions(tract).get(p) for p in self.index.patches(tract)},
                                ra, dec)
        busy, self._busy = self._busy, True
        try:
            self.param.patch.objects = self.index.patches(tract)
            if patch is None:
                patch = self._keep(None, self.index.patches(tract))
            self.param.update(tract=tract, patch=patch)
        finally:
            self._busy = busy
        self._cascade("visit")

    def _no_data_note(self, tract: Optional[int], ra: float, dec: float) -> str:
        """Why a tap at (RA, Dec) selected nothing: the patch of ``tract`` there holds no data."""
        empty = find_containing(self.index.patch_regions(tract), ra, dec) if tract is not None else None
        if empty is None:
            return f"no tract with data at RA {ra:.3f}, Dec {dec:.3f}: the selection is unchanged"
        return f"patch {empty} of tract {tract} has no data: the selection is unchanged"

    # ----- URL query -----------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """The selection as URL query parameters (what differs from the defaults; see urlstate)."""
        q: dict[str, str] = {}
        for f in urlstate.FIELDS:
            value = self.open_path() if f.key == "repo" else getattr(self, f.param)
            if f.key == "masks" and self._user_masks is None:
                continue  # the defaults of each exposure, not a choice
            if value is None or value == "" or (f.default is not None and urlstate.is_default(f, value)):
                continue
            q[f.key] = urlstate.encode(f, value)
        return q

    def apply_query(self, query: dict[str, Any]) -> list[str]:
        """Apply URL query parameters in dependency order; returns the problems.

        Unknown values are refused and the current choice kept, so a stale link still opens a
        working page; every refused value is named in one report. A link's visit (and detector)
        wins over the defaults: it is shown even when it does not overlap the default patch.
        """
        q = urlstate.normalise(query)
        problems: list[str] = []
        refuse = problems.append

        if q.get("repo"):
            if not self.open(q["repo"]):
                return [self.error]
        elif self.index is None and self.repo_path:
            self.open(self.repo_path)
        if self.index is None:
            return problems
        if "kind" not in q and ("visit" in q or "detector" in q) and self.index.calexps:
            q["kind"] = "calexp"  # a link to a visit is a link to its calexp
        if "kind" in q:  # a kind may be named as the repository names it (kind=visit_image, difference_image)
            q["kind"] = self.index.kind_of_type(q["kind"]) or q["kind"]
        for f in urlstate.FIELDS:
            if f.key not in q or f.key == "repo":
                continue
            try:
                value = urlstate.decode(f, q[f.key])
            except ValueError as exc:
                refuse(str(exc))
                continue
            if f.key == "visit":
                self._offer_visit(value)
            if f.choice:
                offered = list(self.param[f.param].objects)
                if isinstance(self.param[f.param].objects, dict):
                    offered = list(self.param[f.param].objects.values())
                if value not in offered:
                    shown = ", ".join(str(o) for o in offered[:20]) or "none"
                    refuse(f"{f.key} {q[f.key]!r} is not available here (choices: {shown})")
                    continue
                if f.level is not None:
                    level = self._kind_level(self.image_kind, value) if f.key == "kind" else f.level
                    self._set_quietly(**{f.param: value})
                    if f.key == "kind":
                        self._kind_before = value
                    self._cascade(level)
                else:
                    setattr(self, f.param, value)
            elif f.key == "masks":
                self._user_masks = set(value)
                self.mask_planes = [m for m in self.param.mask_planes.objects if m in self._user_masks]
            elif f.codec == "list":
                known = list(self.param[f.param].objects)
                unknown = [v for v in value if v not in known]
                if unknown:
                    refuse(f"no flag {', '.join(unknown)} in the {self.catalog or 'current'} catalog")
                setattr(self, f.param, [v for v in value if v in known])
            else:
                setattr(self, f.param, value)
        if problems:
            self.report(("this link has stale values: " if len(problems) > 1 else "") + "; ".join(problems))
        return problems

    def _offer_visit(self, visit: Any) -> None:
        """Make a visit the repository has selectable, whatever the current tract, patch and band:
        its band follows it, and it is added to the visit list when it overlaps none of them."""
        idx = self.index
        if not isinstance(visit, int) or visit in self.param.visit.objects or not idx.detectors(visit):
            return
        band = idx.visit_band.get(visit)
        if band is not None and band != self.band and band in self.param.band.objects:
            self._set_quietly(band=band)
            self._cascade("visit")
        home = self._home_of(visit) if visit not in self.param.visit.objects else None
        if home is not None:  # the tract and patch follow the linked visit (issue 11 item 4)
            self.param.patch.objects = idx.patches(home[0])
            self._set_quietly(tract=home[0], patch=home[1])
            self._cascade("visit")
        if visit not in self.param.visit.objects:
            self.param.visit.objects = sorted(list(self.param.visit.objects) + [visit])
            self._set_quietly(visit_note=f"visit {visit} from the link (it does not overlap tract {self.tract}"
                              f" patch {self.patch})")

    # ----- summary ---------------------------------------------------------------------------------
    def inventory(self, check_files: Optional[bool] = None):
        """The repository's inventory for the chosen collection (files checked for small repos)."""
        if self.repo is None:
            return None
        if check_files is None:
            quick = get_inventory(self.repo, self.collection or None, False)
            check_files = sum(d.count for d in quick.dataset_types) <= CHECK_FILES_LIMIT
            if not check_files:
                return quick
        return get_inventory(self.repo, self.collection or None, check_files)

    def describe(self) -> str:
        """One line naming what the image shows."""
        ref = self.exposure_ref
        if ref is None:  # (in calexp mode the visit note says why: no calexp overlaps the patch, ...)
            return self.visit_note if self.image_kind in VISIT_KINDS and self.visit_note else "nothing selected"
        dt = ref.dataset_type
        if self.image_kind in COADD_KINDS:
            return f"{dt} tract {self.tract} patch {self.patch} band {self.band}"
        band = ref.get("band") or ""
        return f"{dt} visit {self.visit} detector {self.detector}" + (f" ({band})" if band else "")


CHECK_FILES_LIMIT = 20000  # datasets: above this, the summary does not stat every file


def sorted_bands(bands) -> list[str]:
    return sorted(bands, key=band_key)
