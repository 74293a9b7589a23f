"""afw.table FITS catalogs (SourceCatalog, SimpleCatalog, ExposureCatalog) read without lsst.afw.

A column plan is made from the header alone (:func:`fits_plan`), so a schema or a row count costs
no data; the requested columns are then converted from the binary table (:func:`read_fits`).
:mod:`.catalogs` is the public entry point (it picks this reader or :mod:`.parquet_table`).

afw.table FITS facts handled (seen in real files):

* The catalog is the first binary table (``AFW_TYPE='SOURCE'|'SIMPLE'|'EXPOSURE'``); archive HDUs
  (footprints, WCSs of an ExposureCatalog) follow it and are not read.
* All Flag fields share one bit-packed column (``TFORM='nX'``) whose bit ``n-1`` is named by
  ``TFLAGn`` (documented by ``TFDOCn``): it is unpacked into one boolean column per flag.
* Repeated ``ALIAS='alias:target'`` cards map a prefix to another (``slot_Centroid`` ->
  ``base_SdssCentroid``); they are kept in ``df.attrs["aliases"]`` and column requests may use them.
* Fixed-size array fields (``TFORM='2D'`` etc.: v0 ``coord``, Points, Moments, covariances,
  ``raCorners``) are split into scalar columns: ``_ra/_dec`` for Coord, ``_x/_y`` for Point,
  ``_xx/_yy/_xy`` for Moments, ``_0.._n-1`` otherwise. Variable-length fields (``P``/``Q``:
  HeavyFootprint pixels and spans) are skipped; they are listed in ``df.attrs["skipped_columns"]``.
* ``coord_ra``/``coord_dec`` stay in **radians**, as stored (``TUNIT='rad'``); nothing is converted.
* ``AFW_TABLE_VERSION`` 1 names errors ``*Sigma``, version 2+ ``*Err``; names are returned as written.
* Values are big-endian on disk and returned in native byte order (``TZERO``/``TSCAL`` applied).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .catalog_columns import clean_text as _str
from .catalog_columns import UnknownColumnError
from .catalog_columns import unknown_column as _unknown
from .errors import BadFileError
from .fitsio import check_complete, fits_errors  # one place turns astropy's failures into BadFileError

MAX_HDUS = 64


# ----------------------------------------------------------------------------------------------
# afw.table FITS: the column plan, from the header alone
# ----------------------------------------------------------------------------------------------
_TFORM_RE = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])(.*)$")
_NUMPY_OF = {"L": "bool", "B": "uint8", "I": "int16", "J": "int32", "K": "int64", "E": "float32",
             "D": "float64", "C": "complex64", "M": "complex128"}
_SUFFIXES = {"Coord": ("ra", "dec"), "Point": ("x", "y"), "Moments": ("xx", "yy", "xy")}
_BYTES_OF = {"L": 1, "B": 1, "A": 1, "I": 2, "J": 4, "K": 8, "E": 4, "D": 8, "C": 8, "M": 16, "P": 8, "Q": 16}


def _field_bytes(code: str, repeat: int) -> int:
    """Bytes a field takes in each row (X packs 8 flags per byte; P/Q are heap descriptors)."""
    if code == "X":
        return -(-repeat // 8)
    if code in "PQ":
        return _BYTES_OF[code]
    return repeat * _BYTES_OF[code]


@dataclass
class _Out:
    """One output column: where its values come from."""

    name: str
    field: str  # FITS field (TTYPE)
    kind: str  # "scalar" | "element" | "flag" | "string"
    index: int = 0  # element of an array field, or bit of the flag field
    dtype: str = "float64"
    unit: Optional[str] = None
    doc: Optional[str] = None


@dataclass
class FitsPlan:
    """Where every output column of an afw.table catalog comes from, read from the header alone."""

    path: str
    hdu_index: int
    nrows: int
    columns: list[_Out]
    fields: dict[str, tuple[str, int]]  # TTYPE -> (type code, repeat)
    scaling: dict[str, tuple[float, float]]  # TTYPE -> (TZERO, TSCAL)
    aliases: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def by_name(self) -> dict[str, _Out]:
        """Output column name -> its plan."""
        return {c.name: c for c in self.columns}


def _open_fits(path: str, gz: bool):
    from astropy.io import fits

    return fits.open(path, memmap=not gz, lazy_load_hdus=True, mode="readonly")


def _table_hdu(hdus: list) -> Optional[int]:
    from astropy.io import fits

    tables = [i for i, h in enumerate(hdus) if isinstance(h, fits.BinTableHDU)]
    for i in tables:
        if hdus[i].header.get("AFW_TYPE"):
            return i
    for i in tables:
        if str(hdus[i].header.get("EXTTYPE", "")).strip() not in ("ARCHIVE_INDEX", "ARCHIVE_DATA"):
            return i
    return None


def _plan_from_header(path: str, hdu_index: int, hdr) -> FitsPlan:
    try:
        nfields = int(hdr.get("TFIELDS", 0) or 0)
        nrows = int(hdr.get("NAXIS2", 0) or 0)
        row_bytes = int(hdr.get("NAXIS1", 0) or 0)
    except (TypeError, ValueError):
        raise BadFileError(f"{path}: unreadable TFIELDS/NAXIS1/NAXIS2 in the table header") from None
    if not 0 <= nfields <= 999:  # the FITS standard's limit; also bounds the work on hostile headers
        raise BadFileError(f"{path}: table header claims {nfields} columns (FITS allows at most 999)")
    flag_names = {}
    flag_docs = {}
    for card in hdr.cards:
        m = re.match(r"^TFLAG(\d+)$", card.keyword)
        if m:
            flag_names[int(m.group(1))] = _str(card.value)
        m = re.match(r"^TFDOC(\d+)$", card.keyword)
        if m:
            flag_docs[int(m.group(1))] = _str(card.value)
    per_field: dict[int, list[_Out]] = {}
    flag_cols: dict[int, _Out] = {}  # TFLAG number -> column
    fields: dict[str, tuple[str, int]] = {}
    scaling: dict[str, tuple[float, float]] = {}
    skipped: list[str] = []
    width = 0  # bytes per row used by the fields so far
    for n in range(1, nfields + 1):
        columns = per_field.setdefault(n, [])
        name = _str(hdr.get(f"TTYPE{n}")) or f"col{n}"
        tform = str(hdr.get(f"TFORM{n}", ""))
        m = _TFORM_RE.match(tform)
        if not m:
            raise BadFileError(f"{path}: column {name} has an unreadable TFORM {tform!r}")
        repeat = int(m.group(1)) if m.group(1) else 1
        code = m.group(2)
        width += _field_bytes(code, repeat)
        if width > row_bytes:  # a TFORM claim the row cannot hold: refuse before building columns
            raise BadFileError(f"{path}: column {name} ({tform.strip()}) does not fit in rows of "
                               f"{row_bytes} bytes (NAXIS1)")
        unit, doc = _str(hdr.get(f"TUNIT{n}")), _str(hdr.get(f"TDOC{n}"))
        fields[name] = (code, repeat)
        tzero, tscal = hdr.get(f"TZERO{n}", 0) or 0, hdr.get(f"TSCAL{n}", 1) or 1
        if tzero != 0 or tscal != 1:
            scaling[name] = (float(tzero), float(tscal))
        if code in "PQ":
            skipped.append(name)
            continue
        if code == "X":
            for bit in range(repeat):
                fname = flag_names.get(bit + 1) or f"{name}_{bit}"
                flag_cols[bit + 1] = _Out(fname, name, "flag", bit, "bool", None, flag_docs.get(bit + 1))
            continue
        if code == "A":
            columns.append(_Out(name, name, "string", 0, "str", unit, doc))
            continue
        dtype = _NUMPY_OF.get(code, "float64")
        if name in scaling:
            z, s = scaling[name]
            if s == 1 and code in "IJK" and z == 2 ** ({"I": 16, "J": 32, "K": 64}[code] - 1):
                dtype = {"I": "uint16", "J": "uint32", "K": "uint64"}[code]
            else:
                dtype = "float64"
        if repeat == 1:
            columns.append(_Out(name, name, "scalar", 0, dtype, unit, doc))
        elif repeat > 1:
            cls = _str(hdr.get(f"TCCLS{n}")) or ""
            suffixes = _SUFFIXES.get(cls)
            if suffixes is None or len(suffixes) != repeat:
                suffixes = tuple(str(i) for i in range(repeat))
            for i, suffix in enumerate(suffixes):
                columns.append(_Out(f"{name}_{suffix}", name, "element", i, dtype, unit, doc))
    # afw writes TFLAGn cards between the TTYPEn cards of the fields around them: that header
    # order is the schema order, so the DataFrame follows it.
    columns = []
    for card in hdr.cards:
        m = re.match(r"^(TTYPE|TFLAG)(\d+)$", card.keyword)
        if not m:
            continue
        n = int(m.group(2))
        if m.group(1) == "TTYPE":
            columns.extend(per_field.pop(n, []))
        elif n in flag_cols:
            columns.append(flag_cols.pop(n))
    columns.extend(c for n in sorted(per_field) for c in per_field[n])
    columns.extend(flag_cols[n] for n in sorted(flag_cols))
    aliases = {}
    for card in hdr.cards:
        if card.keyword == "ALIAS":
            text = _str(card.value) or ""
            if ":" in text:
                alias, target = text.split(":", 1)
                aliases[alias] = target
    meta = {k: hdr[k] for k in ("AFW_TYPE", "AFW_TABLE_VERSION") if k in hdr}
    return FitsPlan(path, hdu_index, nrows, columns, fields, scaling, aliases, skipped, meta)


def fits_plan(path: str, gz: bool) -> FitsPlan:
    """The column plan of an afw.table FITS catalog, from its headers alone (no row is read).

    Parameters
    ----------
    path : str
        The FITS file.
    gz : bool
        Whether it is gzip-compressed (no memory mapping then).

    Returns
    -------
    FitsPlan
        The catalog HDU, row count, output columns (flags unpacked, arrays split), aliases.

    Raises
    ------
    BadFileError
        No binary table, a truncated file or a header that contradicts itself.
    """
    with fits_errors(path):
        with _open_fits(path, gz) as hdul:
            hdus = []
            for i in range(MAX_HDUS):
                try:
                    hdus.append(hdul[i])
                except IndexError:
                    break
                if i >= 1 and _table_hdu(hdus) is not None:
                    break  # the catalog is found; do not parse the archive HDUs after it
            idx = _table_hdu(hdus)
            if idx is None:
                raise BadFileError(f"{path}: no binary table in this FITS file (is it an image?)")
            check_complete(path, hdus[: idx + 1], gz)
            return _plan_from_header(path, idx, hdus[idx].header)


# ----------------------------------------------------------------------------------------------
# afw.table FITS: values
# ----------------------------------------------------------------------------------------------
def _resolve(plan_names: dict[str, Any], aliases: dict[str, str], name: str) -> Optional[str]:
    """The real column behind a requested name: the name itself, or via an afw alias prefix."""
    if name in plan_names:
        return name
    seen = set()
    current = name
    for _ in range(10):  # aliases may chain; bounded
        best = max((a for a in aliases if current == a or current.startswith(a + "_")), key=len, default=None)
        if best is None or best in seen:
            return None
        seen.add(best)
        current = aliases[best] + current[len(best):]
        if current in plan_names:
            return current
    return None


def _select(plan: FitsPlan, columns: Optional[Sequence[str]]) -> list[tuple[str, _Out]]:
    """(output name, source column) pairs for the request, expanding array-field base names."""
    if columns is None:
        return [(c.name, c) for c in plan.columns]
    by_name = plan.by_name()
    by_field: dict[str, list[_Out]] = {}
    for c in plan.columns:
        by_field.setdefault(c.field, []).append(c)
    chosen: list[tuple[str, _Out]] = []
    for name in columns:
        real = _resolve(by_name, plan.aliases, name)
        if real is not None:
            chosen.append((name, by_name[real]))
            continue
        real_field = name if name in by_field else _resolve(by_field, plan.aliases, name)
        if real_field is not None and by_field[real_field][0].kind == "element":
            chosen.extend((c.name, c) for c in by_field[real_field])
            continue
        if name in plan.skipped:
            raise UnknownColumnError(f"column {name!r} of {plan.path} is a variable-length array "
                                     "(footprint data), which is not read")
        raise _unknown(plan.path, name, [c.name for c in plan.columns])
    return chosen


def read_fits(path: str, gz: bool, columns: Optional[Sequence[str]]) -> pd.DataFrame:
    """The requested columns (all when None) of an afw.table FITS catalog as a DataFrame.

    Only the fields behind ``columns`` are converted; names may be afw aliases or the base name
    of a split array field. ``df.attrs`` holds ``aliases``, ``units``, ``skipped_columns`` and the
    afw type and version. Unknown names raise :class:`~.catalog_columns.UnknownColumnError`.
    """
    plan = fits_plan(path, gz)
    chosen = _select(plan, columns)
    data: dict[str, Any] = {}
    with fits_errors(path):
        with _open_fits(path, gz) as hdul:
            hdu = hdul[plan.hdu_index]
            if plan.nrows == 0:
                raw = None
            else:
                raw = hdu.data.view(np.ndarray)  # raw storage: big-endian, unscaled, bits packed
                if len(raw) != plan.nrows:
                    raise BadFileError(f"{path}: table has {len(raw)} rows, header says {plan.nrows}")
            unpacked: dict[str, np.ndarray] = {}
            for out_name, col in chosen:
                if raw is None:
                    data[out_name] = np.empty(0, dtype=object if col.dtype == "str" else col.dtype)
                    continue
                values = raw[col.field]
                if col.kind == "flag":
                    bits = unpacked.get(col.field)
                    if bits is None:
                        bits = unpacked[col.field] = np.unpackbits(
                            np.asarray(values, dtype=np.uint8).reshape(len(raw), -1), axis=1, bitorder="big")
                    data[out_name] = bits[:, col.index].astype(bool)
                elif col.kind == "string":
                    if values.dtype.kind == "S":
                        text = np.char.decode(np.asarray(values), "ascii", "replace")
                        data[out_name] = np.char.rstrip(text, "\x00 ").astype(object)
                    else:
                        data[out_name] = np.array([str(v).rstrip() for v in values], dtype=object)
                else:
                    if col.kind == "element":
                        values = values.reshape(len(raw), -1)[:, col.index]
                    if plan.fields[col.field][0] == "L":
                        data[out_name] = np.asarray(values).view(np.uint8) == ord("T")  # FITS logicals
                    else:
                        data[out_name] = _scaled(values, plan.scaling.get(col.field), col.dtype)
    df = pd.DataFrame(data, copy=False)
    if len(df.columns) == 0 and plan.nrows:
        df = pd.DataFrame(index=pd.RangeIndex(plan.nrows))
    df.attrs.update(_fits_attrs(plan))
    return df


def _scaled(values: np.ndarray, scaling: Optional[tuple[float, float]], dtype: str) -> np.ndarray:
    native = values.dtype.newbyteorder("=") if values.dtype.byteorder not in ("=", "|") else values.dtype
    if scaling is None:
        return values.astype(native)  # a native-byte-order copy
    tzero, tscal = scaling
    if tscal == 1 and dtype.startswith("uint"):
        # unsigned ints stored signed with TZERO = 2**(bits-1): adding TZERO is flipping the sign bit
        unsigned = np.dtype(f"u{native.itemsize}")
        return values.astype(native).view(unsigned) ^ unsigned.type(1 << (8 * native.itemsize - 1))
    return values.astype(np.float64) * tscal + tzero


def _fits_attrs(plan: FitsPlan) -> dict[str, Any]:
    return {
        "source": plan.path,
        "format": "afw.table FITS",
        "afw_type": plan.meta.get("AFW_TYPE"),
        "afw_table_version": plan.meta.get("AFW_TABLE_VERSION"),
        "aliases": dict(plan.aliases),
        "units": {c.name: c.unit for c in plan.columns if c.unit},
        "skipped_columns": list(plan.skipped),
    }
