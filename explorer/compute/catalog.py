"""Catalog computations: which columns to offer, a fast server-side histogram, flag filters, and
which columns place sources on an image. No HoloViews here (``explorer.views.catalog`` draws).

The histogram is binned on the server by numba kernels (two passes over the column, no sort, no
copy for float columns; on every core for long columns), so a 15-million-row column costs well
under 0.1 s and only the bin counts (a few hundred numbers) travel to the browser, never the rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numba
import numpy as np
import pandas as pd

from ..repo.model import ColumnInfo

# The Stack Club notebook histograms the Kron flux; these are its names in each catalog flavour.
PREFERRED_COLUMNS = (
    "ext_photometryKron_KronFlux_instFlux", "slot_ModelFlux_instFlux", "kronFlux", "{band}_kronFlux",
    "base_PsfFlux_instFlux", "psFlux", "{band}_psFlux", "{band}_psfFlux",
)
# Flags that make sense to filter on by default, when present: keep only primary objects.
DEFAULT_REQUIRE = ("detect_isPrimary",)


def _is_numeric(dtype: str) -> bool:
    try:
        kind = np.dtype(dtype).kind
    except TypeError:
        return False
    return kind in "iuf"


def numeric_columns(schema: Iterable[ColumnInfo]) -> list[str]:
    """Columns that can be histogrammed (integers and floats, not flags or strings)."""
    return [c.name for c in schema if _is_numeric(c.dtype)]


def flag_columns(schema: Iterable[ColumnInfo]) -> list[str]:
    """Boolean columns (afw flag bits, parquet booleans): usable as filters."""
    return [c.name for c in schema if c.dtype == "bool"]


def default_column(columns: Sequence[str], band: Optional[str] = None) -> Optional[str]:
    """The notebook's Kron flux when present, else a PSF flux, else the first numeric column."""
    names = set(columns)
    for pattern in PREFERRED_COLUMNS:
        name = pattern.format(band=band or "")
        if name in names:
            return name
    for name in columns:
        if "flux" in name.lower() and not name.lower().endswith("err"):
            return name
    # no flux (a merged-detection catalog): a measured quantity, not an identifier or a count
    for name in columns:
        low = name.lower()
        if not (low == "id" or low.endswith("id") or low in ("parent", "deblend_nchild") or low.startswith("flag")):
            return name
    return columns[0] if columns else None


@dataclass
class Histogram:
    """Counts of a column in uniform bins, with what was left out and why."""

    column: str
    edges: np.ndarray  # (bins + 1,)
    counts: np.ndarray  # (bins,) int64
    rows: int  # rows considered (after flag filters)
    used: int  # rows that fell in the histogram
    non_finite: int  # NaN/inf values
    non_positive: int  # values <= 0 dropped by a log axis
    log: bool  # edges are log10 of the column
    filtered_out: int = 0  # rows the flag filters left out before binning (not in ``rows``)
    magnitudes: bool = False  # the values binned are the flux column's AB magnitudes

    @property
    def label(self) -> str:
        if self.magnitudes:
            return f"{self.column} (AB mag)"
        return f"log10({self.column})" if self.log else self.column


@numba.njit(cache=True, nogil=True)
def _minmax(values, log):  # pragma: no cover - compiled
    lo = np.inf
    hi = -np.inf
    nonfinite = 0
    nonpos = 0
    for v in values:
        x = float(v)
        if not math.isfinite(x):
            nonfinite += 1
            continue
        if log:
            if x <= 0.0:
                nonpos += 1
                continue
            x = math.log10(x)
        if x < lo:
            lo = x
        if x > hi:
            hi = x
    return lo, hi, nonfinite, nonpos


@numba.njit(cache=True, nogil=True)
def _bin(values, log, lo, hi, nbins):  # pragma: no cover - compiled
    counts = np.zeros(nbins, dtype=np.int64)
    scale = nbins / (hi - lo)
    for v in values:
        x = float(v)
        if not math.isfinite(x):
            continue
        if log:
            if x <= 0.0:
                continue
            x = math.log10(x)
        if x < lo or x > hi:
            continue
        k = int((x - lo) * scale)
        if k >= nbins:
            k = nbins - 1
        counts[k] += 1
    return counts


@numba.njit(cache=True, nogil=True)
def _count_non_positive(values):  # pragma: no cover - compiled
    n = 0
    for v in values:
        x = float(v)
        if math.isfinite(x) and x <= 0.0:
            n += 1
    return n


# Columns of at least this many rows are histogrammed by all cores: each pass runs over CHUNKS
# slices in parallel (numba prange) and the per-slice results are combined.
PARALLEL_MIN_ROWS = 1_000_000
CHUNKS = 32


