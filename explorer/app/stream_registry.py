"""HoloViews' registry of streams, read and changed by one thread at a time.

Every plot HoloViews builds reads the process-wide ``Stream.registry`` (``items()``: which streams
watch which sources), and every stream made or dropped changes it. Bokeh 3.10 builds each new
session's page on a worker thread of its own, so two pages built at once read and change the
registry together, and the reading thread fails: "dictionary changed size during iteration" in
``Stream.registry.items()``. The session gets Panel's error page instead of the explorer (load.py's
``page_incomplete``: one session in about ten 20-session runs). :func:`install` makes each of the
registry's reads and changes hold one lock, so a read never overlaps a change. (The collector's
own removals are already deferred while the dictionary is iterated.)
"""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from .replacements import replace_once

_LOCK = threading.RLock()  # (re-entrant: a read can run inside a change, in one thread)
STEPS = ("register", "unregister", "items", "values", "get", "__getitem__")


def _one_at_a_time(step: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(step)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return step(*args, **kwargs)

    return locked


def install() -> bool:
    """Hold the lock in each read and change of HoloViews' stream registry (once; True when the
    registry has every step this expects)."""
    from holoviews.streams import Stream

    registry_class = type(Stream.registry)
    return all([replace_once(registry_class, step, _one_at_a_time) for step in STEPS])
