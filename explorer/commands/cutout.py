"""``repo-explorer cutout``: a FITS cutout (image, mask, variance; WCS and xy0 right) around an RA/Dec."""
from __future__ import annotations

import argparse

from .common import UsageError, print_json
from .exposure import open_exposure_target


def cmd_cutout(args: argparse.Namespace) -> int:
    """Write a FITS cutout around an RA/Dec centre (see explorer/repo/cutout.py).

    Parameters
    ----------
    args : argparse.Namespace
        ``target``, ``dataset``, ``collections``, ``data_id`` (as for ``exposure``), ``center``
        (RA, Dec in degrees), ``size`` (NX [NY] pixels), ``out`` (the FITS file), ``json``.

    Returns
    -------
    int
        The exit status, 0 (a centre off the image raises an ExplorerError: exit 2).
    """
    from ..repo import access
    from ..repo.cutout import sky_box, write_cutout

    nx = args.size[0]
    ny = args.size[1] if len(args.size) > 1 else nx
    if len(args.size) > 2:
        raise UsageError("--size takes NX or NX NY")
    exposure, _ = open_exposure_target(args)
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
        print_json(summary)
        return 0
    print(f"wrote {summary['path']}: {box.nx} x {box.ny} pixels at xy0 ({box.x0}, {box.y0}), planes "
          f"{', '.join(summary['planes'])}" + (" (cut at the image edge)" if box.clipped else ""))
    return 0
