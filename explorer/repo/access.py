"""The cached entry points every backend uses to read files: exposures and catalogs.

Everything goes through the one shared byte-bounded cache (:mod:`explorer.repo.cache`), keyed by
the file's identity (real path, mtime, size) so a file replaced on disk is re-read:

* ``(file, "exposure_info")``: headers and archive rows (:func:`explorer.repo.fits.read_exposure_info`,
  which hands files in the lsst.images format to :mod:`explorer.repo.lsst_images`: dispatch by
  content, so a Gen3 ``VisitImage``/``CellCoadd`` dataset needs nothing from the backend);
* ``(file, "plane", name)``: one pixel plane, loaded only when asked for;
* ``(file, "binned", name, factor)``: the plane binned by a power of two, for whole-frame views;
* ``(file, "catalog", columns)``: a DataFrame; ``columns=None`` is the full catalog, and a column
  subset is served from the full catalog when that is cached (small plain FITS catalogs are read
  whole on the first request for any of their columns);
* ``(file, "catalog_schema")``, ``(file, "catalog_length")``.

Cached arrays are shared between sessions, so they are returned read-only; DataFrames are
returned as shallow copies (pandas copy-on-write keeps the cached one intact).
A path that does not exist raises :class:`NotOnDiskError` ("... not on disk").
"""
from __future__ import annotations

import os
from typing import Any, Callable, Hashable, Optional, Sequence, TypeVar

import numpy as np
import pandas as pd

from . import catalogs as _catalogs
from . import fits as _fits
from .bits import narrowest
from .cache import file_key, shared_cache, sizeof
from .errors import ExplorerError, NotOnDiskError
from .model import ColumnInfo, Exposure, ExposureInfo

T = TypeVar("T")


def _key(path: str, *what: Hashable) -> tuple:
    try:
        return file_key(path, *what)
    except FileNotFoundError:
        raise NotOnDiskError(f"{path}: file not on disk") from None
    except NotADirectoryError:
        raise NotOnDiskError(f"{path}: file not on disk (a parent is not a directory)") from None


def _cached(path: str, what: tuple, loader: Callable[[], T],
            size_of: Callable[[Any], int] = sizeof, ident: Optional[tuple] = None) -> T:
    """``loader()`` through the shared cache under the file's identity plus ``what``; ``ident``:
    that identity (``_key(path)``) when the caller has it already (it costs a realpath and a stat)."""
    def load() -> T:
        try:
            return loader()
        except FileNotFoundError:
            raise NotOnDiskError(f"{path}: file not on disk") from None

    key = ident + what if ident is not None else _key(path, *what)
    return shared_cache().get_or_load(key, load, size_of=size_of)


def _info_size(info: ExposureInfo) -> int:
    """Rough bytes held by an ExposureInfo: its header dict and archive rows dominate (a WCS ~ 10 kB),
    plus PSF images (one per cell for a cell coadd) and the AST mapping text."""
    size = sizeof(info.metadata) + sizeof(info.archive) + sizeof(info.visit_info) + 16 * 1024
    if info.psf is not None and info.psf.image is not None:
        size += info.psf.image.array.nbytes
    if info.cells is not None:
        size += sum(p.array.nbytes + 200 for p in info.cells.psfs)
    if info.sky is not None:
        size += 2 * len(getattr(info.sky, "text", "")) + 8 * 1024
    return size + 300 * len(info.mask_schema)


def exposure_info(path: str | os.PathLike) -> ExposureInfo:
    """Headers, WCS, calibration, mask planes... of an exposure file, cached (no pixels read)."""
    path = os.fspath(path)
    return _cached(path, ("exposure_info",), lambda: _fits.read_exposure_info(path), size_of=_info_size)


