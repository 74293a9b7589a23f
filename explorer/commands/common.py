"""What the sub-commands share: the usage error, JSON and plain-text output, ``--data-id`` parsing.

The output rules are the contract of shared/DESIGN.md: JSON with NaN/inf as null and numpy
scalars as plain numbers; text a person can read and paste back (no Python reprs); progress on
stderr only for a person at a terminal (or with ``--progress``).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable, Optional

from ..errors import ExplorerError

PROG = "repo-explorer"


class UsageError(ExplorerError):
    """The command line itself is wrong (exit status 2, one line on stderr, as any ExplorerError)."""


def say(message: str) -> None:
    """Print one line on stderr, at once (progress and errors never mix with stdout's JSON)."""
    print(message, file=sys.stderr, flush=True)


def progress_for(args: argparse.Namespace) -> Optional[Callable[[str], None]]:
    """The progress callback for a sub-command: :func:`say`, or None when nobody is watching.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line; its ``progress`` flag (``--progress``) forces progress lines.

    Returns
    -------
    callable or None
        :func:`say` when stderr is a terminal or ``--progress`` was given, else None.
    """
    if getattr(args, "progress", False) or sys.stderr.isatty():
        return say
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


def clean_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (NaN/inf are not JSON).

    Parameters
    ----------
    value : object
        Plain JSON-like data: dicts (keys become str), lists, tuples, scalars.

    Returns
    -------
    object
        The same structure, lists for tuples, None for non-finite floats.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout: numpy values as numbers, NaN/inf as null.

    Parameters
    ----------
    obj : object
        JSON-like data; numpy scalars and arrays become numbers and lists, other unknown
        objects their ``str``.
    """
    print(json.dumps(clean_json(json.loads(json.dumps(obj, default=_json_default))), indent=2))


def plain(value: Any) -> str:
    """A value for a person to read (and paste back): no Python reprs, no quotes or brackets.

    ``{'band': 'g', 'visit': 12}`` -> ``band=g, visit=12``; ``['SAT', 'CR']`` -> ``SAT, CR``.

    Parameters
    ----------
    value : object
        A dict (None values left out), a list or tuple, a float (10 significant digits) or anything
        with a ``str``.

    Returns
    -------
    str
    """
    if isinstance(value, dict):
        return ", ".join(f"{k}={plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def data_id_arg(data_id: dict[str, Any]) -> str:
    """A data ID as ``--data-id`` takes it: ``visit=159223,detector=38`` (patch "x,y" kept).

    Parameters
    ----------
    data_id : dict
        Dimension name to value.

    Returns
    -------
    str
        The inverse of :func:`parse_data_id`.
    """
    return ",".join(f"{k}={v}" for k, v in data_id.items())


def parse_data_id(text: Optional[str]) -> dict[str, Any]:
    """The ``--data-id KEY=VALUE,...`` argument as a dict of strings.

    A patch written ``patch=1,3`` is split on its comma by the list syntax; a bare integer item
    is glued back to the value before it, so ``tract=3828,patch=1,3`` gives ``{"tract": "3828",
    "patch": "1,3"}``.

    Parameters
    ----------
    text : str or None
        The argument as typed; None or empty gives an empty dict.

    Returns
    -------
    dict
        Key to value, both str (the backend types them).

    Raises
    ------
    UsageError
        An item that is not ``KEY=VALUE`` (or has an empty key).
    """
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


def with_patch_id(repo: Any, data_id: dict[str, Any]) -> dict[str, Any]:
    """``data_id`` with a Gen3 patch typed as ``"x,y"`` turned into the registry's patch id (in place).

    Gen2 repositories name patches ``"x,y"`` themselves and are left as they are.
    """
    if getattr(repo, "kind", "") == "gen3" and "patch" in data_id and "," in str(data_id["patch"]):
        data_id["patch"] = repo.patch_id(str(data_id["patch"]))
    return data_id


def is_remote(target: str) -> bool:
    """Whether ``target`` is a Butler server URL or a repository-index label (see explorer/repo/remote.py)."""
    from ..repo.remote import is_remote_target

    return is_remote_target(target)
