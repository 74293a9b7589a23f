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
    """What the file says about the PSF (afw archive row, or lsst.images' PSF model)."""

    kind: str  # archive class name, e.g. "GaussianPsf", "PiffPsf", "CoaddPsf"
    sigma_pixels: Optional[float] = None  # Gaussian-equivalent sigma where known
    fwhm_arcsec: Optional[float] = None
    params: dict[str, Any] = field(default_factory=dict)
    image: Optional["PsfImage"] = None  # the kernel image at the image centre, where it can be computed


@dataclass
class PsfImage:
    """One PSF image: where it was evaluated (parent pixel, or a cell) and the kernel array."""

    array: np.ndarray  # 2-D, centred, sums to ~1
    x: Optional[float] = None  # parent pixel where it was evaluated
    y: Optional[float] = None
    cell: Optional[tuple[int, int]] = None  # (i, j) = (row, column) in the cell grid, for cell PSFs


@dataclass
class MaskPlane:
    """One mask plane as the file defines it.

    ``bit`` is the bit in the mask array :class:`Exposure` returns. With one MASK HDU it is the
    file's own bit. lsst.images writes more than 31 planes as several int32 MASK HDUs, each
    numbering its planes from 0 again; the explorer combines them into one int64 array in which
    HDU ``k``'s bits follow on from the highest bit of HDU ``k - 1`` (so 36 planes use bits 0-35,
    plane 32 of the file being bit 0 of the second HDU). ``hdu`` (0 = the first MASK HDU) and
    ``hdu_bit`` say where the plane lives in the file.
    """

    name: str
    bit: int
    description: Optional[str] = None
    hdu: int = 0
    hdu_bit: Optional[int] = None


@dataclass
class CellGrid:
    """The cell grid of a cell-based coadd (``CellCoadd``), in parent (tract) pixels.

    Cell ``(i, j)`` (i: row, j: column) covers x in ``[x0 + j*cw, x0 + (j+1)*cw)`` and y in
    ``[y0 + i*ch, y0 + (i+1)*ch)`` where ``(x0, y0)`` is ``grid_origin`` and ``(cw, ch)``
    ``cell_shape[::-1]``. ``cells`` are the cells of the grid the image covers; ``missing``
    those of them that have no data (no inputs).
    """

    grid_origin: tuple[int, int]  # (x0, y0) of cell (0, 0)
    cell_shape: tuple[int, int]  # (ny, nx) pixels per cell
    grid_size: tuple[int, int]  # (rows, columns) of the whole grid (usually the patch's)
    first_cell: tuple[int, int]  # (i, j) of the first cell the image covers
    num_cells: tuple[int, int]  # (rows, columns) the image covers
    missing: list[tuple[int, int]] = field(default_factory=list)  # (i, j)
    psfs: list[PsfImage] = field(default_factory=list)  # one per present cell
    skymap: Optional[str] = None
    tract: Optional[int] = None
    patch: Optional[int] = None
    patch_index: Optional[tuple[int, int]] = None  # (x, y)
    patch_inner_bbox: Optional[tuple[int, int, int, int]] = None  # (x0, y0, width, height)

    def cell_bbox(self, i: int, j: int) -> tuple[int, int, int, int]:
        """(x0, y0, width, height) of cell (i, j) in parent pixels."""
        ch, cw = self.cell_shape
        return (self.grid_origin[0] + j * cw, self.grid_origin[1] + i * ch, cw, ch)

    def cells(self) -> list[tuple[int, int]]:
        """Every (i, j) the image covers, present or missing, row by row."""
        i0, j0 = self.first_cell
        return [(i, j) for i in range(i0, i0 + self.num_cells[0]) for j in range(j0, j0 + self.num_cells[1])]

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """(i, j) of the cell holding parent pixel (x, y)."""
        ch, cw = self.cell_shape
        return (int(math.floor((round(y) - self.grid_origin[1]) / ch)),
                int(math.floor((round(x) - self.grid_origin[0]) / cw)))

    def psf(self, i: int, j: int) -> Optional[PsfImage]:
        return next((p for p in self.psfs if p.cell == (i, j)), None)


