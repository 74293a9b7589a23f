"""The panels' direct redraws, run together once a batch of state changes is done.

A click changes several state parameters in a cascade (band, then the visits, then the exposure),
and the image and the histogram each redraw from the state. Each asks :func:`redraw_on_next_tick`
to run its flush on the document's next tick: whatever the number of changes and panels, a session
gets one callback per batch.
"""
from __future__ import annotations

import logging
import threading
from functools import partial
from typing import Any, Callable
from weakref import WeakKeyDictionary

import panel as pn

log = logging.getLogger(__name__)

_PENDING: "WeakKeyDictionary[Any, dict[int, Callable[[], None]]]" = WeakKeyDictionary()
_LOCK = threading.Lock()


def redraw_on_next_tick(owner: object, flush: Callable[[], None]) -> None:
    """Run ``flush`` on the current served document's next tick, once however often it is asked
    before then (one flush per ``owner``, in the order first asked); outside a served session (a
    notebook, a script, a test) run it now.

    Parameters
    ----------
    owner : object
        The panel asking; its flush runs once per tick.
    flush : callable
        Brings the panel's Bokeh models up to date with the state.
    """
    doc = getattr(pn.state, "curdoc", None)
    if doc is None or getattr(doc, "session_context", None) is None:
        flush()
        return
    with _LOCK:
        pending = _PENDING.get(doc)
        first = pending is None
        if first:
            pending = _PENDING[doc] = {}
        pending.setdefault(id(owner), flush)
    if first:
        doc.add_next_tick_callback(partial(_run, doc))


def _run(doc: Any) -> None:
    with _LOCK:
        flushes = list(_PENDING.pop(doc, {}).values())
    for flush in flushes:
        try:
            flush()
        except Exception:  # (each panel reports its own failures; one panel's slip skips no other)
            log.exception("redraw failed")
