"""``repo-explorer skymap``: tracts, patches and point look-ups of a built-in skymap (no repository)."""
from __future__ import annotations

import argparse
import math
from typing import Any, Optional

from ..errors import ExplorerError
from .common import UsageError, print_json


def _tract_json(tract, patches: Optional[list] = None) -> dict[str, Any]:
    ra, dec = tract.ctr_coord
    return {
        "tract": int(tract.tract_id),
        "center": [float(ra), float(dec)],
        "vertices": [[float(a), float(b)] for a, b in tract.inner_vertices_deg],
        "patches": [p.name for p in (patches if patches is not None else tract.patches())],
    }


def cmd_skymap(args: argparse.Namespace) -> int:
    """Skymap geometry: the tract count, one tract, or the tracts and patches covering points.

    Parameters
    ----------
    args : argparse.Namespace
        ``name`` (dc2, lsst_cells_v1, lsst_cells_v2), ``tract``, ``at`` (a list of (RA, Dec)), ``json``.

    Returns
    -------
    int
        The exit status, 0. JSON keys ``skymap``, ``num_tracts``, ``tracts`` (shared/DESIGN.md).
    """
    from ..sky import skymap_by_name, skymap_names

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
        print_json(out)
        return 0
    print(f"Skymap {sm.name}: {sm.num_tracts} tracts")
    for t in tracts:
        print(f"tract {t['tract']}: centre RA {t['center'][0]:.4f} Dec {t['center'][1]:.4f}")
        print("  inner vertices: " + "  ".join(f"({a:.4f}, {b:.4f})" for a, b in t["vertices"]))
        print(f"  patches ({len(t['patches'])}): {' '.join(t['patches'])}")
    return 0