@numba.njit(parallel=True, cache=True, nogil=True)
def _minmax_parallel(values, chunks):  # pragma: no cover - compiled
    n = values.size
    los = np.full(chunks, np.inf)
    his = np.full(chunks, -np.inf)
    non_finite = np.zeros(chunks, np.int64)
    for c in numba.prange(chunks):
        lo, hi, nf, _ = _minmax(values[n * c // chunks:n * (c + 1) // chunks], False)
        los[c], his[c], non_finite[c] = lo, hi, nf
    return los.min(), his.max(), non_finite.sum()


@numba.njit(parallel=True, cache=True, nogil=True)
def _bin_parallel(values, lo, hi, nbins, chunks):  # pragma: no cover - compiled
    n = values.size
    counts = np.zeros((chunks, nbins), np.int64)
    for c in numba.prange(chunks):
        counts[c] = _bin(values[n * c // chunks:n * (c + 1) // chunks], False, lo, hi, nbins)
    return counts.sum(axis=0)


@numba.njit(parallel=True, cache=True, nogil=True)
def _count_non_positive_parallel(values, chunks):  # pragma: no cover - compiled
    n = values.size
    counts = np.zeros(chunks, np.int64)
    for c in numba.prange(chunks):
        counts[c] = _count_non_positive(values[n * c // chunks:n * (c + 1) // chunks])
    return counts.sum()


def _log10(arr: np.ndarray, parallel: bool) -> np.ndarray:
    """log10 of every value (<= 0 and non-finite give -inf/NaN, which the kernels leave out):
    numpy's vectorised log10 beats a per-element log in a kernel; in parallel, one slice per
    thread (numpy's ufuncs release the GIL)."""
    out = np.empty(arr.shape, np.float64)
    parts = max(1, min(4, numba.get_num_threads())) if parallel else 1
    cuts = [arr.size * i // parts for i in range(parts + 1)]

    def part(i: int) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):  # (per thread: numpy's error state is)
            np.log10(arr[cuts[i]:cuts[i + 1]], out=out[cuts[i]:cuts[i + 1]], dtype=np.float64)

    if parts == 1:
        part(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(part, range(parts)))
    return out


def histogram(values: Any, column: str = "value", bins: int = 100, log: bool = False,
              value_range: Optional[tuple[float, float]] = None, parallel: Optional[bool] = None) -> Histogram:
    """Histogram of a numeric array (``log``: of log10 of its positive values); ``parallel``:
    use every core (default: for columns of PARALLEL_MIN_ROWS rows or more)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"column {column!r} is not numeric ({arr.dtype})")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    arr = np.ascontiguousarray(arr).ravel()
    bins = int(max(1, bins))
    parallel = arr.size >= PARALLEL_MIN_ROWS if parallel is None else bool(parallel)
    non_pos = 0
    if log:
        non_pos = int(_count_non_positive_parallel(arr, CHUNKS) if parallel else _count_non_positive(arr))
        arr = _log10(arr, parallel)
    if parallel:
        lo, hi, non_finite = _minmax_parallel(arr, CHUNKS)
    else:
        lo, hi, non_finite, _ = _minmax(arr, False)
    non_finite = int(non_finite) - non_pos
    if value_range is not None:
        lo, hi = float(value_range[0]), float(value_range[1])
    if not np.isfinite(lo) or not np.isfinite(hi):
        edges = np.linspace(0.0, 1.0, bins + 1)
        return Histogram(column, edges, np.zeros(bins, np.int64), int(arr.size), 0, int(non_finite),
                         int(non_pos), bool(log))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts = _bin_parallel(arr, float(lo), float(hi), bins, CHUNKS) if parallel else \
        _bin(arr, False, float(lo), float(hi), bins)
    edges = np.linspace(lo, hi, bins + 1)
    return Histogram(column, edges, counts, int(arr.size), int(counts.sum()), int(non_finite),
                     int(non_pos), bool(log))


def filter_rows(df: pd.DataFrame, require: Sequence[str] = (), exclude: Sequence[str] = ()) -> np.ndarray:
    """Boolean row selection: every ``require`` flag True and every ``exclude`` flag False."""
    keep = np.ones(len(df), dtype=bool)
    for name in require:
        if name in df.columns:
            keep &= df[name].to_numpy(dtype=bool, na_value=False)
    for name in exclude:
        if name in df.columns:
            keep &= ~df[name].to_numpy(dtype=bool, na_value=False)
    return keep


# ----- sources on an image --------------------------------------------------------------------
CENTROID_PAIRS = (("slot_Centroid_x", "slot_Centroid_y"), ("base_SdssCentroid_x", "base_SdssCentroid_y"),
                  ("base_TransformedCentroid_x", "base_TransformedCentroid_y"), ("x", "y"))
SKY_PAIRS = (("coord_ra", "coord_dec"), ("ra", "dec"))


def centroid_columns(columns: Sequence[str], aliases: Optional[dict[str, str]] = None) -> Optional[tuple[str, str]]:
    """The pixel-centroid column pair of a catalog (afw slot aliases resolved), if any."""
    names = set(columns)
    aliases = aliases or {}
    for cx, cy in CENTROID_PAIRS:
        for a, b in ((cx, cy), (resolve_alias(cx, aliases), resolve_alias(cy, aliases))):
            if a in names and b in names:
                return a, b
    return None


def sky_columns(columns: Sequence[str]) -> Optional[tuple[str, str]]:
    names = set(columns)
    for a, b in SKY_PAIRS:
        if a in names and b in names:
            return a, b
    return None


def resolve_alias(name: str, aliases: dict[str, str]) -> str:
    """The column behind an afw alias (``slot_Centroid_x`` -> ``base_SdssCentroid_x``): the longest
    alias prefix wins and aliases may chain (bounded), the rule the catalog reader applies."""
    seen: set[str] = set()
    current = name
    for _ in range(10):
        best = max((a for a in aliases if current == a or current.startswith(a + "_")), key=len, default=None)
        if best is None or best in seen:
            break
        seen.add(best)
        current = aliases[best] + current[len(best):]
    return current


def to_degrees(values: np.ndarray, unit: Optional[str]) -> np.ndarray:
    """afw catalogs store coordinates in radians (unit 'rad'); parquet tables in degrees."""
    if unit and unit.lower().startswith("rad"):
        return np.degrees(values)
    return np.asarray(values, dtype=float)
