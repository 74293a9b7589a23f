"""Where a repository's own configuration leads, and the check that it stays inside allowed roots.

A server confined with ``--repo-root ROOT`` refuses repository paths outside ROOT
(:mod:`explorer.paths`), but a directory inside ROOT can still *lead* elsewhere through its own
configuration: a ``butler.yaml`` whose registry is ``sqlite:////elsewhere/gen3.sqlite3`` or whose
datastore root (or ``root:``) is another directory; a Gen2 ``repositoryCfg.yaml`` whose ``_parents``
or ``calibRoot`` name directories outside, a ``_parent`` symlink, a registry file that is a
symlink; a Gen3 datastore record holding an absolute ``file://`` URI, or a dataset file that is a
symlink out. This module lists those leads (:func:`repository_leads`) without opening any
registry, refuses a repository when one leads outside (:func:`check_repository`), and checks, at
``locate()`` time, each file a registry points at (:func:`check_file`).

A database or storage *server* (``postgresql://host/...``, ``s3://bucket``, a Butler server URL)
is refused unless the operator allowed that host (``repo-explorer serve --allow-registry-host
HOST``, :func:`allow_hosts`). Unconfined use (no roots) checks nothing.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from ..errors import PathNotAllowedError

_LOCK = threading.Lock()
_ALLOWED_HOSTS: frozenset[str] = frozenset()
_CONFINED: dict[str, tuple[str, ...]] = {}  # real repository root -> real allowed roots


@dataclass(frozen=True)
class Lead:
    """One place a repository's configuration leads to.

    ``what`` says what it is ("registry database", "datastore root", "parent repository", ...),
    ``target`` is a local path, or for a server (``host`` set) the URL with any password removed;
    ``source`` is the file that says so.
    """

    what: str
    target: str
    source: str
    host: Optional[str] = None


def allow_hosts(hosts: Iterable[str]) -> None:
    """Allow database/storage servers on these hosts for confined repositories (process-wide)."""
    global _ALLOWED_HOSTS
    _ALLOWED_HOSTS = frozenset(h.strip().lower() for h in hosts if h and h.strip())


def allowed_hosts() -> frozenset[str]:
    return _ALLOWED_HOSTS


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


# ----- Gen3 --------------------------------------------------------------------------------------
def _url_lead(what: str, text: str, source: str) -> Lead:
    """A lead for a server URL (password dropped) or, for a local sqlite/file URL, its path."""
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    host = parts.hostname or ""
    shown = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + (parts.path or "")
    return Lead(what, shown, source, host=host.lower() or "localhost (local socket)")


def _sqlite_path(db: str) -> Optional[str]:
    """The file a ``sqlite:`` URL opens (relative paths are relative to the working directory, as
    sqlite opens them), or None for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(db).database or ""
    if database.startswith("file:"):  # sqlite URI mode (?uri=true)
        database = database[len("file:"):].split("?", 1)[0]
        database = database.removeprefix("//")
    if not database or database == ":memory:" or "mode=memory" in db:
        return None
    return os.path.abspath(database)


def _datastore_roots(config: Any, prefix: str = "datastore") -> list[tuple[str, Any]]:
    """(config key, root value) of a datastore and, for a chained one, of each child."""
    out = []
    if not hasattr(config, "get"):
        return out
    root = config.get("root")
    if root is not None:
        out.append((f"{prefix}.root", root))
    children = config.get("datastores") or []
    for i, child in enumerate(children if isinstance(children, (list, tuple)) else []):
        if hasattr(child, "get") and child.get("datastore") is not None:  # "- datastore: {cls, root}"
            child = child.get("datastore")
        out.extend(_datastore_roots(child, f"{prefix}.datastores[{i}]"))
    return out


def _gen3_leads(root: str) -> list[Lead]:
    from lsst.daf.butler import ButlerConfig
    from lsst.daf.butler.registry import RegistryConfig
    from lsst.daf.butler.repo_relocation import replaceRoot
    from lsst.resources import ResourcePath

    source = os.path.join(root, "butler.yaml")
    # butler.yaml merged with the defaults, as Butler.from_config reads it (a ResourcePath, not a
    # str, so no repository-index alias is looked up)
    config = ButlerConfig(ResourcePath(root, forceDirectory=True))
    leads: list[Lead] = []
    remote = config.get(("remote_butler", "url")) if "remote_butler" in config else None
    if remote:
        leads.append(_url_lead("Butler server", str(remote), source))
        return leads
    butler_root = config.get("root", config.configDir)
    explicit_root = config.get("root")
    if explicit_root is not None:
        uri = ResourcePath(str(explicit_root), forceDirectory=True)
        leads.append(Lead("repository root ('root:')", uri.ospath, source) if uri.scheme in ("file", "")
                     else _url_lead("repository root ('root:')", str(uri), source))
    registry = RegistryConfig(config)
    registry.replaceRoot(butler_root)
    db = str(registry["db"])
    if db.startswith("sqlite:"):
        path = _sqlite_path(db)
        if path is not None:
            leads.append(Lead("registry database", path, source))
    else:
        leads.append(_url_lead("registry database server", db, source))
    for key, value in _datastore_roots(config.get("datastore")):
        uri = ResourcePath(replaceRoot(str(value), butler_root), forceDirectory=True, forceAbsolute=True)
        if uri.scheme in ("file", ""):
            leads.append(Lead(f"datastore root ({key})", uri.ospath, source))
        else:
            leads.append(_url_lead(f"datastore ({key})", str(uri), source))
    return leads


