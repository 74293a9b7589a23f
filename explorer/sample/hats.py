"""Write a parquet object table as a HATS catalog (HEALPix-partitioned parquet) with ``hats-import``.

Survey catalogs reach LSDB as HATS catalogs (``lsdb.open_catalog``); the sample writes its
``objectTable`` files as one so the LSDB path can be tried on the sample, and the benchmarks build
a large one the same way. :func:`write_hats_catalog` runs the real ``hats_import`` pipeline on a
Dask client: the caller's, or a small in-process one bound to 127.0.0.1 and closed afterwards.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from explorer.errors import ExplorerError

__all__ = ["write_hats_catalog", "HatsWriteError"]


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


def write_sample_hats(root: str | os.PathLike, manifest: dict, progress: Optional[Callable[[str], None]] = None,
                      client=None) -> str:
    """Write a sample repository's ``objectTable`` files as the HATS catalog ``<root>/hats/object``
    and return that path relative to ``root`` (for the manifest). Partitions are small (at most
    150 rows of the small sample each) so the sample exercises merges across partitions."""
    root = Path(root)
    paths = [str(root / p) for p in manifest["paths"]["objectTable"].values()]
    size = manifest.get("size", "small")
    threshold = 150 if size == "small" else 1_000_000
    out = write_hats_catalog(paths, root / "hats", name="object", client=client, pixel_threshold=threshold,
                             highest_order=8 if size == "small" else 10, progress=progress)
    return str(out.relative_to(root))
