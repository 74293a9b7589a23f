"""Confine user-typed repository paths to the directories a server was started with.

A hosted explorer (``repo-explorer serve --repo-root DIR``) lets people type a repository path in
the page or put it in the URL (``?repo=...``). That text is untrusted: this module turns it into a
real directory path inside one of the allowed roots, or raises
:class:`~explorer.errors.PathNotAllowedError` with a message naming the problem. It is pure
(no UI imports) so the rule can be unit-tested and reused by any front end.

Rules, with roots given:

* NUL bytes and other control characters, paths longer than :data:`MAX_PATH_CHARS` or with a
  component longer than :data:`MAX_COMPONENT_CHARS`, ``..`` components (also when
  percent-encoded, e.g. ``%2e%2e``, at any depth of encoding), ``~`` (a home directory), and
  percent-encoded text that decodes to an absolute path (``%2Fetc``) are refused outright;
* a relative path is taken relative to the first root, an absolute one as it is;
* the result is resolved with ``os.path.realpath`` (symbolic links followed) and must then lie in
  (or be) the real path of one of the roots, so a symlink pointing out of a root is refused;
* every path the repository's own configuration leads to (registry database, datastore root, Gen2
  parents and calibration roots) must lie inside the roots too, and a database server only on a
  host the operator allowed (:mod:`explorer.repo.confine`); the files a registry points at are
  checked when a dataset is located.

With no roots the server is not confined: the path is only checked for NUL bytes and length and
returned as an absolute path (``~`` expanded).
"""
from __future__ import annotations

import os
import urllib.parse
from typing import Sequence

from .errors import PathNotAllowedError

MAX_PATH_CHARS = 4096
MAX_COMPONENT_CHARS = 255  # NAME_MAX of every common file system
_MAX_DECODE_ROUNDS = 4


def _decoded_forms(text: str) -> list[str]:
    """The text and its successive percent-decodings (``%252e`` -> ``%2e`` -> ``.``)."""
    forms = [text]
    for _ in range(_MAX_DECODE_ROUNDS):
        nxt = urllib.parse.unquote(forms[-1])
        if nxt == forms[-1]:
            break
        forms.append(nxt)
    return forms


def _has_parent_component(text: str) -> bool:
    parts = text.replace("\\", "/").split("/")
    return any(part.strip() == ".." for part in parts)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_roots(roots: Sequence[str]) -> list[str]:
    """Real paths of the allowed roots; each must be an existing directory."""
    out = []
    for root in roots:
        real = os.path.realpath(os.path.expanduser(os.fspath(root)))
        if not os.path.isdir(real):
            raise PathNotAllowedError(f"--repo-root {root} is not an existing directory")
        out.append(real)
    return out


def _shown(text: str, limit: int = 80) -> str:
    """The user's text for a message: repr (control characters visible), cut to ``limit``."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _refuse(reason: str) -> PathNotAllowedError:
    return PathNotAllowedError(f"refused: {reason}")


def resolve_repo_path(user_input: str, roots: Sequence[str]) -> str:
    """The real path a user's repository path names, confined to ``roots`` when any are given.

    Raises :class:`PathNotAllowedError` (message ``refused: <reason>``) for NUL bytes and control
    characters, overlong input or components, ``..`` (plain or percent-encoded), ``~``,
    percent-encoded absolute paths, and anything that resolves (after following symlinks)
    outside every root.
    """
    if not isinstance(user_input, str):
        raise _refuse(f"repository path must be text, not {type(user_input).__name__}")
    if len(user_input) > MAX_PATH_CHARS:
        raise _refuse(f"repository path is too long ({len(user_input)} characters, at most {MAX_PATH_CHARS})")
    forms = _decoded_forms(user_input)
    if any("\x00" in form for form in forms):
        raise _refuse("repository path contains a NUL byte")
    if any(ord(ch) < 32 or ord(ch) == 127 for form in forms for ch in form):
        raise _refuse(f"repository path {_shown(user_input)} contains control characters")
    text = user_input.strip()
    if not text:
        raise _refuse("repository path is empty")
    from .repo.auth import remote_target  # a Butler server URL or index label (allowed ones only)

    remote = remote_target(text)
    if remote is not None:
        return remote
    longest = max(len(part) for part in text.replace("\\", "/").split("/"))
    if longest > MAX_COMPONENT_CHARS:
        raise _refuse(f"repository path has a component of {longest} characters (at most {MAX_COMPONENT_CHARS})")
    if not roots:
        return os.path.abspath(os.path.expanduser(text))

    if any(_has_parent_component(form) for form in forms):
        raise _refuse(f"repository path {_shown(user_input)} contains '..': "
                      f"paths must stay inside the allowed directories")
    if any(form.lstrip().startswith("~") for form in forms):
        raise _refuse(f"repository path {_shown(user_input)} starts with '~': home directories are not "
                      f"allowed; give a path inside the allowed directories")
    if any(os.path.isabs(form.strip()) or form.strip().startswith("\\") for form in forms[1:]):
        raise _refuse(f"repository path {_shown(user_input)} is a percent-encoded absolute path: "
                      f"write paths plainly, inside the allowed directories")
    real_roots = check_roots(roots)
    candidate = text if os.path.isabs(text) else os.path.join(real_roots[0], text)
    real = os.path.realpath(candidate)
    if not any(_within(real, root) for root in real_roots):
        allowed = ", ".join(real_roots)
        how = " (through a symbolic link)" if real != os.path.abspath(candidate) else ""
        raise _refuse(f"repository path {_shown(user_input)} is outside the allowed directories{how} "
                      f"({allowed})")
    # a directory inside may still lead out through its own configuration (registry, datastore,
    # Gen2 parents and calib roots): refused here, before any registry is opened
    from .repo.confine import check_repository

    check_repository(real, real_roots)
    return real


def display_path(path: str, roots: Sequence[str]) -> str:
    """How to show a resolved path to a user of a confined server.

    Relative to the first root (where relative input resolves) when it lies there, else absolute;
    feeding the result back to :func:`resolve_repo_path` gives the same path.
    """
    if not roots:
        return path
    first = check_roots(roots[:1])[0]
    if _within(path, first) and path != first:
        return os.path.relpath(path, first)
    return path
