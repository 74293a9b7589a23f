"""Gen2 filename templates as code: fill them from a data ID, or find the files that match them.

A template such as ``deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/calexp-%(filter)s-%(tract)d-%(patch)s.fits``
is Python %-formatting. :class:`PathTemplate` fills it (``expand``) and, for the coadd trees whose
keys no registry lists, finds the files that match it with a *template-guided* walk: each path
component is matched against one directory listing, so only directories the template can reach
are read (``deepCoadd-results/<filter>/<tract>/<patch>/``), never the whole tree.

Like the Gen2 butler, a trailing HDU selector (``.fits[0]``) is ignored when looking for the file,
and ``.gz`` / ``.fz`` compressed variants are accepted when the plain name is absent.
"""
from __future__ import annotations

import os
import re
import threading
from typing import Any, Iterator, Optional

_FIELD = re.compile(r"%\((\w+)\)([-+ #0]*\d*(?:\.\d+)?)([sdifr])")
_HDU = re.compile(r"^(.*?)(\[[^\]/]*\])$")
COMPRESSED_SUFFIXES = (".gz", ".fz")
# Values a key may take inside one path component, when the walk has to discover them.
_KEY_PATTERNS = {"patch": r"\d+,\d+", "tract": r"\d+"}


class PathTemplate:
    """One Gen2 template: its keys, and how to fill or match it."""

    def __init__(self, text: str, comma_keys: frozenset[str] = frozenset()):
        self.text = text
        m = _HDU.match(text)
        self.path, self.hdu = (m.group(1), m.group(2)) if m else (text, None)
        self.keys: list[str] = list(dict.fromkeys(f.group(1) for f in _FIELD.finditer(self.path)))
        self.int_keys = {f.group(1) for f in _FIELD.finditer(self.path) if f.group(3) in "di"}
        self.comma_keys = comma_keys
        self.components = self.path.split("/")
        self._regex_cache: dict[tuple, re.Pattern] = {}

    def __repr__(self) -> str:
        return f"PathTemplate({self.text!r})"

    # ----- filling -----------------------------------------------------------------------------
    def _values(self, data_id: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key in self.keys:
            if key not in data_id:
                raise KeyError(key)
            values[key] = self._coerce(key, data_id[key])
        return values

    def expand(self, data_id: dict[str, Any]) -> str:
        """The relative path for a data ID (without any HDU selector); KeyError names a missing key."""
        return self.path % self._values(data_id)

    def expand_component(self, index: int, data_id: dict[str, Any]) -> str:
        comp = self.components[index]
        keys = [f.group(1) for f in _FIELD.finditer(comp)]
        return comp % {k: self._coerce(k, data_id[k]) for k in keys} if keys else comp

    @property
    def directory(self) -> str:
        """The template of the directory holding the file (the last component dropped)."""
        return "/".join(self.components[:-1])

    # ----- matching ----------------------------------------------------------------------------
    def _component_regex(self, index: int, bound: tuple) -> re.Pattern:
        key = (index, bound)
        pattern = self._regex_cache.get(key)
        if pattern is not None:
            return pattern
        bound_keys = dict(bound)
        comp = self.components[index]
        parts, pos, seen = [], 0, set()
        for f in _FIELD.finditer(comp):
            parts.append(re.escape(comp[pos:f.start()]))
            name, conv = f.group(1), f.group(3)
            if name in bound_keys:
                parts.append(re.escape(("%" + f.group(2) + conv) % bound_keys[name]))
            elif name in seen:
                parts.append(f"(?P={name})")
            else:
                seen.add(name)
                sub = _KEY_PATTERNS.get(name) or (r"-?\d+" if conv in "di" else r"[^/]+?")
                parts.append(f"(?P<{name}>{sub})")
            pos = f.end()
        parts.append(re.escape(comp[pos:]))
        last = index == len(self.components) - 1
        suffix = "(?:" + "|".join(re.escape(s) for s in COMPRESSED_SUFFIXES) + ")?" if last else ""
        pattern = re.compile("^" + "".join(parts) + suffix + "$")
        self._regex_cache[key] = pattern
        return pattern

    def match_component(self, index: int, name: str, bindings: dict[str, Any]) -> Optional[dict[str, Any]]:
        """New bindings if ``name`` matches component ``index`` given earlier bindings, else None."""
        comp = self.components[index]
        keys = [f.group(1) for f in _FIELD.finditer(comp)]
        bound = tuple(sorted((k, self._coerce(k, bindings[k])) for k in keys if k in bindings))
        m = self._component_regex(index, bound).match(name)
        if m is None:
            return None
        new = dict(bindings)
        for k, text in m.groupdict().items():
            if k in self.int_keys:
                new[k] = int(text)
            elif k in self.comma_keys and re.fullmatch(r"\d\d", text):
                new[k] = f"{text[0]},{text[1]}"  # lsstSim "23" in a path is raft "2,3"
            else:
                new[k] = text
        # The loose regex accepted the digits; formatting them back must give the same name
        # (so "%(visit)08d" does not accept "204595" or "0000204595").
        try:
            rendered = self.expand_component(index, new)
        except (KeyError, ValueError, TypeError):
            return None
        base = name
        if index == len(self.components) - 1:
            for s in COMPRESSED_SUFFIXES:
                if base.endswith(s) and not rendered.endswith(s):
                    base = base[: -len(s)]
                    break
        return new if rendered == base else None

    def _coerce(self, key: str, value: Any) -> Any:
        if key in self.int_keys:
            return int(value)
        return str(value).replace(",", "") if key in self.comma_keys else str(value)


class DirLister:
    """Directory listings read once and shared by every template of one pass (thread-safe).

    A listing maps entry name -> is-directory; an absent directory lists as None.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, Optional[dict[str, bool]]] = {}
        self.reads = 0

    def list(self, path: str) -> Optional[dict[str, bool]]:
        with self._lock:
            if path in self._cache:
                return self._cache[path]
        entries: Optional[dict[str, bool]]
        try:
            with os.scandir(path) as it:
                entries = {}
                for e in it:
                    try:
                        entries[e.name] = e.is_dir()
                    except OSError:
                        entries[e.name] = False
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            entries = None
        with self._lock:
            self.reads += 1
            self._cache[path] = entries
        return entries

    def find_file(self, root: str, relpath: str) -> Optional[str]:
        """The existing file for a relative path under root (plain, then .gz/.fz), or None."""
        directory, _, name = relpath.rpartition("/")
        listing = self.list(os.path.join(root, directory) if directory else root)
        if not listing:
            return None
        for candidate in (name,) + tuple(name + s for s in COMPRESSED_SUFFIXES if not name.endswith(s)):
            if candidate in listing and not listing[candidate]:
                return os.path.join(root, directory, candidate) if directory else os.path.join(root, candidate)
        return None

    def dir_exists(self, root: str, reldir: str) -> bool:
        return self.list(os.path.join(root, reldir) if reldir else root) is not None


def find_file(root: str, relpath: str) -> Optional[str]:
    """Like :meth:`DirLister.find_file` for a single look-up (no listing kept)."""
    path = os.path.join(root, relpath)
    if os.path.isfile(path):
        return path
    for s in COMPRESSED_SUFFIXES:
        if not relpath.endswith(s) and os.path.isfile(path + s):
            return path + s
    return None


def walk_template(root: str, template: PathTemplate, lister: DirLister,
                  fixed: Optional[dict[str, Any]] = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every file under ``root`` matching the template: (path, data ID of the template's keys).

    Only directories named by a template component are listed. ``fixed`` pins some keys.
    """
    comps = template.components
    last = len(comps) - 1

    def rec(dirpath: str, index: int, bindings: dict[str, Any]):
        comp = comps[index]
        listing = lister.list(dirpath)
        if not listing:
            return
        if "%(" not in comp:
            names = [comp] + ([comp + s for s in COMPRESSED_SUFFIXES] if index == last else [])
            for name in names:
                if name in listing and listing[name] == (index != last):
                    yield from step(dirpath, index, name, bindings)
                    if index == last:
                        break
            return
        for name in sorted(listing):
            if listing[name] != (index != last) or name.startswith("."):
                continue
            new = template.match_component(index, name, bindings)
            if new is not None:
                yield from step(dirpath, index, name, new)

    def step(dirpath: str, index: int, name: str, bindings: dict[str, Any]):
        path = os.path.join(dirpath, name)
        if index == last:
            yield path, {k: bindings[k] for k in template.keys if k in bindings}
        else:
            yield from rec(path, index + 1, bindings)

    yield from rec(root, 0, dict(fixed or {}))
