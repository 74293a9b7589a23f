"""What the catalog readers share: the unknown-column error and header text clean-up.

Both readers (:mod:`.afw_table` for afw.table FITS, :mod:`.parquet_table` for parquet) name a
missing column the same way, with the closest names the catalog does have.
"""
from __future__ import annotations

import difflib
from typing import Any, Optional, Sequence

from .errors import ExplorerError


class UnknownColumnError(ExplorerError):
    """A requested column is not in the catalog."""


def unknown_column(path: str, name: str, available: Sequence[str]) -> UnknownColumnError:
    """The error for a column the catalog lacks: how many it has, a few of them, and close matches."""
    close = difflib.get_close_matches(name, list(available), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    sample = ", ".join(list(available)[:5])
    return UnknownColumnError(
        f"no column {name!r} in {path}; it has {len(available)} columns such as {sample}{hint}")


def clean_text(value: Any) -> Optional[str]:
    """A header or metadata value as stripped text, or None when it is absent, undefined or blank."""
    if value is None or type(value).__name__ == "Undefined":
        return None
    s = str(value).strip()
    return s or None