@dataclass
class ExposureInfo:
    """Everything about an exposure except its pixels (cheap: headers, archive, JSON tree only).

    Both file formats land here: afw's (calexp, deepCoadd...) and lsst.images' (VisitImage,
    DifferenceImage, CellCoadd: ``format == "lsst.images"``).

    Sky positions: ``sky`` is the exact mapping (AST, from lsst.images' projection or afw's
    archived SkyWcs) when the file has one; ``wcs`` is the FITS WCS of the header (for lsst.images
    files and non-FITS afw WCSs an approximation, fitted when the header has none; an afw file
    without an archived SkyWcs has only its header WCS, which is then exact).
    :meth:`pixel_to_sky` and :meth:`sky_to_pixel` use the exact mapping when there is one, else
    the FITS WCS; ``sky_exact`` says which, so a readout can say "approx.".
    """

    path: str
    shape: tuple[int, int]  # (ny, nx)
    xy0: tuple[int, int]  # (x0, y0) of the parent frame, from LTV1/LTV2
    plane_hdus: dict[str, int]  # {"image": i, "mask": j, "variance": k} present planes -> HDU index
    mask_planes: dict[str, int]  # name (as written, without "MP_") -> bit (see MaskPlane for > 31 planes)
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
    # --- added for Rubin's current formats (lsst.images, exact AST WCS) ---
    format: str = "afw"  # "afw" | "lsst.images"
    kind: Optional[str] = None  # lsst.images class: "VisitImage", "DifferenceImage", "CellCoadd", ...
    sky: Any = None  # explorer.repo.ast_wcs.AstSkyMapping (exact) or None
    mask_schema: list[MaskPlane] = field(default_factory=list)  # every plane, with descriptions
    mask_hdus: list[int] = field(default_factory=list)  # HDU indices of every MASK HDU, in order
    units: dict[str, str] = field(default_factory=dict)  # plane -> unit ("nJy", "nJy2")
    summary_stats: dict[str, Any] = field(default_factory=dict)  # finite values only
    cells: Optional[CellGrid] = None  # cell coadds only
    extra_planes: dict[str, int] = field(default_factory=dict)  # other image HDUs: EXTNAME -> HDU index
    header_wcs_exact: bool = False  # the header's FITS WCS is the file's own WCS (no other stored)

    @property
    def planes(self) -> list[str]:
        return [p for p in PLANES if p in self.plane_hdus]

    @property
    def metadata_cards(self) -> int:
        return len(self.metadata)

    @property
    def has_sky(self) -> bool:
        """Whether pixel <-> sky positions are known (exactly or through the FITS WCS)."""
        return self.sky is not None or self.wcs is not None

    @property
    def sky_exact(self) -> bool:
        """True when positions come from the file's own WCS (the exact AST mapping, or a FITS WCS
        that is all the file stores), False when from a FITS approximation of another mapping."""
        return self.sky is not None or (self.header_wcs_exact and self.wcs is not None)

    def mask_descriptions(self) -> dict[str, str]:
        """Plane name -> description, where the file (or afw's defaults) gives one."""
        return {p.name: p.description for p in self.mask_schema if p.description}

    def pixel_to_sky(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """RA, Dec (deg) of LSST parent-pixel coordinates (0-based, xy0 included), as afw's pixelToSky."""
        if self.sky is not None:
            return self.sky.pixel_to_sky(x, y)
        if self.wcs is None:
            raise ValueError("this exposure has no WCS")
        x = np.asarray(x, dtype=float) - self.xy0[0]
        y = np.asarray(y, dtype=float) - self.xy0[1]
        ra, dec = self.wcs.all_pix2world(x, y, 0)
        return np.asarray(ra) % 360.0, np.asarray(dec)

    def sky_to_pixel(self, ra: Any, dec: Any) -> tuple[np.ndarray, np.ndarray]:
        """LSST parent-pixel coordinates (0-based, xy0 included) of RA, Dec in degrees."""
        if self.sky is not None:
            return self.sky.sky_to_pixel(ra, dec)
        if self.wcs is None:
            raise ValueError("this exposure has no WCS")
        x, y = self.wcs.all_world2pix(np.asarray(ra, float), np.asarray(dec, float), 0)
        return np.asarray(x) + self.xy0[0], np.asarray(y) + self.xy0[1]

    def center_sky(self) -> Optional[tuple[float, float]]:
        """RA, Dec (deg) of the centre of the pixel grid, or None without a WCS."""
        if not self.has_sky:
            return None
        ny, nx = self.shape
        ra, dec = self.pixel_to_sky(self.xy0[0] + (nx - 1) / 2.0, self.xy0[1] + (ny - 1) / 2.0)
        if not (math.isfinite(float(ra)) and math.isfinite(float(dec))):
            return None
        return float(ra), float(dec)

    def corners_sky(self) -> Optional[np.ndarray]:
        """(4, 2) RA, Dec of the outer pixel corners, counter-clockwise from (x0, y0)."""
        if not self.has_sky:
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
