"""The rows of a HATS catalog's cone on the Dask workers: a table page, sorted and filtered, and a
scatter of two columns, computed where the rows are.

:func:`cone_rows` reads the asked columns of the rows within a sky filter into the workers' memory
(one frame per partition, :class:`ConeRows`); a page, a sort (each partition's first rows, merged on
a worker), a header filter (:class:`RowFilter`) or a scatter's grid then costs no parquet read, and
only the page's rows or the grid come back to the server. Opening the catalog and the jobs'
progress and cancellation are :mod:`explorer.compute.hats`'s and :mod:`explorer.compute.cluster`'s.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .cluster import PartitionJob
from .hats import HatsError, Progress, SkyFilter, _partitions, _summed_on_workers, open_hats
from .histogram import edges_for

# ----- rows of a cone: a table page and a scatter, computed on the workers ------------------------
def partition_columns(frame, columns: Sequence[str]):
    """One partition with only ``columns`` (and its ``_healpix_29`` index): what stays on a worker."""
    return frame[list(columns)]


def partition_slice(frame, start: int, stop: int):
    """Rows ``start:stop`` of a partition: the part of a table page it holds."""
    return frame.iloc[int(start):int(stop)]


def partition_where(frame, filters: Sequence["RowFilter"]):
    """The rows of a partition that pass every filter (run on a worker)."""
    mask = np.ones(len(frame), bool)
    for f in filters:
        mask &= f.mask(frame[f.column])
    return frame[mask]


def partition_sorted_head(frame, column: str, ascending: bool, k: int):
    """The first ``k`` rows of a partition sorted by ``column`` (stable, missing values last),
    ``_healpix_29`` as a column: no row beyond them can be on a page that ends at ``k``."""
    rows = frame.reset_index()
    return rows.sort_values(column, ascending=bool(ascending), kind="stable", na_position="last").head(int(k))


def merge_sorted_heads(heads: Sequence, column: str, ascending: bool, start: int, stop: int):
    """Rows ``start:stop`` of the partitions' sorted heads merged (in the catalog's order, then a
    stable sort): the same rows, in the same order, as a stable sort of every row would give."""
    import pandas as pd

    heads = [h for h in heads if len(h)]
    if not heads:
        return None
    rows = pd.concat(heads, ignore_index=True)
    rows = rows.sort_values(column, ascending=bool(ascending), kind="stable", na_position="last")
    return rows.iloc[int(start):int(stop)].reset_index(drop=True)


def partition_axes(frame, x: str, y: str, names: Sequence[str], magnitudes: bool, zero_point_mag):
    """The finite (x, y) values of two scatter axes (columns, colours or expressions) of a partition."""
    from .axes import axis_data

    ax = axis_data(frame, x, names, magnitudes, zero_point_mag)
    ay = axis_data(frame, y, names, magnitudes, zero_point_mag)
    ok = np.isfinite(ax.values) & np.isfinite(ay.values)
    return ax.values[ok], ay.values[ok], ax.label, ay.label, ay.magnitude


def _axes_range(pair):
    xs, ys = pair[0], pair[1]
    if xs.size == 0:
        return None
    return float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())


def _axes_grid(pair, x_range, y_range, width: int, height: int):
    import datashader as ds
    import pandas as pd

    canvas = ds.Canvas(plot_width=int(width), plot_height=int(height), x_range=tuple(x_range), y_range=tuple(y_range))
    agg = canvas.points(pd.DataFrame({"x": pair[0], "y": pair[1]}), "x", "y", agg=ds.count())
    return np.asarray(agg.values, dtype=np.int64)


class ConeRows:
    """The rows of a HATS catalog within a sky filter, ``columns`` only, held by the workers (one
    frame per HEALPix partition, in the catalog's order): a page of them or a scatter of two of
    their columns is computed there and only that page, the points (when few) or a density grid
    come back. Made by :func:`cone_rows`."""

    filters: tuple = ()  # the RowFilters applied (:meth:`where`)

    def __init__(self, client, path: str, columns: list[str], sky: Optional[SkyFilter], futures: list,
                 lengths: list[int]):
        self.client, self.path, self.columns, self.sky = client, path, columns, sky
        self.futures, self.lengths = futures, [int(n) for n in lengths]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)

    @property
    def total(self) -> int:
        """Rows within the filter."""
        return int(self.offsets[-1])

    def page(self, start: int, size: int, sort: Optional[tuple[str, bool]] = None):
        """Rows ``start`` to ``start + size`` (0-based) as a pandas frame with ``_healpix_29`` as a
        column. Without ``sort``, in the catalog's order: only the partitions that hold them are
        touched. With ``sort`` = (column, ascending): each partition sorts its rows on its worker
        and keeps the first ``start + size``; a worker merges those heads and only the page comes
        back to the server."""
        import pandas as pd

        start = max(0, int(start))
        stop = min(self.total, start + max(0, int(size)))
        if sort is not None and stop > start:
            column, ascending = sort
            if column not in self.columns and column != "_healpix_29":
                raise HatsError(f"cannot sort by {column!r}: the table has {', '.join(self.columns)}")
            live = [f for f, n in zip(self.futures, self.lengths) if n]
            heads = self.client.map(partition_sorted_head, live, column=column, ascending=bool(ascending), k=stop,
                                    pure=False)
            page = self.client.submit(merge_sorted_heads, heads, column, bool(ascending), start, stop,
                                      pure=False).result()
            if page is not None:
                return page
        parts = []
        for k in range(len(self.futures)):
            lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
            if hi <= start or lo >= stop or hi == lo:
                continue
            parts.append(self.client.submit(partition_slice, self.futures[k], max(start, lo) - lo,
                                            min(stop, hi) - lo, pure=False))
        frames = self.client.gather(parts) if parts else []
        if not frames:
            return pd.DataFrame({c: [] for c in ["_healpix_29", *self.columns]})
        return pd.concat(frames).reset_index()

    def scatter(self, x: str, y: str, names: Sequence[str], magnitudes: bool = False,
                zero_point_mag: Optional[float] = None, max_points: Optional[int] = None,
                width: int = 300, height: int = 300, progress: Progress = None, on_job=None):
        """(points or grid, x label, y label, y is a magnitude): the finite pairs themselves when
        at most ``max_points`` (default :data:`~.density.SCATTER_MAX_POINTS`), else a density
        grid aggregated per partition on the workers and added here."""
        from .density import SCATTER_MAX_POINTS, DensityGrid, ScatterPoints

        max_points = SCATTER_MAX_POINTS if max_points is None else int(max_points)
        pairs = self.client.map(partition_axes, self.futures, x=x, y=y, names=list(names), magnitudes=magnitudes,
                                zero_point_mag=zero_point_mag, pure=False)
        counts_job = PartitionJob.of_futures(self.client, self.client.map(lambda p: len(p[0]), pairs, pure=False),
                                             f"scatter of {y} against {x}")
        if on_job:
            on_job(counts_job)
        n = int(sum(counts_job.result(progress)))
        xl, yl, ym = self.client.submit(lambda p: p[2:], pairs[0]).result() if pairs else (x, y, False)
        if n <= max_points:
            got = self.client.gather(pairs)
            xs = np.concatenate([g[0] for g in got]) if got else np.zeros(0)
            ys = np.concatenate([g[1] for g in got]) if got else np.zeros(0)
            return ScatterPoints(xs, ys, xl, yl), xl, yl, ym
        ranges = [r for r in self.client.gather(self.client.map(_axes_range, pairs, pure=False)) if r is not None]
        x_range = edges_for(min(r[0] for r in ranges), max(r[1] for r in ranges), 1)
        y_range = edges_for(min(r[2] for r in ranges), max(r[3] for r in ranges), 1)
        grids = self.client.map(_axes_grid, pairs, x_range=x_range, y_range=y_range, width=width, height=height,
                                pure=False)
        total = _summed_on_workers(self.client, grids, f"density of {y} against {x}", progress, on_job)
        if total is None:
            total = np.zeros((int(height), int(width)), np.int64)
        return DensityGrid(total, tuple(x_range), tuple(y_range), xl, yl), xl, yl, ym

    def where(self, filters: Sequence["RowFilter"]) -> "ConeRows":
        """The rows that pass every filter, kept on the workers as a new :class:`ConeRows` (this
        one keeps its rows, so another filter starts again from them without reading parquet)."""
        filters = tuple(filters)
        if not filters:
            return self
        for f in filters:
            if f.column not in self.columns:
                raise HatsError(f"cannot filter on {f.column!r}: the table has {', '.join(self.columns)}")
        futures = self.client.map(partition_where, self.futures, filters=filters, pure=False)
        lengths = self.client.gather(self.client.map(len, futures, pure=False))
        out = ConeRows(self.client, self.path, self.columns, self.sky, futures, lengths)
        out.filters = filters
        return out

    def release(self) -> None:
        """Drop the workers' copies."""
        self.futures = []


# ----- filters of the table's rows (Tabulator's header filters), applied on the workers ------------
_OPS = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}


