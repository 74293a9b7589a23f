"""What a Gen2 repository says about itself: its mapper, its parents, its calib root, its skymap config.

A Gen2 repository is a directory with either a ``_mapper`` file (one line: the mapper's dotted
Python name; the old "Butler v1" style, whose parent is a ``_parent`` symlink) or a
``repositoryCfg.yaml`` written by ``lsst.daf.persistence`` (``!RepositoryCfg_v1`` with ``_mapper``,
``_mapperArgs``, ``_parents``, ``_policy``, ``_root``). A rerun lists its inputs in ``_parents``;
those may be nested ``RepositoryCfg`` objects whose ``_root`` is an absolute path on the machine
that wrote them, so a parent can be unreachable here: that is reported as a note (and listed in
:attr:`Gen2Chain.unreachable`), and the repository itself still opens.

The YAML is read with :func:`explorer.repo.yamlsafe.load_yaml`, which never imports or runs what a
tag names. Skymap config files (``config/makeSkyMap.py``) are pex_config dumps, i.e. Python: they
are read as text with regular expressions, never executed.
"""
from __future__ import annotations

import os
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import BadFileError, NotARepositoryError

MAX_PARENT_DEPTH = 32
_SHORT = reprlib.Repr()  # describes a hostile value in a note without walking it (YAML aliases can nest)
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 4, 4, 80
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*$")


@dataclass
class Gen2Chain:
    """A repository and the parents it reads from, in search order (the repository first)."""

    roots: list[str]  # reachable repository directories, search order
    mapper: Optional[str]  # dotted mapper name, from the first repository that names one
    mapper_source: Optional[str]  # the file that named it
    policy_overrides: dict[str, str] = field(default_factory=dict)  # dataset type -> template
    unreachable: list[str] = field(default_factory=list)  # parents named but not on this machine
    notes: list[str] = field(default_factory=list)
    mapper_args: dict[str, Any] = field(default_factory=dict)

    def first_with(self, *relpath: str) -> Optional[str]:
        """The first repository in search order holding ``relpath`` (a file), or None."""
        for root in self.roots:
            if os.path.isfile(os.path.join(root, *relpath)):
                return root
        return None


def is_gen2_root(path: str) -> bool:
    """A Gen2 repository root: `_mapper`, `repositoryCfg.yaml`, or (an old-style rerun) only a `_parent` link."""
    return (os.path.isfile(os.path.join(path, "_mapper"))
            or os.path.isfile(os.path.join(path, "repositoryCfg.yaml"))
            or os.path.lexists(os.path.join(path, "_parent")))


def read_mapper_file(path: str) -> Optional[str]:
    """The mapper named in a ``_mapper`` file (first non-empty line), or None if it names nothing usable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError as exc:
        raise BadFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for line in head.splitlines():
        line = line.strip()
        if line:
            return line if _DOTTED.match(line) and len(line) <= 256 else None
    return None


def _mapper_name(value: Any) -> Optional[str]:
    """``_mapper`` of a repositoryCfg: a plain string, or ``!!python/name:x.y.Z ''`` (loaded as "x.y.Z").

    Anything else (e.g. ``!!python/object/apply:...``, loaded as plain data) names no mapper.
    """
    if type(value) is str and _DOTTED.match(value.strip()) and len(value) <= 256:
        return value.strip()
    return None


def load_repository_cfg(path: str) -> dict[str, Any]:
    """A ``repositoryCfg.yaml`` as a plain mapping (tags tolerated, nothing executed)."""
    from .yamlsafe import load_yaml

    data = load_yaml(path)
    if not isinstance(data, dict):
        raise BadFileError(f"{path}: not a repository configuration (expected a mapping, "
                           f"found {type(data).__name__})")
    return data


def _policy_templates(policy: Any) -> dict[str, str]:
    """Template overrides from a repositoryCfg ``_policy`` (a Policy object wraps them in ``data``)."""
    if not isinstance(policy, dict):
        return {}
    if isinstance(policy.get("data"), dict):
        policy = policy["data"]
    out: dict[str, str] = {}
    for section in ("exposures", "datasets", "calibrations", "images"):
        entries = policy.get(section)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            if isinstance(name, str) and isinstance(entry, dict) and isinstance(entry.get("template"), str):
                out[name] = entry["template"]
    return out


def _parent_path(entry: Any, base: str) -> tuple[Optional[str], Optional[str], Optional[dict]]:
    """(path, problem, nested cfg) for one ``_parents`` entry; relative paths are relative to ``base``."""
    nested = entry if isinstance(entry, dict) else None
    raw = nested.get("_root") if nested is not None else entry
    if raw is None:
        return None, "a parent configuration with no _root", nested
    if not isinstance(raw, str) or not raw.strip():
        return None, f"an unusable parent entry {_SHORT.repr(raw)}", nested  # bounded: aliases can nest
    raw = raw.strip()
    if raw.startswith("file://"):
        raw = raw[len("file://"):]
    elif re.match(r"^[a-z][a-z0-9+.-]*://", raw):
        return raw, "not a local directory", nested
    path = raw if os.path.isabs(raw) else os.path.normpath(os.path.join(base, raw))
    return path, None, nested


def resolve_chain(root: str) -> Gen2Chain:
    """Read the repository at ``root`` and every parent it names, depth first, in Gen2 search order."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise NotARepositoryError(f"no such directory: {root}")
    if not is_gen2_root(root):
        raise NotARepositoryError(f"not a Gen2 repository: {root} (no _mapper, repositoryCfg.yaml or _parent)")
    chain = Gen2Chain(roots=[], mapper=None, mapper_source=None)
    seen: set[str] = set()

    def visit(path: str, depth: int, nested: Optional[dict], named_in: str) -> None:
        real = os.path.realpath(path)
        if real in seen:
            return
        if depth > MAX_PARENT_DEPTH:
            chain.notes.append(f"parents nested deeper than {MAX_PARENT_DEPTH} levels at {path}: stopped there")
            return
        seen.add(real)
        chain.roots.append(path)
        cfg: Optional[dict] = None
        cfg_path = os.path.join(path, "repositoryCfg.yaml")
        mapper_path = os.path.join(path, "_mapper")
        if os.path.isfile(cfg_path):
            try:
                cfg = load_repository_cfg(cfg_path)
            except BadFileError as exc:
                if path == root and not os.path.isfile(mapper_path):
                    raise NotARepositoryError(f"unreadable Gen2 repository configuration: {exc}") from None
                chain.notes.append(f"ignored {cfg_path}: {exc}")
        elif nested is not None:
            cfg = nested  # a parent described only inline by its child's configuration
        if chain.mapper is None:
            name = read_mapper_file(mapper_path) if os.path.isfile(mapper_path) else None
            source = mapper_path
            if name is None and cfg is not None:
                name, source = _mapper_name(cfg.get("_mapper")), cfg_path
            if name is not None:
                chain.mapper, chain.mapper_source = name, source
            elif os.path.isfile(mapper_path):
                chain.notes.append(f"{mapper_path} does not name a mapper class")
        if cfg is not None:
            for key, value in _policy_templates(cfg.get("_policy")).items():
                chain.policy_overrides.setdefault(key, value)  # the child's override wins
            args = cfg.get("_mapperArgs")
            if isinstance(args, dict):
                for key, value in args.items():
                    chain.mapper_args.setdefault(str(key), value)
            parents = cfg.get("_parents") or []
            if not isinstance(parents, list):
                parents = [parents]
            for entry in parents:
                ppath, problem, pnested = _parent_path(entry, path)
                where = cfg_path if os.path.isfile(cfg_path) else named_in
                if problem is None and ppath is not None and not os.path.isdir(ppath):
                    problem = "not on this machine"
                if problem is not None:
                    label = ppath or problem
                    chain.unreachable.append(label)
                    chain.notes.append(f"parent repository {label} (named in {where}) is unreachable: "
                                       f"{problem}; its datasets are not included")
                    continue
                visit(ppath, depth + 1, pnested, where)
        legacy = os.path.join(path, "_parent")
        if os.path.islink(legacy) or os.path.isdir(legacy):
            if os.path.isdir(legacy):
                visit(os.path.realpath(legacy), depth + 1, None, legacy)
            else:
                target = os.readlink(legacy)
                chain.unreachable.append(target)
                chain.notes.append(f"parent repository {target} (the _parent link of {path}) is unreachable: "
                                   f"not on this machine; its datasets are not included")

    visit(root, 0, None, root)
    if chain.mapper is None:
        chain.notes.append("no mapper named in the repository or its parents: only the generic obs_base "
                           "(coadd) templates are used")
    return chain


