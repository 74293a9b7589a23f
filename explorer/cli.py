"""The ``repo-explorer`` command: a stable interface other tools drive (see shared/DESIGN.md).

Names, flags and JSON keys here are a contract: add freely, rename nothing. Bad input exits with
status 2 and one line on stderr naming the problem, never a traceback; success exits 0.

This module builds the parser, registers each sub-command and maps errors to exit statuses; each
sub-command's work is in its own module of :mod:`explorer.commands` (inventory, exposure, cutout,
histogram, skymap, make_sample, serve), what they share in :mod:`explorer.commands.common`. The
names those modules define are re-exported here, so ``explorer.cli.X`` keeps working.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from .commands.common import PROG, UsageError
from .commands.common import _json_default as _json_default
from .commands.common import clean_json as _clean
from .commands.common import data_id_arg as _data_id_arg
from .commands.common import is_remote as _is_remote
from .commands.common import parse_data_id as _parse_data_id
from .commands.common import plain as _plain
from .commands.common import print_json as _print_json
from .commands.common import progress_for as _progress_for
from .commands.common import say as _say
from .commands.cutout import cmd_cutout
from .commands.exposure import cmd_exposure, exposure_summary
from .commands.exposure import open_exposure_target as _open_exposure_target
from .commands.histogram import MAX_HISTOGRAM_FILES, _catalog_paths, _histogram_of_files, cmd_histogram
from .commands.inventory import EXAMPLE_CANDIDATES, MISSING_IDS_SHOWN, _exposure_example, _visit_list, cmd_inventory
from .commands.make_sample import cmd_make_sample
from .commands.serve import cmd_serve
from .commands.skymap import _tract_json, cmd_skymap
from .errors import ExplorerError

__all__ = [
    "EXAMPLE_CANDIDATES", "MAX_HISTOGRAM_FILES", "MISSING_IDS_SHOWN", "PROG", "UsageError", "build_parser",
    "cmd_cutout", "cmd_exposure", "cmd_histogram", "cmd_inventory", "cmd_make_sample", "cmd_serve", "cmd_skymap",
    "exposure_summary", "main",
    # the helpers' old names, for code written against this module before explorer/commands
    "_catalog_paths", "_clean", "_data_id_arg", "_exposure_example", "_histogram_of_files", "_is_remote",
    "_json_default", "_open_exposure_target", "_parse_data_id", "_plain", "_print_json", "_progress_for", "_say",
    "_tract_json", "_visit_list",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as DESIGN.md asks
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The ``repo-explorer`` parser: one sub-parser per sub-command, its ``func`` the ``cmd_*`` to run.

    Returns
    -------
    argparse.ArgumentParser
        Whose ``error`` raises :class:`UsageError` (one line, exit 2) instead of printing usage.
    """
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
    """Run ``repo-explorer`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name.

    Returns
    -------
    int
        0 on success; 2 for bad input (an :class:`ExplorerError`, one line on stderr); 1 for a bug
        (one line, or the traceback with ``REPO_EXPLORER_DEBUG=1``); 130 when interrupted.
    """
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