@dataclass(frozen=True)
class RowFilter:
    """One condition on a column: ``column op value``, ``op`` one of ``= != < > <= >=`` (a
    number), or ``like`` (text contained, case ignored)."""

    column: str
    op: str
    value: Any

    def mask(self, series) -> np.ndarray:
        if self.op == "like":
            return series.astype(str).str.contains(str(self.value), case=False, regex=False).to_numpy(bool)
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return getattr(np, {"eq": "equal", "ne": "not_equal", "lt": "less", "gt": "greater",
                                "le": "less_equal", "ge": "greater_equal"}[_OPS[self.op]])(values, float(self.value))


_OPERATOR_RE = re.compile(r"^\s*(<=|>=|==|!=|<|>|=)\s*(.*?)\s*$")  # a typed condition: "> 20"


def _bound(value) -> Any:
    """A bound as given (None for an empty one)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:  # NaN: no bound
        return None
    return value


def _number(column: str, value: Any) -> float:
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise HatsError(f"the filter on {column} needs a number, not {str(value)[:40]!r}") from None


def _text_conditions(column: str, op: str, text: str) -> list[tuple[str, str]]:
    """(op, number text) of a typed condition: ``> 20``, ``<=5``, ``!= 3``, ``20..30``, ``20..``,
    ``..30`` (a range with one bound or both), or a bare number (the header's ``op``)."""
    text = text.strip()
    if ".." in text:
        lo, _, hi = text.partition("..")
        out = ([(">=", lo)] if lo.strip() else []) + ([("<=", hi)] if hi.strip() else [])
        if not out:
            raise HatsError(f"the filter on {column} needs a number, not {text[:40]!r}")
        return out
    m = _OPERATOR_RE.match(text)
    if m:
        return [(m.group(1), m.group(2))]
    return [(op, text)]


def row_filters(filters: Sequence[Any]) -> tuple[RowFilter, ...]:
    """Tabulator's header filters (``{"field", "type", "value"}``) as :class:`RowFilter`.

    A value may be a number; a text with its own operator (``> 20``, ``<= 5``, ``!= 3``) or a
    range (``20..30``, ``20..`` a minimum only, ``..30`` a maximum only); a pair ``[min, max]``
    or ``{"start": min, "end": max}`` (Tabulator's range filters) where either bound may be
    empty. Empty values are dropped; a value that is no number for a comparison is a one-line
    HatsError."""
    out = []
    for f in filters or ():
        column, op, value = str(f.get("field", "")), str(f.get("type", "=")), f.get("value")
        if not column:
            continue
        if isinstance(value, dict):  # {"start", "end"} (or min/max): a range, either bound empty
            value = [value.get("start", value.get("min")), value.get("end", value.get("max"))]
        if isinstance(value, (list, tuple)):
            if len(value) == 1:
                value = value[0]
            elif len(value) == 2:
                lo, hi = _bound(value[0]), _bound(value[1])
                out += [RowFilter(column, ">=", _number(column, lo))] if lo is not None else []
                out += [RowFilter(column, "<=", _number(column, hi))] if hi is not None else []
                continue
            else:
                value = None
        value = _bound(value)
        if value is None:
            continue
        if op == "like":
            out.append(RowFilter(column, "like", str(value)))
            continue
        if op not in _OPS:
            raise HatsError(f"the filter on {column} uses {op!r}: only =, !=, <, >, <=, >= and like are offered")
        conditions = _text_conditions(column, op, value) if isinstance(value, str) else [(op, value)]
        for cop, number in conditions:
            out.append(RowFilter(column, cop, _number(column, number)))
    return tuple(out)


def cone_rows(path: str | os.PathLike, columns: Sequence[str], client, sky: Optional[SkyFilter] = None,
              progress: Progress = None, on_job: Optional[Callable[[PartitionJob], None]] = None) -> ConeRows:
    """Load ``columns`` of the rows of a HATS catalog within ``sky`` into the workers' memory (one
    frame per partition) and count them; the server receives only the counts."""
    path = os.fspath(path)
    columns = list(dict.fromkeys(columns))
    catalog = open_hats(path, columns, sky)
    import dask

    futures = client.compute([dask.delayed(partition_columns)(p, columns) for p in _partitions(catalog)])
    job = PartitionJob.of_futures(client, futures, f"reading {len(columns)} columns")
    if on_job:
        on_job(job)
    job.wait(progress)  # (the frames stay on the workers)
    lengths = client.gather(client.map(len, futures, pure=False))
    return ConeRows(client, path, columns, sky, futures, lengths)
