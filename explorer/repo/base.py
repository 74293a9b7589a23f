"""The backend-neutral interface of a data repository (Gen3 Butler or Gen2 directory layout).

Everything above the data layer (sky map, views, app, CLI) talks to a :class:`Repository` and
never to ``lsst.daf.butler`` or to Gen2 files directly. A backend implements the abstract query
methods; reading exposures and catalogs is shared here (through the one byte-bounded cache), so
both backends read pixels the same way.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Sequence

from .errors import ExplorerError, NotOnDiskError
from .model import ColumnInfo, DatasetLocation, Exposure, Inventory

if TYPE_CHECKING:  # (pandas only annotates here: the CLI's inventory need not import it, ~0.3 s)
    import pandas as pd

Progress = Optional[Callable[[str], None]]

# Dataset types the explorer knows how to show, by role. Backends report any others too.
CALEXP_TYPES = ("calexp", "initial_pvi", "pvi", "preliminary_visit_image", "visit_image")
COADD_TYPES = ("deepCoadd_calexp", "deepCoadd", "deep_coadd", "deepCoadd_image")
# Visit-level parquet tables first: they cover every detector and give their row counts from metadata.
SOURCE_TYPES = ("sourceTable_visit", "sourceTable", "source", "src", "single_visit_star")
COADD_CATALOG_TYPES = ("deepCoadd_forced_src", "deepCoadd_meas", "deepCoadd_ref", "deepCoadd_mergeDet",
                       "objectTable", "objectTable_tract", "object", "object_forced_source")
# Rubin's release names (DP1/DP2), then the older pipelines' names for the same role.
# Difference images are per visit and detector (like calexps); templates are coadds (tract, patch, band).
DIFFERENCE_TYPES = ("difference_image", "goodSeeingDiff_differenceExp", "deepDiff_differenceExp")
TEMPLATE_TYPES = ("template_coadd", "goodSeeingCoadd")
# Difference-image source and object tables (per visit, or per tract in the releases).
DIA_CATALOG_TYPES = ("dia_source", "dia_object", "dia_source_detector", "diaSourceTable_tract",
                     "diaObjectTable_tract", "goodSeeingDiff_diaSrcTable")
#: lsst.images storage classes (read by :mod:`explorer.repo.lsst_images`, whatever the file is called).
LSST_IMAGES_STORAGE_CLASSES = ("VisitImage", "DifferenceImage", "CellCoadd", "MaskedImage")


class Repository(ABC):
    """A read-only view of one data repository."""

    kind: str = "?"

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    # ----- what is there --------------------------------------------------------------------
    @abstractmethod
    def collections(self, pattern: Optional[str] = None) -> list[str]:
        """Collection names matching a glob (all when None). Gen2: the repository and its parents."""

    @abstractmethod
    def inventory(self, collections: Optional[str] = None, check_files: bool = False,
                  progress: Progress = None) -> Inventory:
        """The notebook's summary: dataset types with counts, visits, detectors, bands, tracts, area."""

    @abstractmethod
    def dataset_type_names(self) -> list[str]:
        """Names of the dataset types the repository knows."""

    @abstractmethod
    def dimensions_of(self, dataset_type: str) -> list[str]:
        """Data ID keys of a dataset type; raises UnknownDatasetTypeError."""

    @abstractmethod
    def query_data_ids(self, dataset_type: str, where: Optional[dict[str, Any]] = None,
                       collections: Optional[str] = None) -> list[dict[str, Any]]:
        """Data IDs of the datasets of a type registered in the collections, filtered by ``where``."""

    @abstractmethod
    def locate(self, dataset_type: str, data_id: dict[str, Any],
               collections: Optional[str] = None) -> DatasetLocation:
        """Where one dataset is. Raises DatasetNotFoundError / BadDataIdError; never reads the file."""

    def locate_all(self, dataset_type: str, where: dict[str, Any],
                   collections: Optional[str] = None) -> list[DatasetLocation]:
        """Where every dataset of a type matching ``where`` is (a visit's detectors, say), with
        whether each file is there. Backends answer in one registry query where they can; this
        default asks :meth:`locate` for each data ID."""
        out = []
        for data_id in self.query_data_ids(dataset_type, where, collections):
            try:
                out.append(self.locate(dataset_type, data_id, collections))
            except ExplorerError:
                continue
        return out

    # ----- selections the app offers (defaults built on query_data_ids) -----------------------
    def bands(self) -> list[str]:
        return sorted({str(d["band"]) for t in self._present(COADD_TYPES + CALEXP_TYPES)
                       for d in self.query_data_ids(t) if d.get("band") is not None})

    def tract_regions(self) -> dict[int, Any]:
        """Tract id -> (N, 2) array of RA, Dec vertices (deg) for tracts that hold data."""
        return {}

    def patch_regions(self, tract: int) -> dict[str, Any]:
        """Patch name "x,y" -> (N, 2) RA, Dec vertices (deg) for every patch of a tract."""
        return {}

    def detector_regions(self) -> dict[tuple[int, int], Any]:
        """(visit, detector) -> (N, 2) RA, Dec vertices (deg) the registry records for each
        detector of each visit (empty where the registry keeps none, as in Gen2)."""
        return {}

    # ----- scoped queries: what the index asks (defaults built on query_data_ids) ---------------
    # A registry backend (Gen3) answers each with one query scoped to the choice; the defaults
    # serve small directory-layout repositories (Gen2), where the scan is the index.
    def count_datasets(self, dataset_type: str, collections: Optional[str] = None,
                       where: Optional[dict[str, Any]] = None) -> int:
        """How many datasets of a type the collections hold (optionally matching ``where``)."""
        return len(self.query_data_ids(dataset_type, where=where, collections=collections))

    def has_datasets(self, dataset_type: str, collections: Optional[str] = None,
                     where: Optional[dict[str, Any]] = None) -> bool:
        """Whether at least one dataset of a type matches (cheaper than a count in a registry)."""
        try:
            return bool(self.query_data_ids(dataset_type, where=where, collections=collections))
        except ExplorerError:
            return False

    def distinct_values(self, dataset_type: str, keys: Sequence[str], where: Optional[dict[str, Any]] = None,
                        collections: Optional[str] = None) -> list[tuple]:
        """Distinct tuples of data ID values ``keys`` among a type's datasets matching ``where``
        (e.g. the tracts with coadds, the patches of a tract, the detectors of a visit)."""
        rows = self.query_data_ids(dataset_type, where=where, collections=collections)
        out = {tuple(d.get(k) for k in keys) for d in rows}
        return sorted((t for t in out if None not in t), key=lambda t: tuple(str(v) for v in t))

    def overlapping_detectors(self, dataset_type: str, tract: int, patch: Optional[str] = None,
                              collections: Optional[str] = None) -> Optional[list[tuple[int, int, Optional[str]]]]:
        """(visit, detector, band) of the datasets of a visit-detector type whose registry region
        overlaps the patch (or the tract): the registry's spatial join. None when the backend keeps
        no regions (Gen2): the caller then works from exposure headers."""
        return None

    def visit_regions(self, visit: int, dataset_type: Optional[str] = None,
                      collections: Optional[str] = None) -> dict[int, Any]:
        """Detector -> (N, 2) RA, Dec vertices the registry records for one visit (may be empty);
        with ``dataset_type``, only the detectors that have such a dataset in the collections."""
        regions = {d: v for (vv, d), v in self.detector_regions().items() if vv == int(visit)}
        if dataset_type:
            have = {d.get("detector") for d in self.query_data_ids(dataset_type, {"visit": int(visit)}, collections)}
            regions = {d: v for d, v in regions.items() if d in have}
        return regions

    def detector_regions_in(self, dataset_type: str, tract: int, collections: Optional[str] = None,
                            as_regions: bool = False) -> Optional[dict[tuple[int, int], Any]]:
        """(visit, detector) -> registry region vertices (``as_regions``: sphgeom regions) of a
        type's datasets overlapping a tract, in one query; None when the backend keeps no regions."""
        return None

    def visit_counts_by_tract(self) -> Optional[dict[int, int]]:
        """Tract -> number of visits overlapping it, from the registry's regions in one query;
        None when the backend cannot say (the index then counts overlaps tract by tract)."""
        return None

    def visit_bands(self, visits: Sequence[int]) -> dict[int, Optional[str]]:
        """Band of each visit, from the registry (empty where the backend cannot say)."""
        return {}

    def patch_regions_of(self, tract: int, patches: Optional[Sequence[str]] = None) -> dict[str, Any]:
        """The regions of a tract's patches (``patches``: only those, when the backend can)."""
        return self.patch_regions(tract)

    def _present(self, names: Iterable[str]) -> tuple[str, ...]:
        known = set(self.dataset_type_names())
        return tuple(n for n in names if n in known)

    def first_present(self, names: Sequence[str]) -> Optional[str]:
        present = self._present(names)
        return present[0] if present else None

    # ----- reading (shared by backends) -------------------------------------------------------
    def _existing_path(self, dataset_type: str, data_id: dict[str, Any],
                       collections: Optional[str]) -> str:
        loc = self.locate(dataset_type, data_id, collections)
        if not loc.on_disk or loc.path is None:
            where = f" (expected at {loc.path})" if loc.path else ""
            raise NotOnDiskError(
                f"{dataset_type} {format_data_id(loc.data_id)} is registered but its file is not on disk{where}")
        return loc.path

    def get_exposure(self, dataset_type: str, data_id: dict[str, Any],
                     collections: Optional[str] = None) -> Exposure:
        """An exposure (calexp, coadd, calib) read with astropy from the afw FITS layout."""
        path = self._existing_path(dataset_type, data_id, collections)
        from . import access  # noqa: E402  (readers load only once a file is really there)

        return access.open_exposure(path, dataset_type=dataset_type, data_id=data_id)

    def get_catalog(self, dataset_type: str, data_id: dict[str, Any],
                    columns: Optional[Sequence[str]] = None,
                    collections: Optional[str] = None) -> pd.DataFrame:
        """A catalog (afw SourceCatalog FITS or parquet) as a DataFrame, optionally only some columns."""
        path = self._existing_path(dataset_type, data_id, collections)
        from . import access  # noqa: E402  (readers load only once a file is really there)

        return access.read_catalog(path, columns=columns)

    def catalog_schema(self, dataset_type: str, data_id: dict[str, Any],
                       collections: Optional[str] = None) -> list[ColumnInfo]:
        """The columns of a catalog without reading its rows."""
        path = self._existing_path(dataset_type, data_id, collections)
        from . import access  # noqa: E402  (readers load only once a file is really there)

        return access.catalog_schema(path)

    def close(self) -> None:  # noqa: B027 - a no-op default: most backends hold nothing to release
        """Release registry connections."""


