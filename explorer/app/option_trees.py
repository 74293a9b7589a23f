"""HoloViews' clean-up of custom option trees, made safe to run twice at once.

HoloViews keeps the options given to an element in a process-wide tree per id
(``Store._custom_options``), with a list of weak references to the elements that use it
(``Store._weakrefs``). ``cleanup_custom_options(id)`` drops the dead references and, once none
is left, the tree. It runs as each weak reference's callback, when the garbage collector frees an
element (in whichever thread is allocating then, between any two bytecodes of the code running
there), and it is called directly when an element's id changes, as pages are built.

Two runs for one id at once each walk a copy of the same list and remove from it; the second
removal of a dead reference raises, and HoloViews turns that into a ``RuntimeError`` ("Cleanup of
custom options tree ... failed") in the code that called it. A served process frees closed
sessions' pages while it builds new ones on several threads, and a page that meets this gets
Panel's error page instead of the explorer (as one that met the stream registry's race did:
:mod:`explorer.app.stream_registry`). :func:`install` replaces the function with one that holds
a lock and keeps the live references without removing in place.
"""
from __future__ import annotations

import threading
from typing import Any, Optional

from .replacements import replace_once

_LOCK = threading.RLock()  # re-entrant: a collection can start inside a clean-up, in its thread


def cleanup_custom_options(id: int, weakref: Optional[Any] = None) -> None:
    """Drop the dead weak references to the elements with option tree ``id`` (and ``weakref``,
    the one whose element was just freed); drop the tree once no element uses it.

    The same outcome as HoloViews' function, safe when another run for ``id`` is under way: in
    another thread (it waits), or nested in this one by a collection (it finds the list already
    filtered, and each removal tolerates what is gone).
    """
    from holoviews.core.options import Store

    with _LOCK:
        if Store._options_context:
            return
        refs = Store._weakrefs.get(id)
        alive = []
        for ref in list(refs or ()):
            if ref is weakref:
                continue
            obj = ref()
            if obj is not None and getattr(obj, "id", None) == id:
                alive.append(ref)
        if refs is not None:
            refs[:] = alive  # in place: a run nested in this one holds the same list
        if not alive:
            for backend in Store.loaded_backends():
                Store._custom_options.get(backend, {}).pop(id, None)
            Store._weakrefs.pop(id, None)


def install() -> bool:
    """Use :func:`cleanup_custom_options` wherever HoloViews calls its own (once; True when both
    of HoloViews' modules that call it have it).

    Weak references made before this keep HoloViews' function as their callback; the page
    calls this before it makes any element."""
    from holoviews.core import dimension, options

    # (imported by name in holoviews.core.dimension: replaced there too)
    return all([replace_once(module, "cleanup_custom_options", lambda _original: cleanup_custom_options)
                for module in (options, dimension)])
