"""What every session of a process shares: the open repositories, their selector indexes and
their inventories (each built once, under a lock, and reused by every browser session).

No UI here; the state (:mod:`explorer.state`) asks for these, the server opens the repository
before the first visitor, tests call :func:`forget_repositories` to start afresh.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Optional

from .index import RepoIndex
from .repo import open_repo
from .repo.base import Repository

_REPOS: dict[Any, Repository] = {}
_INDEXES: dict[tuple[str, str, Optional[str]], Any] = {}
_INVENTORIES: "OrderedDict[tuple, Any]" = OrderedDict()
INVENTORY_LIMIT = 64  # inventories kept (a few KiB each: dataset types and counts)
_LOCK = threading.Lock()
_OPEN_LOCKS: dict[str, threading.Lock] = {}


def get_repository(path: str, token: Optional[str] = None) -> Repository:
    """The one :class:`Repository` object for a path, opened on first use and shared by sessions
    (a Butler server URL or index label: shared only by sessions with the same ``token``)."""
    from .repo.auth import repository_key
    from .repo.remote import is_remote_target

    remote = is_remote_target(path)
    target = path if remote else os.path.realpath(path)
    real = repository_key(target, token) if remote else target
    with _LOCK:
        repo = _REPOS.get(real)
        if repo is not None:
            return repo
        lock = _OPEN_LOCKS.setdefault(real, threading.Lock())
    with lock:  # a slow open (a Butler takes ~1 s) happens once even if sessions ask at once
        with _LOCK:
            if real in _REPOS:
                return _REPOS[real]
        repo = open_repo(target, token=token) if remote else open_repo(real)
        with _LOCK:
            _REPOS[real] = repo
        return repo


def get_index(repo: Repository, collection: Optional[str]) -> "RepoIndex":
    """The shared selector index of a repository and collection ("" or None: all collections)."""
    key = (repo.root, getattr(repo, "authority", ""), collection or None)
    with _LOCK:
        index = _INDEXES.get(key)
    if index is None:
        index = RepoIndex(repo, collection or None)
        with _LOCK:
            index = _INDEXES.setdefault(key, index)
    return index


def get_inventory(repo: Repository, collection: Optional[str], check_files: bool):
    """The repository's inventory for a collection, computed once per process (bounded memo)."""
    key = (repo.root, getattr(repo, "authority", ""), collection or None, bool(check_files))
    with _LOCK:
        if key in _INVENTORIES:
            _INVENTORIES.move_to_end(key)
            return _INVENTORIES[key]
    inv = repo.inventory(collections=collection or None, check_files=bool(check_files))
    with _LOCK:
        _INVENTORIES[key] = inv
        while len(_INVENTORIES) > INVENTORY_LIMIT:
            _INVENTORIES.popitem(last=False)
    return inv


def forget_repositories() -> None:
    """Close and drop every shared repository (tests; a server picking up new data)."""
    with _LOCK:
        repos = list(_REPOS.values())
        _REPOS.clear()
        _INDEXES.clear()
        _INVENTORIES.clear()
    for repo in repos:
        repo.close()