SOURCE_COUNT_LIMIT = 5000  # above this many catalog files, reading each header is no quick look


def count_source_rows(paths_by_type: dict[str, Sequence[Optional[str]]], say: Callable[[str], None],
                      notes: list[str]) -> Optional[int]:
    """The notebook's "number of sources": rows of the first single-visit source catalog type present.

    Only headers or parquet metadata are read, and only up to :data:`SOURCE_COUNT_LIMIT` files;
    beyond that (or with no source catalogs) the count is unknown (None) and a note says why.
    Paths that are None or absent count as unreadable.
    """
    for name in SOURCE_TYPES:
        paths = paths_by_type.get(name)
        if not paths:
            continue
        if len(paths) > SOURCE_COUNT_LIMIT:
            notes.append(f"sources not counted: {len(paths)} {name} files is more than a quick look")
            return None
        from . import access

        say(f"counting rows of {len(paths)} {name} catalogs")
        total, unreadable = 0, 0
        for path in paths:
            try:
                if not path or not os.path.exists(path):
                    raise NotOnDiskError(f"{path} is not on disk")
                total += access.catalog_length(path)
            except ExplorerError:
                unreadable += 1
        if unreadable:
            notes.append(f"sources: {unreadable} of {len(paths)} {name} catalogs could not be read")
        return total
    return None


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """A text progress bar, e.g. ``[#####---------------] 25%``, for progress lines."""
    frac = 0.0 if total <= 0 else min(1.0, done / total)
    filled = int(round(frac * width))
    return f"[{'#' * filled}{'-' * (width - filled)}] {frac:4.0%}"


def format_data_id(data_id: dict[str, Any]) -> str:
    """``{visit: 1, detector: 2}`` in the Butler's own style, for messages."""
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in data_id.items()) + "}"