# ----- Gen2 --------------------------------------------------------------------------------------
def _gen2_leads(root: str) -> list[Lead]:
    from .gen2_config import resolve_chain

    chain = resolve_chain(root)
    cfg = os.path.join(root, "repositoryCfg.yaml")
    leads = [Lead("parent repository", path, cfg if os.path.isfile(cfg) else os.path.join(root, "_parent"))
             for path in chain.roots[1:]]
    calib = chain.mapper_args.get("calibRoot")
    if isinstance(calib, str) and calib.strip():
        leads.append(Lead("calibration root (calibRoot)",
                          calib if os.path.isabs(calib) else os.path.join(root, calib), cfg))
    for repo in chain.roots:
        for name, what in (("registry.sqlite3", "registry"), ("calibRegistry.sqlite3", "calibration registry"),
                           ("CALIB", "calibration root"), (os.path.join("CALIB", "calibRegistry.sqlite3"),
                                                           "calibration registry")):
            path = os.path.join(repo, name)
            if os.path.lexists(path):
                leads.append(Lead(what, path, path))
    return leads


_GEN3_MEMO: dict[tuple, list[Lead]] = {}  # (root, butler.yaml mtime and size) -> leads
_GEN3_MEMO_ENTRIES = 256


def _gen3_leads_memoised(root: str) -> list[Lead]:
    """:func:`_gen3_leads`, remembered while ``butler.yaml`` is unchanged: merging it with the
    Butler's defaults costs ~0.1 s, and a confined server checks on every page that opens it."""
    st = os.stat(os.path.join(root, "butler.yaml"))
    key = (os.path.realpath(root), st.st_mtime_ns, st.st_size, st.st_ino)
    with _LOCK:
        hit = _GEN3_MEMO.get(key)
    if hit is not None:
        return list(hit)
    leads = _gen3_leads(root)
    with _LOCK:
        if len(_GEN3_MEMO) >= _GEN3_MEMO_ENTRIES:
            _GEN3_MEMO.clear()
        _GEN3_MEMO[key] = list(leads)
    return leads


def repository_leads(root: str) -> list[Lead]:
    """Every path (or server) the configuration of the repository at ``root`` leads to.

    Reads only configuration files (``butler.yaml`` with the Butler's own defaults, Gen2's
    ``repositoryCfg.yaml`` chain); opens no registry. A directory that is no repository leads
    nowhere (opening it will say what it is).
    """
    root = os.fspath(root)
    if os.path.isfile(os.path.join(root, "butler.yaml")):
        return _gen3_leads_memoised(root)
    from .gen2_config import is_gen2_root

    if is_gen2_root(root):
        return _gen2_leads(root)
    return []


def _refusal(root: str, lead: Lead, detail: str) -> PathNotAllowedError:
    named = "" if lead.source == lead.target else f" (named in {lead.source})"
    return PathNotAllowedError(f"refused: repository {root}: its {lead.what} {lead.target}{named} {detail}")


def check_repository(root: str, roots: Sequence[str], hosts: Optional[Iterable[str]] = None) -> None:
    """Refuse the repository at ``root`` unless every lead of its configuration stays inside ``roots``.

    Paths are compared after ``os.path.realpath`` (a symlink out is out); a server is allowed
    only when its host is in ``hosts`` (default: :func:`allowed_hosts`). On success the
    repository is remembered as confined, so :func:`check_file` checks the files its registry
    points at. Raises :class:`PathNotAllowedError` (``refused: ...``, one line, naming the lead).
    """
    if not roots:
        return
    real_roots = tuple(os.path.realpath(r) for r in roots)
    hosts = allowed_hosts() if hosts is None else frozenset(h.lower() for h in hosts)
    try:
        leads = repository_leads(root)
    except PathNotAllowedError:
        raise
    except Exception as exc:  # an unreadable configuration: refuse rather than guess where it leads
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PathNotAllowedError(f"refused: repository {root}: its configuration cannot be checked "
                                  f"({first})") from None
    for lead in leads:
        if lead.host is not None:
            if lead.host not in hosts:
                how = (f"allowed hosts: {', '.join(sorted(hosts))}" if hosts
                       else "this server allows none; the operator can add --allow-registry-host HOST")
                raise _refusal(root, lead, f"is a server on {lead.host}, not an allowed host ({how})")
            continue
        real = os.path.realpath(lead.target)
        if not any(_within(real, r) for r in real_roots):
            how = " (through a symbolic link)" if real != os.path.abspath(lead.target) else ""
            raise _refusal(root, lead, f"is outside the allowed directories{how} ({', '.join(real_roots)})")
    with _LOCK:
        _CONFINED[os.path.realpath(root)] = real_roots


def check_file(repo_root: str, path: Optional[str], what: str = "file") -> None:
    """Refuse a file a confined repository's registry points at when it lies outside the roots.

    Called by the backends' ``locate()`` with the path a registry record (or a template) gave;
    a no-op for repositories not opened through :func:`check_repository` with roots.
    """
    if not path or not _CONFINED:
        return
    roots = _CONFINED.get(os.path.realpath(repo_root))
    if roots is None:
        return
    if "://" in path and not path.startswith("file://"):
        raise PathNotAllowedError(f"refused: {what} {path} of repository {repo_root} is not a local file")
    local = path.removeprefix("file://")
    real = os.path.realpath(local)
    if not any(_within(real, r) for r in roots):
        how = " (through a symbolic link)" if real != os.path.abspath(local) else ""
        raise PathNotAllowedError(f"refused: {what} {path} of repository {repo_root} is outside the "
                                  f"allowed directories{how} ({', '.join(roots)})")
