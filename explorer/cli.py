"""The ``repo-explorer`` command: a stable interface other tools drive (see shared/DESIGN.md).

Names, flags and JSON keys here are a contract: add freely, rename nothing. Bad input exits with
status 2 and one line on stderr naming the problem, never a traceback; success exits 0.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Optional, Sequence

from .errors import ExplorerError

PROG = "repo-explorer"


class UsageError(ExplorerError):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as DESIGN.md asks
        raise UsageError(f"{self.prog}: {message}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress_for(args: argparse.Namespace):
    """Progress lines on stderr for a person at a terminal (or when --progress is given)."""
    if getattr(args, "progress", False) or sys.stderr.isatty():
        return _say
    return None


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.bool_):
            return bool(value)
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def _clean(value: Any) -> Any:
    """NaN/inf are not JSON: report them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _print_json(obj: Any) -> None:
    print(json.dumps(_clean(json.loads(json.dumps(obj, default=_json_default))), indent=2))


def _plain(value: Any) -> str:
    """A value for a person to read (and paste back): no Python reprs, no quotes or brackets.

    ``{'band': 'g', 'visit': 12}`` -> ``band=g, visit=12``; ``['SAT', 'CR']`` -> ``SAT, CR``.
    """
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _data_id_arg(data_id: dict[str, Any]) -> str:
    """A data ID as ``--data-id`` takes it: ``visit=159223,detector=38`` (patch "x,y" kept)."""
    return ",".join(f"{k}={v}" for k, v in data_id.items())


# ----- inventory -------------------------------------------------------------------------------
def cmd_inventory(args: argparse.Namespace) -> int:
    from .repo import open_repo

    repo = open_repo(args.repo, progress=_progress_for(args))
    try:
        inv = repo.inventory(collections=args.collections, check_files=args.check_files,
                             progress=_progress_for(args))
        example = None if args.json else _exposure_example(repo, inv, args.collections)
    finally:
        repo.close()
    if args.json:
        _print_json(inv.to_json())
        return 0
    print(f"Repository   {inv.root}  ({inv.kind})")
    print(f"Instrument   {inv.instrument or '-'}")
    print(f"Collections  {len(inv.collections)}" + (f": {', '.join(inv.collections[:6])}"
                                                    + (" ..." if len(inv.collections) > 6 else "")
                                                    if inv.collections else ""))
    print(f"Bands        {' '.join(inv.bands) or '-'}")
    print(f"Visits       {inv.visits}" + _visit_list(example))
    print(f"Detectors    {inv.detectors}")
    print(f"Tracts       {len(inv.tracts)}" + (f": {' '.join(map(str, inv.tracts[:12]))}"
                                                + (" ..." if len(inv.tracts) > 12 else "") if inv.tracts else ""))
    print(f"Patches      {inv.patches}")
    print(f"Sources      {'-' if inv.sources is None else inv.sources}")
    print(f"Sky area     {inv.sky_area_deg2:.3f} deg2" + (f" (skymap {inv.skymap})" if inv.skymap else ""))
    print()
    width = max([len(d.name) for d in inv.dataset_types] + [12])
    header = f"{'dataset type':<{width}}  {'count':>8}" + ("  missing" if args.check_files else "") + \
        "  storage class  dimensions"
    print(header)
    print("-" * len(header))
    for d in inv.dataset_types:
        miss = f"  {d.missing:>7}" if args.check_files else ""
        print(f"{d.name:<{width}}  {d.count:>8}{miss}  {d.storage_class or '-':<13}  {', '.join(d.dimensions)}")
    missing = [d for d in inv.dataset_types if d.missing_ids]
    if missing:
        print()
        print("Registered but not on disk:")
        for d in missing:
            for data_id in d.missing_ids[:MISSING_IDS_SHOWN]:
                print(f"  {d.name}  {_plain(data_id)}")
            if len(d.missing_ids) > MISSING_IDS_SHOWN:
                print(f"  {d.name}  ... and {len(d.missing_ids) - MISSING_IDS_SHOWN} more (--json lists them all)")
    if example is not None and example[1] is not None:
        print()
        print(f"Example      {PROG} exposure {args.repo} --dataset {example[0]} --data-id {_data_id_arg(example[1])}")
    for note in inv.notes:
        print(f"note: {note}")
    return 0


