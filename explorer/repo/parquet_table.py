"""Parquet catalogs (the Butler's DataFrame and ArrowAstropy storage classes), read with pyarrow.

Only the requested columns are read from disk. A named pandas index (written by the DataFrame
storage class) becomes an ordinary column, so FITS and parquet catalogs look alike; astropy
metadata (ArrowAstropy's ``table_meta_yaml``) supplies units and descriptions. :mod:`.catalogs` is
the public entry point.
"""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence

import numpy as np
import pandas as pd

from .catalog_columns import clean_text as _str
from .catalog_columns import unknown_column as _unknown
from .errors import BadFileError
from .model import ColumnInfo


# ----------------------------------------------------------------------------------------------
# parquet
# ----------------------------------------------------------------------------------------------
def parquet_file(path: str):
    """The open ``pyarrow.parquet.ParquetFile`` (BadFileError when it is not readable parquet)."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise BadFileError(f"{path}: corrupt or unreadable parquet ({' '.join(str(exc).split())[:160]})") from None


def _parquet_layout(pf) -> tuple[list[str], list[str]]:
    """(data column names, named index columns) of a parquet file, from its schema and pandas metadata."""
    import json

    names = [n for n in pf.schema_arrow.names]
    index_names: list[str] = []
    meta = pf.schema_arrow.metadata or {}
    if b"pandas" in meta:
        try:
            pandas_meta = json.loads(meta[b"pandas"])
            indexes = pandas_meta.get("index_columns", []) if isinstance(pandas_meta, dict) else []
            for idx in indexes if isinstance(indexes, list) else []:
                if isinstance(idx, str):
                    index_names.append(idx)
        except (ValueError, TypeError):  # garbage pandas metadata: no named index
            pass
    # unnamed pandas indexes are stored as __index_level_N__: not data
    visible = [n for n in names if not re.match(r"^__index_level_\d+__$", n)]
    return visible, [n for n in index_names if n in visible]


def _astropy_meta(pf) -> dict[str, dict[str, Any]]:
    """Per-column unit/description from ArrowAstropy's ``table_meta_yaml`` metadata, if present."""
    meta = pf.schema_arrow.metadata or {}
    raw = meta.get(b"table_meta_yaml")
    if not raw:
        return {}
    try:
        from .yamlsafe import load_yaml

        doc = load_yaml(raw.decode("utf-8", "replace"))
    except Exception:
        return {}
    out: dict[str, dict[str, Any]] = {}
    columns = doc.get("datatype", []) if isinstance(doc, dict) else []
    if isinstance(columns, list):  # anything else is garbage metadata: no units
        for col in columns:
            if isinstance(col, dict) and isinstance(col.get("name"), str):
                out[str(col["name"])] = {"unit": col.get("unit"), "doc": col.get("description")}
    return out


def read_parquet(path: str, columns: Optional[Sequence[str]]) -> pd.DataFrame:
    """The requested columns (all when None) of a parquet catalog as a DataFrame.

    Only those columns are read from disk; a named pandas index becomes an ordinary column;
    ``df.attrs`` holds ``units`` (ArrowAstropy metadata) and ``index_columns``.
    """
    pf = parquet_file(path)
    visible, index_names = _parquet_layout(pf)
    if columns is not None:
        for name in columns:
            if name not in visible:
                raise _unknown(path, name, visible)
        wanted = list(dict.fromkeys(columns))
    else:
        wanted = visible
    try:
        table = pf.read(columns=wanted, use_pandas_metadata=False)
    except Exception as exc:
        raise BadFileError(f"{path}: corrupt or unreadable parquet ({' '.join(str(exc).split())[:160]})") from None
    try:
        df = table.to_pandas()  # pandas metadata may turn a stored index back into the index...
    except Exception:  # ...unless that metadata is garbage: the columns are still good
        df = table.replace_schema_metadata(None).to_pandas()
    if any(name is not None for name in df.index.names):
        df = df.reset_index()  # ...but here every stored field is an ordinary column
    df = df[[c for c in wanted if c in df.columns]]
    meta = _astropy_meta(pf)
    df.attrs.update({
        "source": path,
        "format": "parquet",
        "index_columns": index_names,
        "units": {k: v["unit"] for k, v in meta.items() if v.get("unit") and k in df.columns},
        "aliases": {},
        "skipped_columns": [],
    })
    return df


def parquet_schema(path: str) -> list[ColumnInfo]:
    """The columns of a parquet catalog (name, dtype, unit, description) from its footer alone."""
    pf = parquet_file(path)
    visible, _ = _parquet_layout(pf)
    meta = _astropy_meta(pf)
    out = []
    schema = pf.schema_arrow
    for name in visible:
        fld = schema.field(name)
        try:
            dtype = fld.type.to_pandas_dtype()
            dtype_name = np.dtype(dtype).name if dtype is not object else "object"
        except (NotImplementedError, TypeError):
            dtype_name = str(fld.type)
        if str(fld.type) in ("string", "large_string"):
            dtype_name = "str"
        m = meta.get(name, {})
        doc = m.get("doc")
        if doc is None and fld.metadata:
            raw_doc = fld.metadata.get(b"doc") or fld.metadata.get(b"description") or b""
            doc = raw_doc.decode("utf-8", "replace") or None
        out.append(ColumnInfo(name=name, dtype=dtype_name, unit=_str(m.get("unit")), doc=_str(doc)))
    return out
