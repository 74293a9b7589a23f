"""``repo-explorer exposure``: describe one exposure, from a FITS file or a repository's dataset.

The JSON object (:func:`exposure_summary`) is the contract of shared/DESIGN.md. A pixel is looked
up as everywhere in the project: 0-based parent coordinates (xy0 included), the pixel whose centre
is nearest, half-pixels up (``floor(x + 0.5)``).
"""
from __future__ import annotations

import argparse
import math
import os
from typing import Any, Optional, Sequence

from ..errors import ExplorerError
from .common import (
    UsageError,
    is_remote,
    parse_data_id,
    plain,
    print_json,
    progress_for,
    with_patch_id,
)


def open_exposure_target(args: argparse.Namespace) -> tuple[Any, bool]:
    """The exposure that ``args.target`` names: a FITS file, or a dataset of a repository.

    Parameters
    ----------
    args : argparse.Namespace
        ``target`` (a FITS file, a repository path, a Butler server URL or a repository-index
        label), ``dataset``, ``collections`` and ``data_id`` (required with a repository).

    Returns
    -------
    exposure : explorer.repo.model.Exposure
        With ``data_id`` as the registry types it (ints as ints, implied keys filled in).
    on_disk : bool
        Always True (a dataset whose file is absent raises instead).

    Raises
    ------
    UsageError
        ``--data-id`` with a file, or a repository without ``--data-id``.
    ExplorerError
        No such file or repository; the dataset not found or not on disk (``NotOnDiskError``).
    """
    from ..repo import detect_kind, open_repo

    target = args.target
    remote = not os.path.exists(target) and is_remote(target)
    if not os.path.exists(target) and not remote:
        raise ExplorerError(f"no such file or repository: {target}")
    if not remote and os.path.isfile(target):
        if args.data_id:
            raise UsageError("--data-id goes with a repository, not with a FITS file")
        from ..repo import access

        return access.open_exposure(target), True
    detect_kind(target)  # a directory that is no repository: say so before anything else
    data_id = parse_data_id(args.data_id)
    if not data_id:
        raise UsageError(f"{target} is a repository: give --data-id KEY=VALUE,... to pick the {args.dataset}")
    repo = open_repo(target, progress=progress_for(args))
    try:
        with_patch_id(repo, data_id)
        exposure = repo.get_exposure(args.dataset, data_id, collections=args.collections)
        # the data ID as the registry types it (ints as ints, implied keys filled in), not as typed
        exposure.data_id = repo.locate(args.dataset, data_id, collections=args.collections).data_id
        return exposure, True
    finally:
        repo.close()


def exposure_summary(exposure, pixel: Optional[Sequence[float]] = None) -> dict[str, Any]:
    """The DESIGN.md JSON object for one exposure (``repo-explorer exposure --json``).

    Parameters
    ----------
    exposure : explorer.repo.model.Exposure
        The exposure, as :func:`open_exposure_target` or ``access.open_exposure`` returns it.
    pixel : (float, float), optional
        A 0-based parent pixel (xy0 included, LSST convention): adds ``sky``, ``pixel``,
        ``pixel_index``, ``on_image`` and the value, mask bits and variance there.

    Returns
    -------
    dict
        The keys shared/DESIGN.md lists (``shape``, ``xy0``, ``planes``, ``mask_planes``,
        ``wcs_center``, ``zero_point_mag``, ``visit_info``, ``metadata_cards``, ``on_disk``, ...).
    """
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
    """Describe one exposure: JSON (``--json``, see :func:`exposure_summary`) or text for a person.

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``dataset``, ``collections``, ``data_id``, ``pixel``, ``json``.

    Returns
    -------
    int
        The exit status, 0.
    """
    exposure, _ = open_exposure_target(args)
    summary = exposure_summary(exposure, args.pixel)
    if args.json:
        print_json(summary)
        return 0
    info = exposure.info
    print(f"File          {info.path}")
    if exposure.dataset_type:
        print(f"Dataset       {exposure.dataset_type} {plain(exposure.data_id)}")
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
        print(f"Filter        {plain(info.filter_label)}")
    if info.psf is not None:
        fwhm = f", FWHM {info.psf.fwhm_arcsec:.3f} arcsec" if info.psf.fwhm_arcsec else ""
        print(f"PSF           {info.psf.kind}{fwhm}")
    if info.visit_info:
        print("Visit info")
        width = max(len(k) for k in info.visit_info) + 2
        for key, value in info.visit_info.items():
            print(f"  {key:<{width}}{plain(value)}")
    print(f"Metadata      {info.metadata_cards} cards")
    if args.pixel is not None:
        sky = summary.get("sky")
        print(f"Pixel         ({args.pixel[0]:g}, {args.pixel[1]:g}) -> "
              + ("no WCS" if sky is None else f"RA {sky[0]:.7f}  Dec {sky[1]:.7f}")
              + ("" if summary.get("value") is None else f"  value {summary['value']:.6g}")
              + (f"  mask {plain(summary['mask_set'])}" if summary.get("mask_set") else ""))
        if not summary["on_image"]:
            print(f"              {summary['note']}")
    return 0
