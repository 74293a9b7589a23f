"""Patch names as the index shows them: always "x,y", in the skymap's (y, x) order.

Gen3 registries number patches sequentially; Gen2 and the skymaps name them "x,y". The index
speaks "x,y" everywhere so that the selectors, the URL and the sky map agree.
"""
from __future__ import annotations

from typing import Any


def patch_label(repo: Any, tract: Any, patch: Any) -> str:
    """A patch as "x,y" whatever the backend calls it.

    Parameters
    ----------
    repo : explorer.repo.base.Repository
        The backend; its ``patch_name(tract, patch)`` names a Gen3 sequential patch id.
    tract : int or None
        The tract the patch belongs to (needed to name a sequential id).
    patch : str or int
        "x,y" (kept, spaces removed) or the backend's id.

    Returns
    -------
    str
    """
    if isinstance(patch, str) and "," in patch:
        return patch.replace(" ", "")
    name = getattr(repo, "patch_name", None)
    if name is not None and tract is not None:
        return str(name(int(tract), int(patch)))
    return str(patch)


def patch_sort_key(name: str) -> tuple[int, int, str]:
    """Sort key of a patch "x,y": row (y) first, then x, as the skymap numbers patches; others last."""
    try:
        x, y = (int(v) for v in name.split(","))
        return (y, x, name)
    except ValueError:
        return (1 << 30, 0, name)