MISSING_IDS_SHOWN = 20  # per dataset type in the text inventory; --json lists every one
EXAMPLE_CANDIDATES = 8  # data IDs tried (one stat each) for an example that is on disk


def _exposure_example(repo, inv, collections: Optional[str]) -> Optional[tuple[str, Optional[dict], list]]:
    """(dataset type, short data ID on disk or None, visit ids with that type) for the text inventory.

    The inventory counts visits; a person then needs ids to type after ``--data-id``. This takes
    the first exposure type the inventory lists (calexps first, else coadds), whose data IDs the
    inventory has just queried, and a short data ID (``visit``+``detector``, or ``tract``+``patch``
    +``band``) that :meth:`locate` accepts and whose file is on disk.
    """
    from .repo.base import CALEXP_TYPES, COADD_TYPES

    present = {d.name for d in inv.dataset_types if d.count}
    name = next((t for t in CALEXP_TYPES + COADD_TYPES if t in present), None)
    if name is None:
        return None
    try:
        ids = repo.query_data_ids(name, collections=collections)
    except ExplorerError:
        return None
    visits = sorted({d["visit"] for d in ids if d.get("visit") is not None}, key=str)
    short_keys = ("visit", "detector", "ccd", "tract", "patch", "band", "filter")
    for data_id in ids[:EXAMPLE_CANDIDATES]:
        short = {k: data_id[k] for k in short_keys if k in data_id}
        if "visit" in short:
            short.pop("band", None), short.pop("filter", None)
        if repo.kind == "gen3" and "patch" in short and "tract" in short:
            short["patch"] = repo.patch_name(short["tract"], short["patch"])
        for candidate in (short, data_id):
            try:
                query = dict(candidate)
                if repo.kind == "gen3" and "," in str(query.get("patch", "")):
                    query["patch"] = repo.patch_id(str(query["patch"]))
                if repo.locate(name, query, collections).on_disk:
                    return name, candidate, visits
                break
            except ExplorerError:
                continue
    return name, None, visits


def _visit_list(example, limit: int = 12) -> str:
    """``": 159223 159249 ... (with calexp)"``: the visit ids a person can pass to --data-id."""
    if not example or not example[2]:
        return ""
    visits = example[2]
    shown = " ".join(map(str, visits[:limit])) + (" ..." if len(visits) > limit else "")
    return f" ({len(visits)} with {example[0]}: {shown})"


# ----- exposure --------------------------------------------------------------------------------
def _parse_data_id(text: Optional[str]) -> dict[str, Any]:
    if not text:
        return {}
    out: dict[str, Any] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            # a patch written "1,3" was split on its comma: glue it back to the previous value
            if out and part.lstrip("-").isdigit():
                last = list(out)[-1]
                out[last] = f"{out[last]},{part}"
                continue
            raise UsageError(f"bad --data-id item {part!r}: expected KEY=VALUE")
        key, value = part.split("=", 1)
        key, value = key.strip(), value.strip()
        if not key:
            raise UsageError(f"bad --data-id item {part!r}: empty key")
        out[key] = value
    return out


def _open_exposure_target(args: argparse.Namespace):
    from .repo import detect_kind, open_repo

    target = args.target
    remote = not os.path.exists(target) and _is_remote(target)
    if not os.path.exists(target) and not remote:
        raise ExplorerError(f"no such file or repository: {target}")
    if not remote and os.path.isfile(target):
        if args.data_id:
            raise UsageError("--data-id goes with a repository, not with a FITS file")
        from .repo import access

        return access.open_exposure(target), True
    detect_kind(target)  # a directory that is no repository: say so before anything else
    data_id = _parse_data_id(args.data_id)
    if not data_id:
        raise UsageError(f"{target} is a repository: give --data-id KEY=VALUE,... to pick the {args.dataset}")
    repo = open_repo(target, progress=_progress_for(args))
    try:
        if getattr(repo, "kind", "") == "gen3" and "patch" in data_id and "," in str(data_id["patch"]):
            data_id["patch"] = repo.patch_id(str(data_id["patch"]))
        exposure = repo.get_exposure(args.dataset, data_id, collections=args.collections)
        # the data ID as the registry types it (ints as ints, implied keys filled in), not as typed
        exposure.data_id = repo.locate(args.dataset, data_id, collections=args.collections).data_id
        return exposure, True
    finally:
        repo.close()


