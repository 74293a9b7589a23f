"""``repo-explorer inventory``: what a repository holds, from registry queries only.

The JSON keys are the contract of shared/DESIGN.md (``Inventory.to_json``); the text form adds,
for a person, the visit ids and one example ``exposure`` command whose file is on disk.
"""
from __future__ import annotations

import argparse
from typing import Optional

from ..errors import ExplorerError
from .common import PROG, data_id_arg, plain, print_json, progress_for, with_patch_id

MISSING_IDS_SHOWN = 20  # per dataset type in the text inventory; --json lists every one
EXAMPLE_CANDIDATES = 8  # data IDs tried (one stat each) for an example that is on disk


def cmd_inventory(args: argparse.Namespace) -> int:
    """Print what ``args.repo`` holds: JSON (``--json``) or a table for a person.

    Parameters
    ----------
    args : argparse.Namespace
        ``repo``, ``collections``, ``check_files``, ``json``, ``progress`` as ``build_parser`` defines them.

    Returns
    -------
    int
        The exit status, 0.
    """
    from ..repo import open_repo

    repo = open_repo(args.repo, progress=progress_for(args))
    try:
        inv = repo.inventory(collections=args.collections, check_files=args.check_files,
                             progress=progress_for(args))
        example = None if args.json else _exposure_example(repo, inv, args.collections)
    finally:
        repo.close()
    if args.json:
        print_json(inv.to_json())
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
                print(f"  {d.name}  {plain(data_id)}")
            if len(d.missing_ids) > MISSING_IDS_SHOWN:
                print(f"  {d.name}  ... and {len(d.missing_ids) - MISSING_IDS_SHOWN} more (--json lists them all)")
    if example is not None and example[1] is not None:
        print()
        print(f"Example      {PROG} exposure {args.repo} --dataset {example[0]} --data-id {data_id_arg(example[1])}")
    for note in inv.notes:
        print(f"note: {note}")
    return 0


def _exposure_example(repo, inv, collections: Optional[str]) -> Optional[tuple[str, Optional[dict], list]]:
    """(dataset type, short data ID on disk or None, visit ids with that type) for the text inventory.

    The inventory counts visits; a person then needs ids to type after ``--data-id``. This takes
    the first exposure type the inventory lists (calexps first, else coadds), whose data IDs the
    inventory has just queried, and a short data ID (``visit``+``detector``, or ``tract``+``patch``
    +``band``) that :meth:`locate` accepts and whose file is on disk.
    """
    from ..repo.base import CALEXP_TYPES, COADD_TYPES

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
                query = with_patch_id(repo, dict(candidate))
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