def read_plane(path: str | os.PathLike, plane: str) -> np.ndarray:
    """One pixel plane, cached and read-only (native byte order); a mask in the narrowest unsigned
    type that holds its values (:func:`explorer.repo.bits.narrowest`: most masks fit in ``uint8``
    or ``uint16``, a quarter or half of the ``int32`` on disk)."""
    path = os.fspath(path)

    def load() -> np.ndarray:
        arr = _fits.read_plane(path, plane, exposure_info(path))
        if plane == "mask":
            arr = narrowest(arr)
        arr.flags.writeable = False  # shared by every session through the cache
        return arr

    return _cached(path, ("plane", plane), load)


def read_binned_plane(path: str | os.PathLike, plane: str, factor: int) -> np.ndarray:
    """One plane binned ``factor`` x ``factor`` (:mod:`explorer.repo.binning`), cached, read-only."""
    from .binning import bin_plane

    path = os.fspath(path)

    def load() -> np.ndarray:
        arr = bin_plane(read_plane(path, plane), factor, is_mask=(plane == "mask"))
        arr.flags.writeable = False
        return arr

    return _cached(path, ("binned", plane, int(factor)), load)


def open_exposure(path: str | os.PathLike, dataset_type: Optional[str] = None,
                  data_id: Optional[dict[str, Any]] = None) -> Exposure:
    """An :class:`Exposure` whose planes (and their binned copies) load lazily through the cache."""
    path = os.fspath(path)
    info = exposure_info(path)
    return Exposure(info, lambda name: read_plane(path, name), dataset_type=dataset_type, data_id=data_id,
                    load_binned=lambda name, factor: read_binned_plane(path, name, factor))


# A plain FITS catalog up to this size is decoded whole, once: astropy parses every column's
# definition whatever is asked for, so reading one column at a time cost a full parse per column
# (~10% of server CPU under load, as people switch histogram columns). Parquet reads columns alone.
WHOLE_FITS_CATALOG_MAX_BYTES = 32 * 1024**2


def _read_whole(path: str, size: int) -> bool:
    """Whether a column subset of this catalog (``size`` bytes) is best served from one cached
    full read."""
    try:
        return (size <= WHOLE_FITS_CATALOG_MAX_BYTES
                and _catalogs.catalog_kind(path) == "fits")  # (not gzip: its size says nothing of its contents)
    except (OSError, ExplorerError):
        return False


def read_catalog(path: str | os.PathLike, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """A catalog as a DataFrame, cached per (file, columns); subsets come from a cached full read
    (made for small plain FITS catalogs, see WHOLE_FITS_CATALOG_MAX_BYTES). Names a full read
    cannot serve directly (afw aliases, split array fields) are read for themselves."""
    path = os.fspath(path)
    if isinstance(columns, str):
        columns = [columns]
    cols = None if columns is None else tuple(columns)
    ident = _key(path)  # (real path, mtime, size): once per call, it costs a realpath and a stat
    if cols is not None:
        full = shared_cache().get(ident + ("catalog", None))
        if full is None and _read_whole(path, ident[2]):
            try:
                full = _cached(path, ("catalog", None), lambda: _catalogs.read_catalog(path, None), ident=ident)
            except NotOnDiskError:
                raise
            except ExplorerError:  # one unreadable column must not hide the others: read just these
                full = None
        if full is not None and all(c in full.columns for c in cols):
            out = full[list(cols)].copy(deep=False)
            out.attrs = dict(full.attrs)
            return out
    df = _cached(path, ("catalog", cols), lambda: _catalogs.read_catalog(path, cols), ident=ident)
    return df.copy(deep=False)


def catalog_schema(path: str | os.PathLike) -> list[ColumnInfo]:
    """Columns of a catalog, from headers or the parquet schema (cached, no rows read)."""
    path = os.fspath(path)
    return list(_cached(path, ("catalog_schema",), lambda: _catalogs.catalog_schema(path)))


def catalog_length(path: str | os.PathLike) -> int:
    """Rows of a catalog, from NAXIS2 or the parquet footer (cached)."""
    path = os.fspath(path)
    return int(_cached(path, ("catalog_length",), lambda: _catalogs.catalog_length(path)))