def _is_remote(target: str) -> bool:
    """A Butler server URL or a repository-index label (see explorer/repo/remote.py)."""
    from .repo.remote import is_remote_target

    return is_remote_target(target)


def exposure_summary(exposure, pixel: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """The DESIGN.md JSON object for one exposure."""
    info = exposure.info
    out: dict[str, Any] = {
        "path": info.path,
        "dataset_type": exposure.dataset_type,
        "data_id": exposure.data_id or None,
        "shape": [int(info.shape[0]), int(info.shape[1])],
        "xy0": [int(info.xy0[0]), int(info.xy0[1])],
        "planes": info.planes,
        "mask_planes": {k: int(v) for k, v in info.mask_planes.items()},
        "wcs_center": list(info.center_sky()) if info.has_sky and info.center_sky() else None,
        "zero_point_mag": info.zero_point_mag,
        "photo_calib": info.photo_calib,
        "filter": info.filter_label,
        "detector": info.detector,
        "psf": None if info.psf is None else {
            "kind": info.psf.kind, "sigma_pixels": info.psf.sigma_pixels, "fwhm_arcsec": info.psf.fwhm_arcsec},
        "visit_info": info.visit_info,
        "metadata_cards": int(info.metadata_cards),
        "on_disk": True,
        "format": getattr(info, "format", "afw"),
        "kind": getattr(info, "kind", None),
        "sky_exact": bool(getattr(info, "sky_exact", False)),
        "mask_plane_info": [{"name": p.name, "bit": int(p.bit), "description": p.description, "hdu": int(p.hdu)}
                            for p in getattr(info, "mask_schema", [])],
    }
    if getattr(info, "cells", None) is not None:
        c = info.cells
        out["cells"] = {"cell_shape": list(c.cell_shape), "first_cell": list(c.first_cell),
                        "num_cells": list(c.num_cells), "missing": [list(m) for m in c.missing],
                        "skymap": c.skymap, "tract": c.tract, "patch": c.patch}
    if pixel is not None:
        x, y = float(pixel[0]), float(pixel[1])
        if not info.has_sky:
            out["sky"] = None
        else:
            ra, dec = info.pixel_to_sky(x, y)
            out["sky"] = [float(ra), float(dec)]
        out["pixel"] = [x, y]
        # the pixel whose centre is nearest, half-pixels up (LSST convention, as views/info.py)
        ix, iy = math.floor(x + 0.5) - info.xy0[0], math.floor(y + 0.5) - info.xy0[1]
        ny, nx = info.shape
        out["pixel_index"] = [ix + info.xy0[0], iy + info.xy0[1]]
        out["on_image"] = bool(0 <= ix < nx and 0 <= iy < ny)
        if out["on_image"]:
            out["value"] = float(exposure.image[iy, ix])
            if "mask" in info.plane_hdus:
                bits = int(exposure.mask[iy, ix])
                out["mask_value"] = bits
                out["mask_set"] = info.decode_mask(bits)
            if "variance" in info.plane_hdus:
                out["variance"] = float(exposure.variance[iy, ix])
        else:
            out["value"] = None
            x0, y0 = info.xy0
            out["note"] = (f"pixel ({x:g}, {y:g}) is outside the image (x {x0}..{x0 + nx - 1}, "
                           f"y {y0}..{y0 + ny - 1}, xy0 included): no value"
                           + ("; its RA/Dec is extrapolated by the WCS" if out.get("sky") else ""))
    return out


def cmd_exposure(args: argparse.Namespace) -> int:
    exposure, _ = _open_exposure_target(args)
    summary = exposure_summary(exposure, args.pixel)
    if args.json:
        _print_json(summary)
        return 0
    info = exposure.info
    print(f"File          {info.path}")
    if exposure.dataset_type:
        print(f"Dataset       {exposure.dataset_type} {_plain(exposure.data_id)}")
    print(f"Shape         {info.shape[1]} x {info.shape[0]} (nx x ny), xy0 = {info.xy0}")
    print(f"Planes        {', '.join(info.planes)}")
    if info.mask_planes:
        by_bit = sorted(info.mask_planes.items(), key=lambda kv: kv[1])
        print("Mask planes   " + ", ".join(f"{k}={v}" for k, v in by_bit))
    centre = summary["wcs_center"]
    print(f"WCS centre    {'none' if centre is None else f'RA {centre[0]:.6f}  Dec {centre[1]:.6f}'}")
    zp = info.zero_point_mag
    print(f"Zero point    {'unknown' if zp is None else f'{zp:.4f} mag (AB, 1 count)'}")
    if info.filter_label:
        print(f"Filter        {_plain(info.filter_label)}")
    if info.psf is not None:
        fwhm = f", FWHM {info.psf.fwhm_arcsec:.3f} arcsec" if info.psf.fwhm_arcsec else ""
        print(f"PSF           {info.psf.kind}{fwhm}")
    if info.visit_info:
        print("Visit info")
        width = max(len(k) for k in info.visit_info) + 2
        for key, value in info.visit_info.items():
            print(f"  {key:<{width}}{_plain(value)}")
    print(f"Metadata      {info.metadata_cards} cards")
    if args.pixel is not None:
        sky = summary.get("sky")
        print(f"Pixel         ({args.pixel[0]:g}, {args.pixel[1]:g}) -> "
              + ("no WCS" if sky is None else f"RA {sky[0]:.7f}  Dec {sky[1]:.7f}")
              + ("" if summary.get("value") is None else f"  value {summary['value']:.6g}")
              + (f"  mask {_plain(summary['mask_set'])}" if summary.get("mask_set") else ""))
        if not summary["on_image"]:
            print(f"              {summary['note']}")
    return 0


# ----- cutout ----------------------------------------------------------------------------------
def cmd_cutout(args: argparse.Namespace) -> int:
    """A FITS cutout around an RA/Dec centre (see explorer/repo/cutout.py)."""
    from .repo import access
    from .repo.cutout import sky_box, write_cutout

    nx = args.size[0]
    ny = args.size[1] if len(args.size) > 1 else nx
    if len(args.size) > 2:
        raise UsageError("--size takes NX or NX NY")
    exposure, _ = _open_exposure_target(args)
    box = sky_box(exposure, args.center[0], args.center[1], nx, ny)
    summary = write_cutout(exposure, box, args.out)
    written = access.exposure_info(summary["path"])
    cx, cy = box.center
    sky = written.pixel_to_sky(cx, cy) if written.wcs is not None else None
    summary.update({
        "source": exposure.info.path,
        "dataset_type": exposure.dataset_type,
        "data_id": exposure.data_id or None,
        "center": [float(args.center[0]) % 360.0, float(args.center[1])],
        "center_pixel": [float(cx), float(cy)],
        "center_sky": None if sky is None else [float(sky[0]), float(sky[1])],
    })
    if args.json:
        _print_json(summary)
        return 0
    print(f"wrote {summary['path']}: {box.nx} x {box.ny} pixels at xy0 ({box.x0}, {box.y0}), planes "
          f"{', '.join(summary['planes'])}" + (" (cut at the image edge)" if box.clipped else ""))
    return 0


# ----- histogram -------------------------------------------------------------------------------
MAX_HISTOGRAM_FILES = 2000  # more catalog files than this: use a HATS catalog and Dask


def _histogram_of_files(paths: list[str], column: str, bins: int, log: bool, value_range) -> Any:
    """One histogram over the column of several catalog files (numpy's counts for their union)."""
    import numpy as np

    from .compute.histogram import (
        HistogramResult,
        _check_bins,
        _check_range,
        count,
        edges_for,
        prepare,
    )
    from .repo import access

    bins = _check_bins(bins)
    arrays, rows, non_finite, non_positive = [], 0, 0, 0
    for path in paths:
        df = access.read_catalog(path, [column])
        values, nf, npos = prepare(df[column], column, log)
        arrays.append(values)
        rows += len(df)
        non_finite += nf
        non_positive += npos
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    if value_range is not None:
        lo, hi = _check_range(value_range, log)
        source = "given"
    else:
        lo, hi = edges_for(float(values.min()), float(values.max()), bins) if values.size else (0.0, 1.0)
        source = "data"
    return HistogramResult(column, rows, np.linspace(lo, hi, bins + 1), count(values, bins, lo, hi), bool(log),
                           non_finite, non_positive, source, {"files": len(paths)})


def _catalog_paths(args: argparse.Namespace) -> list[str]:
    """The catalog files a histogram TARGET names (a file, or datasets of a repository)."""
    from .repo import detect_kind, open_repo
    from .repo.base import COADD_CATALOG_TYPES, SOURCE_TYPES
    from .repo.errors import NotOnDiskError

    target = args.target
    if os.path.isfile(target):
        if args.data_id or args.dataset:
            raise UsageError("--dataset and --data-id go with a repository, not with a catalog file")
        return [target]
    detect_kind(target)
    repo = open_repo(target)
    try:
        dataset = args.dataset or repo.first_present(SOURCE_TYPES + COADD_CATALOG_TYPES)
        if dataset is None:
            raise ExplorerError(f"{target} holds no catalog dataset type: give --dataset NAME")
        data_id = _parse_data_id(args.data_id)
        if getattr(repo, "kind", "") == "gen3" and "patch" in data_id and "," in str(data_id["patch"]):
            data_id["patch"] = repo.patch_id(str(data_id["patch"]))
        if data_id:
            ids = [data_id] if set(data_id) >= set(repo.dimensions_of(dataset)) - {"instrument", "skymap"} \
                else repo.query_data_ids(dataset, where=data_id, collections=args.collections)
        else:
            ids = repo.query_data_ids(dataset, collections=args.collections)
        if not ids:
            raise ExplorerError(f"no {dataset} datasets" + (f" with {args.data_id}" if data_id else "")
                                + (f" in {args.collections}" if args.collections else ""))
        if len(ids) > MAX_HISTOGRAM_FILES:
            raise ExplorerError(f"{len(ids)} {dataset} files is more than {MAX_HISTOGRAM_FILES} to read here: "
                                "narrow --data-id or histogram the HATS catalog with Dask")
        paths = []
        for did in ids:
            try:
                paths.append(repo._existing_path(dataset, did, args.collections))
            except NotOnDiskError:
                if len(ids) == 1:
                    raise
        if not paths:
            raise NotOnDiskError(f"none of the {len(ids)} {dataset} files is on disk")
        args.dataset = dataset
        return paths
    finally:
        repo.close()


def cmd_histogram(args: argparse.Namespace) -> int:
    """Histogram of one catalog column: a catalog file, a repository's catalogs, or a HATS catalog."""
    target = args.target
    is_url = "://" in target
    hats_url = is_url and "/api/butler/" not in target  # (a Butler server URL is a repository)
    if not is_url and not os.path.exists(target):
        raise ExplorerError(f"no such file, repository or HATS catalog: {target}")
    if args.range is not None and not args.range[0] < args.range[1]:
        raise UsageError(f"bad --range {args.range[0]:g} {args.range[1]:g}: LO must be below HI")
    from .compute.hats import is_hats_catalog

    if hats_url or (not is_url and os.path.isdir(target) and is_hats_catalog(target)):
        if args.data_id or args.dataset:
            raise UsageError("--dataset and --data-id go with a repository, not with a HATS catalog")
        from .compute.cluster import check_address, dask_client
        from .compute.hats import hats_histogram, open_hats

        open_hats(target, [args.column])  # a bad column or catalog: say so before starting any cluster
        if args.dask_scheduler:
            check_address(args.dask_scheduler)
        progress = _progress_for(args)
        with dask_client(args.dask_scheduler) as client:
            hist = hats_histogram(target, args.column, client, bins=args.bins, log=args.log,
                                  value_range=args.range,
                                  progress=(lambda d, t: progress(f"{d}/{t} partitions")) if progress else None)
    else:
        paths = _catalog_paths(args)
        hist = _histogram_of_files(paths, args.column, args.bins, args.log, args.range)
        if args.dataset:
            hist.extra["dataset_type"] = args.dataset
    if args.json:
        _print_json(hist.to_json())
        return 0
    label = f"log10({hist.column})" if hist.log else hist.column
    print(f"{label}: {hist.used:,} of {hist.rows:,} rows in {len(hist.counts)} bins"
          + (f" ({hist.non_finite:,} non-finite" + (f", {hist.non_positive:,} <= 0" if hist.log else "") + " left out)"
             if hist.non_finite or hist.non_positive else ""))
    for lo, hi, n in zip(hist.edges[:-1], hist.edges[1:], hist.counts):
        print(f"{lo:14.6g} {hi:14.6g} {int(n):10d}")
    return 0


# ----- skymap ----------------------------------------------------------------------------------
def _tract_json(tract, patches: Optional[list] = None) -> dict[str, Any]:
    ra, dec = tract.ctr_coord
    return {
        "tract": int(tract.tract_id),
        "center": [float(ra), float(dec)],
        "vertices": [[float(a), float(b)] for a, b in tract.inner_vertices_deg],
        "patches": [p.name for p in (patches if patches is not None else tract.patches())],
    }


def cmd_skymap(args: argparse.Namespace) -> int:
    from .sky import skymap_by_name, skymap_names

    try:
        sm = skymap_by_name(args.name)
    except KeyError:
        raise UsageError(f"unknown skymap {args.name!r}: built in are {', '.join(skymap_names())}") from None
    tracts: list[dict[str, Any]] = []
    if args.tract is not None:
        if not 0 <= args.tract < sm.num_tracts:
            raise ExplorerError(f"no tract {args.tract} in the {sm.name} skymap (tracts are 0..{sm.num_tracts - 1})")
        tracts.append(_tract_json(sm.tract(args.tract)))
    if args.at:
        for ra, dec in args.at:
            if not (-90.0 <= dec <= 90.0) or not math.isfinite(ra):
                raise ExplorerError(f"bad position RA {ra} Dec {dec}: Dec must lie in [-90, 90]")
        for tract, patches in sm.find_tract_patch_list([(ra % 360.0, dec) for ra, dec in args.at]):
            tracts.append(_tract_json(tract, patches))
    out = {"skymap": sm.name, "num_tracts": int(sm.num_tracts), "tracts": tracts}
    if args.json:
        _print_json(out)
        return 0
    print(f"Skymap {sm.name}: {sm.num_tracts} tracts")
    for t in tracts:
        print(f"tract {t['tract']}: centre RA {t['center'][0]:.4f} Dec {t['center'][1]:.4f}")
        print("  inner vertices: " + "  ".join(f"({a:.4f}, {b:.4f})" for a, b in t["vertices"]))
        print(f"  patches ({len(t['patches'])}): {' '.join(t['patches'])}")
    return 0


# ----- make-sample / serve -------------------------------------------------------------------
def cmd_make_sample(args: argparse.Namespace) -> int:
    import time

    from .defaults import default_sample_dir
    from .sample import make_sample

    dest = args.dir or str(default_sample_dir() if args.layout == "gen3"
                           else default_sample_dir().with_name("dc2-gen2"))
    start = time.perf_counter()
    release = getattr(args, "release", "dc2") or "dc2"
    if release != "dc2" and not args.dir:
        dest = str(default_sample_dir().with_name(f"{release}-gen3"))
    path = make_sample(dest, layout=args.layout, size=args.size, seed=args.seed, progress=_say, release=release)
    _say(f"sample repository ({args.layout}, {args.size}, seed {args.seed}) written to {path} "
         f"in {time.perf_counter() - start:.1f} s")
    print(path)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    if args.repo and not os.path.exists(args.repo) and not _is_remote(args.repo):
        raise ExplorerError(f"no such repository: {args.repo}")
    serve(args.repo, port=args.port, repo_roots=args.repo_root or [], address=args.address,
          num_procs=args.num_procs, allow_websocket_origin=args.allow_websocket_origin or [],
          basic_auth=args.basic_auth, show=args.show, allow_registry_hosts=args.allow_registry_host or [],
          dask_scheduler=args.dask_scheduler)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="See what is in a Rubin Observatory (LSST) data repository "
                                            "and where it is on the sky.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("serve", help="start the app at /explorer (default: the sample repository)")
    p.add_argument("repo", nargs="?", help="repository to open first (default: the sample, built if absent)")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--address", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--repo-root", action="append", metavar="DIR",
                   help="confine the repository-path widget to this directory (repeatable)")
    p.add_argument("--allow-registry-host", action="append", metavar="HOST",
                   help="with --repo-root: let repositories use a database (or storage) server on HOST "
                        "(repeatable; default: none, only files inside the roots)")
    p.add_argument("--num-procs", type=int, default=1)
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]")
    p.add_argument("--basic-auth", metavar="USER:PASSWORD|FILE", help="require a login (see docs/hosting.md)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                   help="compute HATS catalogs on this Dask scheduler (default: a LocalCluster on 127.0.0.1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("make-sample", help="write the DC2-like sample repository")
    p.add_argument("dir", nargs="?", help="where to write it (default: sample_repo/ of the checkout)")
    p.add_argument("--layout", choices=["gen3", "gen2"], default="gen3")
    p.add_argument("--size", choices=["small", "large", "survey"], default="small")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--release", choices=["dc2", "dp1", "dp2"], default="dc2",
                   help="dc2 (default); dp1: LSSTComCam, lsst_cells_v1, afw files; dp2: LSSTCam, lsst_cells_v2, "
                        "lsst.images files")
    p.set_defaults(func=cmd_make_sample)

    p = sub.add_parser("inventory", help="what the repository holds (registry queries only)")
    p.add_argument("repo")
    p.add_argument("--collections", metavar="GLOB", help="only these collections (glob; default all)")
    p.add_argument("--check-files", action="store_true", help="stat every registered file (slow on big repos)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true", help="progress lines on stderr even when not a terminal")
    p.set_defaults(func=cmd_inventory)

    p = sub.add_parser("exposure", help="describe one exposure (a FITS file, or a dataset in a repository)")
    p.add_argument("target", help="a FITS file, or a repository with --data-id")
    p.add_argument("--dataset", default="calexp")
    p.add_argument("--collections", metavar="GLOB")
    p.add_argument("--data-id", metavar="KEY=VALUE,...")
    p.add_argument("--pixel", nargs=2, type=float, metavar=("X", "Y"),
                   help="0-based parent pixel (xy0 included), as afw's pixelToSky")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_exposure)

    p = sub.add_parser("cutout", help="write a FITS cutout (image, mask, variance, WCS) around an RA/Dec")
    p.add_argument("target", help="a FITS file, or a repository with --data-id")
    p.add_argument("--dataset", default="calexp")
    p.add_argument("--collections", metavar="GLOB")
    p.add_argument("--data-id", metavar="KEY=VALUE,...")
    p.add_argument("--center", nargs=2, type=float, required=True, metavar=("RA", "DEC"), help="degrees")
    p.add_argument("--size", nargs="+", type=int, required=True, metavar="N", help="NX [NY] pixels")
    p.add_argument("--out", required=True, metavar="FILE.fits")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cutout)

    p = sub.add_parser("histogram", help="histogram of a catalog column (file, repository or HATS catalog)")
    p.add_argument("target", help="a repository, a catalog file (afw FITS or parquet) or a HATS catalog")
    p.add_argument("--dataset", help="catalog dataset type in a repository (default: the first source table)")
    p.add_argument("--collections", metavar="GLOB")
    p.add_argument("--data-id", metavar="KEY=VALUE,...", help="one catalog, or a subset (default: all)")
    p.add_argument("--column", required=True)
    p.add_argument("--bins", type=int, default=50)
    p.add_argument("--log", action="store_true", help="histogram log10 of the positive values (edges in log10)")
    p.add_argument("--range", nargs=2, type=float, metavar=("LO", "HI"), help="(log10 units with --log)")
    p.add_argument("--dask-scheduler", metavar="ADDR", help="tcp://HOST:PORT of a Dask scheduler (HATS "
                                                           "catalogs; default: a local cluster)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--progress", action="store_true", help="progress lines on stderr even when not a terminal")
    p.set_defaults(func=cmd_histogram)

    p = sub.add_parser("skymap", help="skymap geometry (DC2, lsst_cells_v1, lsst_cells_v2): tracts, patches, look-ups")
    p.add_argument("--name", default="dc2", help="dc2 (default), lsst_cells_v1 (DP1) or lsst_cells_v2 (DP2)")
    p.add_argument("--tract", type=int)
    p.add_argument("--at", nargs=2, type=float, action="append", metavar=("RA", "DEC"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_skymap)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except ExplorerError as exc:
        message = " ".join(str(exc).split())
        _say(message if message.startswith(PROG) else f"{PROG}: error: {message}")
        return 2
    except KeyboardInterrupt:
        _say(f"{PROG}: interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input: still one line unless asked for the traceback
        if os.environ.get("REPO_EXPLORER_DEBUG"):
            raise
        _say(f"{PROG}: internal error ({type(exc).__name__}): {' '.join(str(exc).split())} "
             f"(set REPO_EXPLORER_DEBUG=1 for a traceback)")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
