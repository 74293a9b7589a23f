"""Plain data objects passed from the data-access layer to the rest of the explorer.

They hold no I/O handles and no UI state. Pixel planes of an :class:`Exposure` are loaded on first
access through a loader the backend supplies (which goes through the shared byte-bounded cache), so
asking for the image never reads the mask or variance.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import numpy as np

PLANES = ("image", "mask", "variance")


@dataclass
class DatasetTypeSummary:
    """One dataset type of a repository, as the inventory reports it."""

    name: str
    dimensions: list[str]
    storage_class: Optional[str]
    count: int
    missing: Optional[int] = None  # only when files were checked: registered but absent
    missing_ids: Optional[list[dict[str, Any]]] = None  # with missing: their data IDs, as the registry types them

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "dimensions": list(self.dimensions),
            "storage_class": self.storage_class,
            "count": int(self.count),
        }
        if self.missing is not None:
            out["missing"] = int(self.missing)
        if self.missing_ids is not None:
            out["missing_ids"] = [dict(d) for d in self.missing_ids]
        return out


@dataclass
class Inventory:
    """What a repository holds: the Stack Club notebook's summary, from registry queries."""

    kind: str  # "gen3" | "gen2"
    root: str
    collections: list[str]
    dataset_types: list[DatasetTypeSummary]
    instrument: Optional[str]
    bands: list[str]
    visits: int
    detectors: int
    tracts: list[int]
    patches: int
    sources: Optional[int]
    sky_area_deg2: float
    skymap: Optional[str] = None  # which skymap the tract geometry came from
    notes: list[str] = field(default_factory=list)  # caveats worth showing the user

    def dataset_type(self, name: str) -> Optional[DatasetTypeSummary]:
        return next((d for d in self.dataset_types if d.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "root": self.root,
            "collections": list(self.collections),
            "dataset_types": [d.to_json() for d in self.dataset_types],
            "instrument": self.instrument,
            "bands": list(self.bands),
            "visits": int(self.visits),
            "detectors": int(self.detectors),
            "tracts": [int(t) for t in self.tracts],
            "patches": int(self.patches),
            "sources": None if self.sources is None else int(self.sources),
            "sky_area_deg2": float(self.sky_area_deg2),
            "skymap": self.skymap,
            "notes": list(self.notes),
        }


@dataclass
class DatasetLocation:
    """Where one dataset lives, and whether its file is really there."""

    dataset_type: str
    data_id: dict[str, Any]
    path: Optional[str]  # local filesystem path (None when the datastore has no record)
    on_disk: bool
    storage_class: Optional[str] = None
    collection: Optional[str] = None  # Gen3 RUN collection
    component: Optional[str] = None  # e.g. an HDU selector such as "[0]" in Gen2 templates


@dataclass
class PsfModel:
    """What the afw archive says about the PSF, as far as it can be read without afw."""

    kind: str  # archive class name, e.g. "GaussianPsf", "PiffPsf", "CoaddPsf"
    sigma_pixels: Optional[float] = None  # Gaussian-equivalent sigma where known
    fwhm_arcsec: Optional[float] = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExposureInfo:
    """Everything about an afw-layout exposure except its pixels (cheap: headers and archive only)."""

    path: str
    shape: tuple[int, int]  # (ny, nx)
    xy0: tuple[int, int]  # (x0, y0) of the parent frame, from LTV1/LTV2
    plane_hdus: dict[str, int]  # {"image": i, "mask": j, "variance": k} present planes -> HDU index
    mask_planes: dict[str, int]  # name (as written, without "MP_") -> bit
    wcs: Any  # astropy.wcs.WCS or None; FITS convention (use pixel_to_sky for LSST convention)
    metadata: dict[str, Any]  # primary header cards (keyword -> value)
    visit_info: dict[str, Any]
    zero_point_mag: Optional[float]  # AB magnitude of one count
    photo_calib: Optional[dict[str, float]] = None  # {"mean": nJy/count, "err": ...}
    filter_label: Optional[dict[str, Optional[str]]] = None  # {"band", "physical"}
    detector: Optional[dict[str, Any]] = None  # {"id", "name", "serial"}
    psf: Optional[PsfModel] = None
    archive: list[dict[str, Any]] = field(default_factory=list)  # ARCHIVE_INDEX rows: id, name, ...
    compressed: bool = False
    plane_dtypes: dict[str, str] = field(default_factory=dict)

    @property
    def planes(self) -> list[str]:
        return [p for p in PLANES if p in self.plane_hdus]

    @property
    def metadata_cards(self) -> int:
        return len(self.metadata)

    def pixel_to_sky(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """RA, Dec (deg) of LSST parent-pixel coordinates (0-based, xy0 included), as afw's pixelToSky."""
        if self.wcs is None:
            raise ValueError("this exposure has no WCS")
        x = np.asarray(x, dtype=float) - self.xy0[0]
        y = np.asarray(y, dtype=float) - self.xy0[1]
        ra, dec = self.wcs.all_pix2world(x, y, 0)
        return np.asarray(ra) % 360.0, np.asarray(dec)

    def sky_to_pixel(self, ra: Any, dec: Any) -> tuple[np.ndarray, np.ndarray]:
        """LSST parent-pixel coordinates (0-based, xy0 included) of RA, Dec in degrees."""
        if self.wcs is None:
            raise ValueError("this exposure has no WCS")
        x, y = self.wcs.all_world2pix(np.asarray(ra, float), np.asarray(dec, float), 0)
        return np.asarray(x) + self.xy0[0], np.asarray(y) + self.xy0[1]

    def center_sky(self) -> Optional[tuple[float, float]]:
        """RA, Dec (deg) of the centre of the pixel grid, or None without a WCS."""
        if self.wcs is None:
            return None
        ny, nx = self.shape
        ra, dec = self.pixel_to_sky(self.xy0[0] + (nx - 1) / 2.0, self.xy0[1] + (ny - 1) / 2.0)
        if not (math.isfinite(float(ra)) and math.isfinite(float(dec))):
            return None
        return float(ra), float(dec)

    def corners_sky(self) -> Optional[np.ndarray]:
        """(4, 2) RA, Dec of the outer pixel corners, counter-clockwise from (x0, y0)."""
        if self.wcs is None:
            return None
        ny, nx = self.shape
        x0, y0 = self.xy0
        xs = np.array([x0 - 0.5, x0 + nx - 0.5, x0 + nx - 0.5, x0 - 0.5])
        ys = np.array([y0 - 0.5, y0 - 0.5, y0 + ny - 0.5, y0 + ny - 0.5])
        ra, dec = self.pixel_to_sky(xs, ys)
        return np.column_stack([ra, dec])

    def decode_mask(self, value: int) -> list[str]:
        """Names of the mask planes set in one mask pixel value."""
        value = int(value)
        return [name for name, bit in sorted(self.mask_planes.items(), key=lambda kv: kv[1])
                if value & (1 << bit)]


PlaneLoader = Callable[[str], np.ndarray]


class Exposure:
    """An exposure: its :class:`ExposureInfo` plus lazily loaded, cached pixel planes.

    Arrays are in native byte order (datashader and numba need that) and are shared between
    sessions through the cache: treat them as read-only.
    """

    def __init__(self, info: ExposureInfo, load_plane: PlaneLoader,
                 dataset_type: Optional[str] = None, data_id: Optional[dict[str, Any]] = None,
                 load_binned: Optional[Callable[[str, int], np.ndarray]] = None):
        self.info = info
        self._load_plane = load_plane
        self._load_binned = load_binned
        self.dataset_type = dataset_type
        self.data_id = dict(data_id or {})

    def plane(self, name: str) -> np.ndarray:
        if name not in self.info.plane_hdus:
            raise KeyError(f"this exposure has no {name} plane (it has {', '.join(self.info.planes)})")
        return self._load_plane(name)

    def binned(self, name: str, factor: int) -> np.ndarray:
        """The plane binned ``factor`` x ``factor`` (block means; bitwise OR for the mask), cached
        when the exposure came from the data layer; see :mod:`explorer.repo.binning`."""
        if self._load_binned is not None:
            return self._load_binned(name, int(factor))
        from .binning import bin_plane

        return bin_plane(self.plane(name), factor, is_mask=(name == "mask"))

    @property
    def image(self) -> np.ndarray:
        return self.plane("image")

    @property
    def mask(self) -> Optional[np.ndarray]:
        return self.plane("mask") if "mask" in self.info.plane_hdus else None

    @property
    def variance(self) -> Optional[np.ndarray]:
        return self.plane("variance") if "variance" in self.info.plane_hdus else None

    def __repr__(self) -> str:
        return f"Exposure({self.dataset_type or ''} {self.data_id} shape={self.info.shape} path={self.info.path!r})"


@dataclass
class ColumnInfo:
    """One catalog column, from the schema alone (no rows read)."""

    name: str
    dtype: str  # numpy dtype string, "bool" for unpacked flag bits
    unit: Optional[str] = None
    doc: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
