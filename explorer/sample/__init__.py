"""The DC2-like sample repository: a real Gen3 Butler repository that looks like DESC DC2 Run2.2i.

Entry point: :func:`make_sample` (also ``repo-explorer make-sample``).

The package is split so that a second layout writer (Gen2, ``explorer/sample/gen2.py``) writes the
SAME content:

``content.py``  the pure content model. :func:`content.build_content(seed, size)` returns a
                :class:`content.SampleContent` (instrument, filters, the 189 detectors, visits with
                pointing/time/filter/seeing, which visit-detectors have calexps and which one is
                missing, tracts, patches with coadds) without synthesising anything; the
                ``synthesize_*`` / ``measure_*`` functions then produce one file's data at a time
                (an :class:`content.ExposureData`, an afw catalog, or a DataFrame), deterministically
                from the seed. Helpers: ``camera`` (LSSTCam-imSim geometry), ``optics`` (sky <->
                pixel, TAN-SIP cards), ``truth`` (the true sky by cell), ``render`` (pixels),
                ``catalogs`` (measurements and catalog layouts).
``afwfits.py``  afw-layout FITS writers (astropy only): ``write_exposure(path, ExposureData)``,
                ``write_source_catalog(path, AfwCatalog)``, ``write_parquet(path, DataFrame)``.
``gen3.py``     the Gen3 writer: registry records, dataset types, collections, streamed ingest.

A Gen2 writer loops over the same content (``content.calexps``, ``content.coadds``,
``content.source_table_visits()``), calls the same ``synthesize_*`` functions and ``afwfits``
writers, and only decides file names (obs_lsst/obs_base templates) and the Gen2 registry.
``content.iter_products(content)`` yields every file in streaming order (dataset type, Gen3 data ID,
kind, ``make()``, Gen2 template values, ``on_disk``); README.md in this folder has the exact recipe
and what the small and large samples contain.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Optional

from explorer.errors import ExplorerError

__all__ = ["make_sample", "SampleError", "MANIFEST_NAME"]

MANIFEST_NAME = "sample_manifest.json"


class SampleError(ExplorerError):
    """The sample cannot be written (bad size/layout/seed, or the destination is not empty)."""


def _dir_size(path: Path) -> tuple[int, int]:
    total, files = 0, 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            total += os.path.getsize(os.path.join(dirpath, n))
            files += 1
    return total, files


RELEASES = ("dc2", "dp1", "dp2")


def make_sample(dest: str | os.PathLike, layout: str = "gen3", size: str = "small", seed: int = 1,
                progress: Optional[Callable[[str], None]] = None, release: str = "dc2") -> Path:
    """Write the DC2-like sample repository at ``dest`` and return its path.

    ``layout``: "gen3" (a Butler repository) or "gen2" (the Gen2 directory layout, when
    ``explorer.sample.gen2`` exists). ``size``: "small" (seconds, tens of MB) or "large" (a
    benchmark repository: full-size images, 10M+ catalog rows; see README.md in this package).
    The same seed gives the same pixels, catalogs and dataset ids. ``dest`` must not exist or be
    an empty directory. ``sample_manifest.json`` at the root records the truth.
    ``release``: "dc2" (default, the DC2-like sample), or "dp1"/"dp2" for a small Gen3 sample shaped
    like Rubin's Data Preview 1 (LSSTComCam, lsst_cells_v1, afw files) or 2 (LSSTCam,
    lsst_cells_v2, lsst.images files); see :mod:`explorer.sample.releases`.
    """
    from . import content as C

    if release not in RELEASES:
        raise SampleError(f"unknown release {release!r} (use {', '.join(RELEASES)})")
    if release != "dc2":
        return _make_release_sample(dest, layout, size, seed, progress, release)
    if size == "survey" or size.startswith("survey-"):  # registry-heavy, few files: sample/survey.py
        return _make_survey(dest, layout, size, seed, progress)
    if layout not in ("gen3", "gen2"):
        raise SampleError(f"unknown layout {layout!r} (use gen3 or gen2)")
    if size not in C.SIZES:
        raise SampleError(f"unknown sample size {size!r} (use small or large)")
    seed = _checked_seed(seed)
    dest = _empty_destination(dest)
    start = time.perf_counter()
    if progress:
        progress(f"planning the {size} sample (seed {seed})")
    content = C.build_content(seed, size)
    if layout == "gen3":
        from .gen3 import write_gen3 as write
    else:
        try:
            from .gen2 import write_gen2 as write
        except ImportError:
            raise SampleError("the Gen2 sample layout is not available in this version") from None
    manifest = _written(dest, lambda: write(content, dest, progress))
    manifest = dict(_common_manifest(content), **manifest)
    manifest["hats"] = _written_hats(dest, manifest, size, progress)
    manifest["seconds"] = round(time.perf_counter() - start, 2)
    return _finish(dest, manifest, progress)


def _written_hats(dest: Path, manifest: dict, size: str, progress) -> dict:
    """The sample's HATS catalogs (paths relative to ``dest``): the objectTable as ``hats/object``
    (written directly, no Dask: a fraction of a second) and, for the large sample, a synthetic
    survey-scale object catalog ``hats/survey_object`` (100 M rows, written partition by partition)."""
    from .hats import LARGE_HATS_ROWS, write_sample_hats, write_synthetic_hats

    hats = {"object": write_sample_hats(dest, manifest, progress)}
    if size == "large":
        out = write_synthetic_hats(dest / "hats" / "survey_object", rows=LARGE_HATS_ROWS, progress=progress)
        hats["survey_object"] = str(out.relative_to(dest))
        hats["survey_object_rows"] = LARGE_HATS_ROWS
    return hats


def _make_release_sample(dest, layout: str, size: str, seed, progress, release: str) -> Path:
    """A DP1/DP2-shaped sample (explorer.sample.releases): Gen3 and small only."""
    if layout != "gen3":
        raise SampleError(f"the {release} sample is a Gen3 repository (Rubin's releases have no Gen2 layout)")
    if size != "small":
        raise SampleError(f"the {release} sample comes in size small only")
    seed = _checked_seed(seed)
    dest = _empty_destination(dest)
    from .releases import write_release

    start = time.perf_counter()
    manifest = _written(dest, lambda: write_release(dest, release, seed, progress))
    manifest.update({"generator": "explorer.sample", "format_version": 1, "size": size,
                     "seconds": round(time.perf_counter() - start, 2)})
    return _finish(dest, manifest, progress)


def _make_survey(dest, layout: str, size: str, seed, progress) -> Path:
    from .survey import SURVEY_SIZES, write_survey

    if layout != "gen3":
        raise SampleError(f"the {size} sample is a Gen3 registry only (use --layout gen3)")
    if size not in SURVEY_SIZES:
        raise SampleError(f"unknown sample size {size!r} (use one of {', '.join(SURVEY_SIZES)})")
    dest = _empty_destination(dest)
    cfg = SURVEY_SIZES[size]
    manifest = _written(dest, lambda: write_survey(dest, cfg.visits, cfg.tracts, seed=int(seed),
                                                   progress=progress))
    manifest.update({"generator": "explorer.sample", "size": size, "seed": int(seed)})
    with open(dest / MANIFEST_NAME, "w") as fh:
        json.dump(manifest, fh, indent=1, default=_json_default)
    if progress:
        progress(f"wrote {manifest['total_datasets']} datasets in {manifest['write_seconds']:.1f} s")
    return dest


def _checked_seed(seed) -> int:
    """The seed as a non-negative integer, or a SampleError saying what is wrong with it."""
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise SampleError(f"seed must be an integer, got {seed!r}") from None
    if seed < 0:
        raise SampleError(f"seed must be >= 0, got {seed}")
    return seed


def _empty_destination(dest) -> Path:
    """The resolved destination, which must be absent or an empty directory."""
    dest = Path(dest).expanduser().resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise SampleError(f"destination is not an empty directory: {dest}")
    return dest


def _written(dest: Path, write):
    """``write()``'s manifest; a destination this call created is removed again if writing fails."""
    created = not dest.exists()
    try:
        return write()
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise


def _finish(dest: Path, manifest: dict, progress) -> Path:
    """Count what was written, save the manifest beside it (counted too) and say so."""
    nbytes, nfiles = _dir_size(dest)
    manifest["bytes_on_disk"] = nbytes
    manifest["files_on_disk"] = nfiles + 1
    with open(dest / MANIFEST_NAME, "w") as fh:
        json.dump(manifest, fh, indent=1, default=_json_default)
    if progress:
        progress(f"wrote {nfiles} files, {nbytes / 1e6:.1f} MB, in {manifest['seconds']:.1f} s")
    return dest


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _common_manifest(content) -> dict:
    """Layout-independent truth: what both the Gen3 and Gen2 writers put in the manifest."""
    from . import content as C

    cfg = content.size
    return {
        "generator": "explorer.sample",
        "format_version": 1,
        "seed": content.seed,
        "size": cfg.name,
        "instrument": content.instrument,
        "instrument_class": C.camera.INSTRUMENT_CLASS,
        "bands": list(C.BANDS),
        "physical_filters": content.physical_filters,
        "n_detectors": len(content.detectors),
        "skymap": C.SKYMAP_NAME,
        "tracts": list(content.tracts),
        "focus_radec": list(C.FOCUS),
        "collections": {"defaults": C.CHAIN_DEFAULTS, "runs_chain": C.CHAIN_RUNS,
                        "calexp_run": C.RUN_CALEXP, "coadd_run": C.RUN_COADD, "skymaps_run": C.RUN_SKYMAPS},
        "visits": [{
            "id": v.id, "band": v.band, "physical_filter": v.physical_filter, "ra": v.ra, "dec": v.dec,
            "sky_angle": v.sky_angle, "day_obs": v.day_obs, "mjd_begin_tai": v.mjd_begin_tai,
            "seeing_fwhm": v.seeing_fwhm, "zero_point": v.zero_point, "airmass": v.airmass,
            "has_calexp": any(c.visit == v.id for c in content.calexps),
        } for v in content.visits],
        "calexp_box": list(cfg.calexp_box) if cfg.calexp_box else None,
        "coadd_box": list(cfg.coadd_box) if cfg.coadd_box else None,
        "coadd_bands": list(cfg.coadd_bands),
        "mask_planes": {"calexp": C.CALEXP_MASK_PLANES, "coadd": C.COADD_MASK_PLANES},
        "truth_density_per_deg2": {"stars_a": cfg.density.stars_a, "galaxies_a": cfg.density.galaxies_a,
                                   "faint_b": cfg.density.faint_b},
    }
