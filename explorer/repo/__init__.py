"""Data-access layer: open a Gen3 or Gen2 repository and read what it holds. No UI imports here."""
from __future__ import annotations

import os
from typing import Optional

from .base import Repository
from .errors import (
    BadDataIdError,
    BadFileError,
    DatasetNotFoundError,
    ExplorerError,
    NotARepositoryError,
    NotOnDiskError,
    UnknownDatasetTypeError,
)
from .model import (
    DatasetLocation,
    DatasetTypeSummary,
    Exposure,
    ExposureInfo,
    Inventory,
)

__all__ = [
    "open_repo", "detect_kind", "Repository", "Inventory", "DatasetTypeSummary", "Exposure",
    "ExposureInfo", "DatasetLocation", "ExplorerError", "NotARepositoryError", "NotOnDiskError",
    "DatasetNotFoundError", "UnknownDatasetTypeError", "BadDataIdError", "BadFileError",
]


def detect_kind(path: str | os.PathLike) -> str:
    """"gen3" for a Butler repository (butler.yaml, a Butler server URL or a repository-index
    label), "gen2" for `_mapper`, `repositoryCfg.yaml` or `_parent`."""
    root = os.fspath(path)
    if not os.path.exists(root):
        from .remote import is_remote_target

        if is_remote_target(root):
            return "gen3"
        raise NotARepositoryError(f"no such directory: {root}")
    if not os.path.isdir(root):
        raise NotARepositoryError(f"not a directory: {root}")
    if os.path.isfile(os.path.join(root, "butler.yaml")):
        return "gen3"
    from .gen2_config import is_gen2_root

    if is_gen2_root(root):
        return "gen2"
    raise NotARepositoryError(
        f"not a data repository: {root} (no butler.yaml for Gen3, no _mapper, repositoryCfg.yaml "
        f"or _parent for Gen2)")


def open_repo(path: str | os.PathLike, token: Optional[str] = None, progress=None) -> Repository:
    """Open a repository read-only, detecting whether it is Gen3 or Gen2.

    ``path`` may also be a Butler server URL (``http(s)://HOST/api/butler/repo/NAME``) or a label of
    the repository index (``DAF_BUTLER_REPOSITORY_INDEX``). A remote repository is read with
    ``token`` (default: ``$BUTLER_RUBIN_ACCESS_TOKEN``); ``progress`` hears about slow fetches.
    """
    target = os.fspath(path)
    if not os.path.exists(target):
        from .remote import RemoteGen3Repository, is_url, resolve_label

        if is_url(target):
            return RemoteGen3Repository(target, token=token, progress=progress)
        uri = resolve_label(target)
        if uri is not None:
            if is_url(uri):
                return RemoteGen3Repository(uri, token=token, label=target, progress=progress)
            path = uri
    kind = detect_kind(path)
    if kind == "gen3":
        from .gen3 import Gen3Repository

        return Gen3Repository(os.fspath(path))
    from .gen2 import Gen2Repository

    return Gen2Repository(os.fspath(path))
