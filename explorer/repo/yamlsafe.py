"""Load LSST YAML files that carry custom tags, safely: nothing named in a tag is ever imported or run.

Gen2 ``repositoryCfg.yaml`` uses ``!RepositoryCfg_v1`` and ``!!python/name:...``; task metadata uses
``!<lsst.daf.base.PropertySet>``; Butler exports use ``!butler_time/tai/iso``; a Gen2 policy may
embed ``!!python/object:...``. ``yaml.safe_load`` refuses all of them, and ``yaml.load`` with an
unsafe loader would import and call what they name. :class:`TolerantSafeLoader` is a SafeLoader
whose fallback builds the plain node underneath any unknown tag:

* a mapping becomes a :class:`TaggedDict` (a ``dict`` that remembers ``yaml_tag``),
* a sequence becomes a :class:`TaggedList` (a ``list`` with ``yaml_tag``),
* a scalar becomes its string; for ``!!python/name:x.y.Z`` (whose scalar is empty) the result is
  the dotted name ``"x.y.Z"``.

So ``!!python/object/apply:os.system ["echo hi"]`` is just the list ``["echo hi"]``.
"""
from __future__ import annotations

import os
from typing import Any

import yaml

from .errors import BadFileError

MAX_YAML_BYTES = 64 * 1024**2  # refuse to parse anything larger (bounded work)

_PYTHON_NAME_PREFIXES = ("tag:yaml.org,2002:python/name:", "tag:yaml.org,2002:python/module:")


class TaggedDict(dict):
    """A mapping that carried an unknown YAML tag (kept in ``yaml_tag``)."""

    yaml_tag: str = ""


class TaggedList(list):
    """A sequence that carried an unknown YAML tag (kept in ``yaml_tag``)."""

    yaml_tag: str = ""


class TolerantSafeLoader(yaml.SafeLoader):
    """SafeLoader that turns any unknown tag into the plain data underneath; never executes code."""


def _construct_unknown(loader: TolerantSafeLoader, node: yaml.Node) -> Any:
    tag = node.tag or ""
    if isinstance(node, yaml.MappingNode):
        out = TaggedDict()
        out.yaml_tag = tag
        yield out  # yielded first so recursive (anchored) structures resolve
        out.update(loader.construct_mapping(node, deep=True))
        return
    if isinstance(node, yaml.SequenceNode):
        seq = TaggedList()
        seq.yaml_tag = tag
        yield seq
        seq.extend(loader.construct_sequence(node, deep=True))
        return
    value = loader.construct_scalar(node)
    for prefix in _PYTHON_NAME_PREFIXES:
        if tag.startswith(prefix) and not value:
            yield tag[len(prefix):]
            return
    yield value


TolerantSafeLoader.add_constructor(None, _construct_unknown)


def _read_source(text_or_path: Any) -> tuple[str, str]:
    """(text, label for messages) from YAML text, bytes, or a path."""
    if isinstance(text_or_path, bytes):
        return text_or_path.decode("utf-8", "replace"), "YAML text"
    if isinstance(text_or_path, os.PathLike) or (
            isinstance(text_or_path, str) and "\n" not in text_or_path and len(text_or_path) < 4096
            and os.path.isfile(text_or_path)):
        path = os.fspath(text_or_path)
        try:
            size = os.path.getsize(path)
            if size > MAX_YAML_BYTES:
                raise BadFileError(f"{path}: YAML file too large ({size} bytes)")
            with open(path, "rb") as fh:
                return fh.read().decode("utf-8", "replace"), path
        except FileNotFoundError:
            raise BadFileError(f"{path}: no such YAML file") from None
        except IsADirectoryError:
            raise BadFileError(f"{path}: is a directory, not a YAML file") from None
        except OSError as exc:
            raise BadFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not isinstance(text_or_path, str):
        raise BadFileError(f"cannot load YAML from a {type(text_or_path).__name__}")
    if len(text_or_path) > MAX_YAML_BYTES:
        raise BadFileError("YAML text too large")
    return text_or_path, "YAML text"


def load_yaml(text_or_path: Any) -> Any:
    """Parse one YAML document (text, bytes or a file path), tolerating any tag, executing nothing.

    Raises BadFileError with a one-line message (naming the file and line) for malformed YAML.
    """
    text, label = _read_source(text_or_path)
    try:
        return yaml.load(text, Loader=TolerantSafeLoader)  # noqa: S506 - the loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise BadFileError(f"{label}: malformed YAML{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise BadFileError(f"{label}: malformed YAML: {' '.join(str(exc).split())[:160]}") from None
    except RecursionError:
        raise BadFileError(f"{label}: YAML nested too deeply") from None
    except (TypeError, ValueError) as exc:  # e.g. an unhashable mapping key
        raise BadFileError(f"{label}: unusable YAML ({' '.join(str(exc).split())[:160]})") from None
