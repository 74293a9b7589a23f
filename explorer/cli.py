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


# ----- inventory -------------------------------------------------------------------------------
def cmd_inventory(args: argparse.Namespace) -> int:
    from .repo import open_repo

    repo = open_repo(args.repo, progress=_progress_for(args))
    try:
        inv = repo.inventory(collections=args.collections, check_files=args.check_files,
                             progress=_progress_for(args))
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
    print(f"Visits       {inv.visits}")
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
    for note in inv.notes:
        print(f"note: {note}")
    return 0


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
        return repo.get_exposure(args.dataset, data_id, collections=args.collections), True
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
        "wcs_center": list(info.center_sky()) if info.wcs is not None and info.center_sky() else None,
        "zero_point_mag": info.zero_point_mag,
        "photo_calib": info.photo_calib,
        "filter": info.filter_label,
        "detector": info.detector,
        "psf": None if info.psf is None else {
            "kind": info.psf.kind, "sigma_pixels": info.psf.sigma_pixels, "fwhm_arcsec": info.psf.fwhm_arcsec},
        "visit_info": info.visit_info,
        "metadata_cards": int(info.metadata_cards),
        "on_disk": True,
    }
    if pixel is not None:
        x, y = float(pixel[0]), float(pixel[1])
        if info.wcs is None:
            out["sky"] = None
        else:
            ra, dec = info.pixel_to_sky(x, y)
            out["sky"] = [float(ra), float(dec)]
        out["pixel"] = [x, y]
        ix, iy = int(round(x)) - info.xy0[0], int(round(y)) - info.xy0[1]
        ny, nx = info.shape
        if 0 <= ix < nx and 0 <= iy < ny:
            out["value"] = float(exposure.image[iy, ix])
            if "mask" in info.plane_hdus:
                bits = int(exposure.mask[iy, ix])
                out["mask_value"] = bits
                out["mask_set"] = info.decode_mask(bits)
            if "variance" in info.plane_hdus:
                out["variance"] = float(exposure.variance[iy, ix])
        else:
            out["value"] = None
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
        print(f"Dataset       {exposure.dataset_type} {exposure.data_id}")
    print(f"Shape         {info.shape[1]} x {info.shape[0]} (nx x ny), xy0 = {info.xy0}")
    print(f"Planes        {', '.join(info.planes)}")
    if info.mask_planes:
        print("Mask planes   " + ", ".join(f"{k}={v}" for k, v in sorted(info.mask_planes.items(), key=lambda kv: kv[1])))
    centre = summary["wcs_center"]
    print(f"WCS centre    {'none' if centre is None else f'RA {centre[0]:.6f}  Dec {centre[1]:.6f}'}")
    zp = info.zero_point_mag
    print(f"Zero point    {'unknown' if zp is None else f'{zp:.4f} mag (AB, 1 count)'}")
    if info.filter_label:
        print(f"Filter        {info.filter_label}")
    if info.psf is not None:
        print(f"PSF           {info.psf.kind}" + (f", FWHM {info.psf.fwhm_arcsec:.3f} arcsec" if info.psf.fwhm_arcsec else ""))
    if info.visit_info:
        print("Visit info")
        width = max(len(k) for k in info.visit_info) + 2
        for key, value in info.visit_info.items():
            print(f"  {key:<{width}}{value}")
    print(f"Metadata      {info.metadata_cards} cards")
    if args.pixel is not None:
        sky = summary.get("sky")
        print(f"Pixel         ({args.pixel[0]:g}, {args.pixel[1]:g}) -> "
              + ("no WCS" if sky is None else f"RA {sky[0]:.7f}  Dec {sky[1]:.7f}")
              + ("" if summary.get("value") is None else f"  value {summary['value']:.6g}")
              + (f"  mask {summary['mask_set']}" if summary.get("mask_set") else ""))
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
    from .sky import dc2_skymap

    if args.name.lower() != "dc2":
        raise UsageError(f"unknown skymap {args.name!r}: only 'dc2' (the DC2 RingsSkyMap) is built in")
    sm = dc2_skymap()
    tracts: list[dict[str, Any]] = []
    if args.tract is not None:
        if not 0 <= args.tract < sm.num_tracts:
            raise ExplorerError(f"no tract {args.tract} in the DC2 skymap (tracts are 0..{sm.num_tracts - 1})")
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
    path = make_sample(dest, layout=args.layout, size=args.size, seed=args.seed, progress=_say)
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
          basic_auth=args.basic_auth, show=args.show)
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
    p.add_argument("--num-procs", type=int, default=1)
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]")
    p.add_argument("--basic-auth", metavar="USER:PASSWORD|FILE", help="require a login (see docs/hosting.md)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("make-sample", help="write the DC2-like sample repository")
    p.add_argument("dir", nargs="?", help="where to write it (default: sample_repo/ of the checkout)")
    p.add_argument("--layout", choices=["gen3", "gen2"], default="gen3")
    p.add_argument("--size", choices=["small", "large"], default="small")
    p.add_argument("--seed", type=int, default=1)
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

    p = sub.add_parser("skymap", help="DC2 skymap geometry: tracts, patches, point look-ups")
    p.add_argument("--name", default="dc2")
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
