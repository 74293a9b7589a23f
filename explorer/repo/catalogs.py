"""Read catalogs as pandas DataFrames: afw.table FITS (SourceCatalog, SimpleCatalog, ExposureCatalog)
and parquet (the Butler's DataFrame and ArrowAstropy storage classes), without lsst.afw.

The afw.table FITS facts handled (flag bits, aliases, array fields, radians, byte order) are
listed in :mod:`.afw_table`.

Parquet: read with ``pyarrow.parquet``; only the requested columns are read from disk. A named
pandas index (written by the DataFrame storage class) becomes an ordinary column, so FITS and
parquet catalogs look alike; astropy metadata (ArrowAstropy) supplies units and descriptions.

The two readers are :mod:`.afw_table` and :mod:`.parquet_table`; this module picks one from the
file's first bytes (:func:`catalog_kind`) and is the one to import.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional, Sequence

import pandas as pd

from .afw_table import fits_plan, read_fits
from .catalog_columns import UnknownColumnError  # noqa: F401 - re-exported: readers' callers catch it here
from .errors import BadFileError
from .model import ColumnInfo
from .parquet_table import parquet_file, parquet_schema, read_parquet


# ----------------------------------------------------------------------------------------------
# file kind
# ----------------------------------------------------------------------------------------------
def catalog_kind(path: str) -> str:
    """``"parquet"``, ``"fits"`` or ``"fits-gz"``, from the file's first bytes (BadFileError otherwise)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise BadFileError(f"{path}: is a directory, not a catalog file") from None
    except OSError as exc:
        raise BadFileError(f"{path}: cannot read ({exc})") from None
    if not head:
        raise BadFileError(f"{path}: empty file, not a catalog")
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    if head.startswith(b"\x1f\x8b"):
        return "fits-gz"
    raise BadFileError(f"{path}: not a FITS or parquet catalog")


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def catalog_schema(path: str | os.PathLike) -> list[ColumnInfo]:
    """The columns of a catalog (after flag unpacking and array splitting), from headers/schema only."""
    path = os.fspath(path)
    kind = catalog_kind(path)
    if kind == "parquet":
        return parquet_schema(path)
    plan = fits_plan(path, kind == "fits-gz")
    return [ColumnInfo(name=c.name, dtype=c.dtype, unit=c.unit, doc=c.doc) for c in plan.columns]


def catalog_length(path: str | os.PathLike) -> int:
    """Number of rows, from NAXIS2 or the parquet footer: no rows are read."""
    path = os.fspath(path)
    kind = catalog_kind(path)
    if kind == "parquet":
        return int(parquet_file(path).metadata.num_rows)
    return fits_plan(path, kind == "fits-gz").nrows


def catalog_aliases(path: str | os.PathLike) -> dict[str, str]:
    """afw alias map (``slot_Centroid`` -> ``base_SdssCentroid``); empty for parquet."""
    path = os.fspath(path)
    kind = catalog_kind(path)
    if kind == "parquet":
        return {}
    return dict(fits_plan(path, kind == "fits-gz").aliases)


def read_catalog(path: str | os.PathLike, columns: Optional[Sequence[str]] = None) -> pd.DataFrame:
    """A catalog as a DataFrame, all columns or only ``columns`` (only those are converted/read).

    Column names may be afw aliases (``slot_PsfFlux_instFlux``) or the base name of a split
    array field (``coord`` -> ``coord_ra``, ``coord_dec``). Unknown names raise UnknownColumnError.
    ``df.attrs`` holds ``aliases``, ``units``, ``skipped_columns`` and the afw type/version.
    """
    path = os.fspath(path)
    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        columns = list(columns)
    kind = catalog_kind(path)
    if kind == "parquet":
        return read_parquet(path, columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=pd.errors.PerformanceWarning)
        return read_fits(path, kind == "fits-gz", columns)