# ----- the skymap, from config files ---------------------------------------------------------------
SKYMAP_CONFIG_FILES = ("config/makeSkyMap.py", "config/makeDiscreteSkyMap.py")

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?:\s*/\s*[-+]?(?:\d+\.?\d*|\.\d+))?)"


def _number(text: str) -> float:
    if "/" in text:
        a, b = text.split("/", 1)
        return float(a) / float(b)
    return float(text)


def parse_skymap_config(text: str) -> dict[str, Any]:
    """The skymap settings a pex_config dump sets, read as text (never executed).

    Returns e.g. ``{"name": "rings", "numRings": 120, "projection": "TAN", "pixelScale": 0.2,
    "tractOverlap": 0.01667, "patchInnerDimensions": (4000, 4000), "patchBorder": 100,
    "tractBuilder": "legacy"}``; keys the file does not set are absent.
    """
    out: dict[str, Any] = {}
    m = re.search(r"""^\s*config\.skyMap\.name\s*=\s*['"](\w+)['"]""", text, re.M)
    if m:
        out["name"] = m.group(1)
    # config.skyMap['rings'].numRings=120, config.skyMap["rings"].x = y, config.skyMap.active.x = y
    target = r"""config\.skyMap(?:\[['"](?P<which>\w+)['"]\]|\.active)?\."""
    for key in ("numRings", "pixelScale", "tractOverlap", "patchBorder", "raStart", "rotation"):
        for mm in re.finditer(rf"^\s*{target}{key}\s*=\s*{_NUM}\s*$", text, re.M):
            which = mm.group("which")
            if which is None or which == out.get("name", which):
                out[key] = _number(mm.group(2))
    for mm in re.finditer(rf"""^\s*{target}projection\s*=\s*['"](\w+)['"]""", text, re.M):
        if mm.group("which") is None or mm.group("which") == out.get("name", mm.group("which")):
            out["projection"] = mm.group(2)
    for mm in re.finditer(rf"""^\s*{target}patchInnerDimensions\s*=\s*[\[(]\s*(\d+)\s*,\s*(\d+)\s*[\])]""",
                          text, re.M):
        out["patchInnerDimensions"] = (int(mm.group(2)), int(mm.group(3)))
    for mm in re.finditer(rf"""^\s*{target}tractBuilder(?:\.name)?\s*=\s*['"](\w+)['"]""", text, re.M):
        out["tractBuilder"] = mm.group(2)
    if "numRings" in out:
        out["numRings"] = int(out["numRings"])
    if "patchBorder" in out:
        out["patchBorder"] = int(out["patchBorder"])
    return out
