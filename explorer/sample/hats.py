"""Write object tables as HATS catalogs (HEALPix-partitioned parquet) that LSDB opens.

Survey catalogs reach LSDB as HATS catalogs (``lsdb.open_catalog``). Two ways to write one:

* :func:`write_hats_catalog` runs the real ``hats_import`` pipeline on a Dask client (the caller's,
  or a small in-process one): for any set of parquet tables, at the cost of a Dask cluster and
  hats-import's start-up (10-15 s even for a few hundred rows).
* :func:`write_table_hats` and :func:`write_hats_partitions` write the same layout directly with
  pyarrow and cdshealpix, no Dask: rows get their order-29 ``_healpix_29`` index, are split into
  HEALPix pixels of at most ``pixel_threshold`` rows (coarsest order first, as hats-import
  partitions), and each partition is one ``dataset/Norder=K/Dir=D/Npix=N.parquet`` file sorted by
  ``_healpix_29``; then ``_metadata`` (every file's footer: LSDB's column statistics),
  ``_common_metadata``, ``partition_info.csv`` and ``hats.properties``. ``make-sample`` writes
  its ``objectTable`` this way in a fraction of a second (:func:`write_sample_hats`), and
  :func:`write_synthetic_hats` generates a catalog of any size one partition at a time (rows drawn
  uniformly inside each HEALPix pixel), so memory stays at one partition whatever the row count.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["write_hats_catalog", "write_hats_partitions", "write_table_hats", "write_sample_hats",
           "write_synthetic_hats", "synthetic_partitions", "pixel_partitions", "spatial_index", "HatsWriteError",
           "LARGE_HATS_ROWS"]


class HatsWriteError(ExplorerError):
    """The HATS catalog cannot be written (no input, bad columns, destination not empty)."""


@contextmanager
def _client(client) -> Iterator:
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    # threads in this process, talking in-process (no socket is opened): hats-import's stages are
    # pyarrow/numpy work that releases the GIL, and a sample catalog does not pay for worker processes
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as own:
        yield own


def write_hats_catalog(parquet_paths: Sequence[str | os.PathLike], dest_dir: str | os.PathLike,
                       name: str = "object", ra_column: str = "coord_ra", dec_column: str = "coord_dec",
                       client=None, pixel_threshold: int = 1_000_000, highest_order: int = 10,
                       progress: Optional[Callable[[str], None]] = None) -> Path:
    """Import parquet tables (one catalog: same schema, RA/Dec in degrees) into a HATS catalog.

    Parameters
    ----------
    parquet_paths
        The input files (e.g. every ``objectTable`` of a repository).
    dest_dir, name
        The catalog is written to ``dest_dir/name`` (which must not exist yet) and that path returned.
    ra_column, dec_column
        Position columns in degrees (the Rubin object table's ``coord_ra``/``coord_dec``).
    client
        A ``distributed.Client`` to run on; default: a small in-process cluster on 127.0.0.1.
    pixel_threshold, highest_order
        Partitioning: at most this many rows per HEALPix pixel, pixels no finer than this order
        (hats-import holds a histogram of 12 * 4**order counts: order 10 is 100 MB, order 12 1.6 GB).

    Returns
    -------
    pathlib.Path
        The catalog directory, readable with ``lsdb.open_catalog``.
    """
    paths = [os.fspath(p) for p in parquet_paths]
    if not paths:
        raise HatsWriteError("no parquet tables to write as a HATS catalog")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise HatsWriteError(f"not a file: {missing[0]}")
    import pyarrow.parquet as pq

    names = set(pq.read_schema(paths[0]).names)
    for col in (ra_column, dec_column):
        if col not in names:
            raise HatsWriteError(f"no column {col!r} in {paths[0]} to place rows on the sky")
    dest = Path(dest_dir).expanduser().resolve()
    out = dest / name
    if out.exists():
        raise HatsWriteError(f"destination already exists: {out}")
    dest.mkdir(parents=True, exist_ok=True)
    from hats_import.catalog.arguments import ImportArguments
    from hats_import.pipeline import pipeline_with_client

    if progress:
        progress(f"writing {len(paths)} parquet tables as the HATS catalog {out}")
    args = ImportArguments(
        output_path=str(dest), output_artifact_name=name, input_file_list=paths, file_reader="parquet",
        ra_column=ra_column, dec_column=dec_column, catalog_type="object",
        pixel_threshold=int(pixel_threshold), highest_healpix_order=int(highest_order),
        progress_bar=False, resume=False, tmp_dir=str(dest / f".{name}-tmp"), dask_tmp=str(dest / f".{name}-dask"),
    )
    import shutil

    try:
        with _client(client) as c:
            try:
                with c.as_current():  # hats-import waits on futures through the current client
                    pipeline_with_client(args, c)
            except ValueError as exc:  # e.g. "single pixel row count ... exceeds threshold"
                raise HatsWriteError(f"hats-import failed for {out}: {' '.join(str(exc).split())[:160]}") from None
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-written catalog that looks like one
        raise
    finally:
        for leftover in (dest / f".{name}-tmp", dest / f".{name}-dask"):
            shutil.rmtree(leftover, ignore_errors=True)
    return out


# ----- the HATS layout written directly (pyarrow + cdshealpix, no Dask) ---------------------------
SPATIAL_INDEX = "_healpix_29"  # order-29 nested HEALPix index of each row: HATS's spatial index
INDEX_ORDER = 29


def spatial_index(ra_deg, dec_deg) -> "np.ndarray":
    """The order-29 nested HEALPix index of positions in degrees (as hats computes ``_healpix_29``)."""
    import cdshealpix
    import numpy as np
    from astropy.coordinates import Latitude, Longitude

    ra = Longitude(np.asarray(ra_deg, dtype=np.float64), unit="deg")
    dec = Latitude(np.asarray(dec_deg, dtype=np.float64), unit="deg")
    return cdshealpix.lonlat_to_healpix(ra, dec, INDEX_ORDER).astype(np.int64)


def pixel_partitions(index, pixel_threshold: int, highest_order: int) -> list[tuple[int, int, "np.ndarray"]]:
    """Split rows (their sorted-or-not ``_healpix_29`` values) into HEALPix pixels of at most
    ``pixel_threshold`` rows, coarsest first: a pixel holding more is split into its four children,
    down to ``highest_order`` (where it stays, however full). Returns (order, pixel, row indices)
    for every non-empty pixel, the rows of each in ``_healpix_29`` order."""
    import numpy as np

    index = np.asarray(index, dtype=np.int64)
    order_rows = np.argsort(index, kind="stable")
    ordered = index[order_rows]
    out: list[tuple[int, int, np.ndarray]] = []

    def visit(order: int, pixel: int, lo: int, hi: int) -> None:
        if hi <= lo:
            return
        if hi - lo <= pixel_threshold or order >= highest_order:
            out.append((order, pixel, order_rows[lo:hi]))
            return
        shift = 2 * (INDEX_ORDER - order - 1)
        for child in range(4 * pixel, 4 * pixel + 4):
            c_lo = lo + int(np.searchsorted(ordered[lo:hi], child << shift, side="left"))
            c_hi = lo + int(np.searchsorted(ordered[lo:hi], (child + 1) << shift, side="left"))
            visit(order + 1, child, c_lo, c_hi)

    shift0 = 2 * INDEX_ORDER
    for base in range(12):
        lo = int(np.searchsorted(ordered, base << shift0, side="left"))
        hi = int(np.searchsorted(ordered, (base + 1) << shift0, side="left"))
        visit(0, base, lo, hi)
    return out


def _partition_path(order: int, pixel: int) -> str:
    return f"Norder={order}/Dir={(pixel // 10000) * 10000}/Npix={pixel}.parquet"


def write_hats_partitions(out: str | os.PathLike, partitions, ra_column: str = "coord_ra",
                          dec_column: str = "coord_dec", progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write a HATS catalog at ``out`` (must not exist) from ``partitions``: an iterable of
    (order, pixel, ``pyarrow.Table``) whose rows lie in that HEALPix pixel and carry a sorted
    ``_healpix_29`` column. Each partition is written as it comes (one in memory at a time); the
    catalog's metadata files follow. Returns ``out``."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out).expanduser().resolve()
    if out.exists():
        raise HatsWriteError(f"destination already exists: {out}")
    dataset = out / "dataset"
    footers, pixels = [], []
    schema = None
    rows = max_rows = 0
    try:
        for order, pixel, table in partitions:
            if SPATIAL_INDEX not in table.column_names:
                raise HatsWriteError(f"partition {order}/{pixel} has no {SPATIAL_INDEX} column")
            table = table.replace_schema_metadata(None)  # (no pandas index: LSDB indexes by _healpix_29)
            if schema is None:
                schema = table.schema
            elif not table.schema.equals(schema):
                raise HatsWriteError(f"partition {order}/{pixel} has another schema than the first")
            rel = _partition_path(int(order), int(pixel))
            path = dataset / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            collected: list = []
            pq.write_table(table, path, metadata_collector=collected)
            collected[0].set_file_path(rel)
            footers.append(collected[0])
            pixels.append((int(order), int(pixel)))
            rows += table.num_rows
            max_rows = max(max_rows, table.num_rows)
            if progress and len(pixels) % 20 == 0:
                progress(f"{len(pixels)} HATS partitions written ({rows:,} rows)")
        if schema is None:
            raise HatsWriteError(f"no rows to write as the HATS catalog {out}")
        for col in (ra_column, dec_column):
            if col not in schema.names:
                raise HatsWriteError(f"no column {col!r} to place rows on the sky")
        pq.write_metadata(schema, dataset / "_common_metadata")
        pq.write_metadata(schema, dataset / "_metadata", metadata_collector=footers)
        with open(out / "partition_info.csv", "w") as fh:
            fh.write("Norder,Npix\n" + "".join(f"{o},{p}\n" for o, p in sorted(pixels)))
        size_kb = sum(f.stat().st_size for f in dataset.rglob("*.parquet")) // 1024
        now = datetime.datetime.now(datetime.timezone.utc)
        properties = {
            "obs_collection": out.name, "dataproduct_type": "object", "hats_nrows": rows,
            "hats_col_ra": ra_column, "hats_col_dec": dec_column, "hats_col_healpix": SPATIAL_INDEX,
            "hats_col_healpix_order": INDEX_ORDER, "hats_npix_suffix": ".parquet", "hats_max_rows": max_rows,
            "hats_order": max(o for o, _ in pixels), "hats_estsize": size_kb,
            "hats_builder": f"repo-explorer (pyarrow {pa.__version__})",
            "hats_creation_date": now.strftime("%Y-%m-%dT%H:%M%Z"), "hats_version": "v1.0",
        }
        text = "#HATS catalog\n" + "".join(f"{k}={v}\n" for k, v in properties.items())
        (out / "hats.properties").write_text(text)
    except BaseException:
        import shutil

        shutil.rmtree(out, ignore_errors=True)  # no half-written catalog that looks like one
        raise
    if progress:
        progress(f"HATS catalog {out}: {rows:,} rows in {len(pixels)} partitions")
    return out


def write_table_hats(table, out: str | os.PathLike, ra_column: str = "coord_ra", dec_column: str = "coord_dec",
                     pixel_threshold: int = 1_000_000, highest_order: int = 10,
                     progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write one in-memory table (``pyarrow.Table`` or ``pandas.DataFrame``, RA/Dec in degrees)
    as a HATS catalog at ``out``, partitioned as :func:`pixel_partitions` says."""
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    for col in (ra_column, dec_column):
        if col not in table.column_names:
            raise HatsWriteError(f"no column {col!r} to place rows on the sky")
    index = spatial_index(table[ra_column].to_numpy(), table[dec_column].to_numpy())
    table = table.append_column(SPATIAL_INDEX, pa.array(index, pa.int64()))
    parts = pixel_partitions(index, int(pixel_threshold), int(highest_order))
    return write_hats_partitions(out, ((o, p, table.take(rows)) for o, p, rows in parts), ra_column, dec_column,
                                 progress)


def write_sample_hats(root: str | os.PathLike, manifest: dict, progress: Optional[Callable[[str], None]] = None,
                      client=None) -> str:
    """Write a sample repository's ``objectTable`` files as the HATS catalog ``<root>/hats/object``
    and return that path relative to ``root`` (for the manifest). Partitions are small (at most
    150 rows of the small sample each) so the sample exercises merges across partitions. Written
    directly (:func:`write_table_hats`, no Dask) unless a Dask ``client`` is given (hats-import)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    paths = [str(root / p) for p in manifest["paths"]["objectTable"].values()]
    size = manifest.get("size", "small")
    threshold = 150 if size == "small" else 1_000_000
    order = 8 if size == "small" else 10
    if client is not None:
        out = write_hats_catalog(paths, root / "hats", name="object", client=client, pixel_threshold=threshold,
                                 highest_order=order, progress=progress)
    else:
        if not paths:
            raise HatsWriteError("no objectTable to write as a HATS catalog")
        table = pa.concat_tables([pq.read_table(p) for p in sorted(paths)])
        out = write_table_hats(table, root / "hats" / "object", pixel_threshold=threshold, highest_order=order,
                               progress=progress)
    return str(out.relative_to(root))


# ----- a survey-scale synthetic catalog, one partition at a time -----------------------------------
LARGE_HATS_ROWS = 100_000_000  # what ``make-sample --size large`` adds for the benchmarks (issue 17)
FIELD_RA = (50.0, 70.0)  # the synthetic survey's field (degrees): around the DC2 tracts of the sample
FIELD_DEC = (-46.0, -26.0)


def _field_pixels(order: int, ra_range, dec_range) -> "np.ndarray":
    """The pixels of ``order`` whose centres fall in the RA/Dec box, sorted."""
    import cdshealpix
    import numpy as np

    pix = np.arange(12 * 4**order, dtype=np.int64)
    lon, lat = cdshealpix.healpix_to_lonlat(pix, order)
    ra, dec = lon.deg, lat.deg
    keep = (ra >= ra_range[0]) & (ra < ra_range[1]) & (dec >= dec_range[0]) & (dec < dec_range[1])
    return pix[keep]


def synthetic_partitions(rows: int, seed: int = 7, partition_rows: int = 1_500_000,
                         ra_range=FIELD_RA, dec_range=FIELD_DEC):
    """(order, pixel, ``pyarrow.Table``) partitions of a synthetic object table of ``rows`` rows:
    the pixels (of the coarsest order that keeps partitions within ``partition_rows``, at least 4
    of them) whose centres lie in the field share the rows evenly, and each pixel's rows are drawn
    uniformly inside it (uniform order-29 sub-pixels: HEALPix pixels have equal areas), so every
    partition is generated on its own, deterministically from (seed, pixel). Columns: ``objectId``,
    ``coord_ra``, ``coord_dec``, ``g_psfFlux`` / ``r_psfFlux`` / ``i_psfFlux`` (nJy, log-normal,
    correlated: a colour-magnitude diagram has a shape), ``refExtendedness`` (0 or 1) and
    ``_healpix_29``. One partition is in memory at a time."""
    import cdshealpix
    import numpy as np
    import pyarrow as pa

    rows = int(rows)
    if rows < 1:
        raise HatsWriteError(f"a synthetic catalog needs at least one row, not {rows}")
    order = 1
    while True:
        pixels = _field_pixels(order, ra_range, dec_range)
        if (len(pixels) >= 4 and rows / len(pixels) <= partition_rows) or order >= 12:
            break
        order += 1
    shift = 2 * (INDEX_ORDER - order)
    per = np.full(len(pixels), rows // len(pixels), np.int64)
    per[: rows % len(pixels)] += 1
    first_id = 0
    for pixel, n in zip(pixels.tolist(), per.tolist()):
        rng = np.random.default_rng([int(seed), int(pixel)])
        index = np.sort(rng.integers(pixel << shift, (pixel + 1) << shift, n, dtype=np.int64))
        lon, lat = cdshealpix.healpix_to_lonlat(index, INDEX_ORDER, num_threads=1)
        g = rng.lognormal(7.0, 1.5, n)
        r = g * rng.lognormal(0.25, 0.3, n)
        i = r * rng.lognormal(0.15, 0.2, n)
        table = pa.table({
            "objectId": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "coord_ra": pa.array(lon.deg), "coord_dec": pa.array(lat.deg),
            "g_psfFlux": pa.array(g), "r_psfFlux": pa.array(r), "i_psfFlux": pa.array(i),
            "refExtendedness": pa.array((rng.random(n) < 0.7).astype(np.float64)),
            SPATIAL_INDEX: pa.array(index),
        })
        first_id += n
        yield order, pixel, table


def write_synthetic_hats(out: str | os.PathLike, rows: int = LARGE_HATS_ROWS, seed: int = 7,
                         partition_rows: int = 1_500_000,
                         progress: Optional[Callable[[str], None]] = None) -> Path:
    """Write :func:`synthetic_partitions` as the HATS catalog ``out``, partition by partition
    (memory: one partition, ~100 MB at the default size, whatever ``rows`` is)."""
    if progress:
        progress(f"writing a synthetic HATS catalog of {int(rows):,} rows at {out}")
    return write_hats_partitions(out, synthetic_partitions(rows, seed, partition_rows), progress=progress)
