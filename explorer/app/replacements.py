"""Replacing a step of Panel or HoloViews for the whole process, once.

The page replaces library steps whose behaviour is wrong for a server that many sessions share:
Panel's text panes that resend their stylesheets (:mod:`explorer.app.pane_updates`), HoloViews'
constant-parameter blocks that race across threads (:mod:`explorer.app.figures`), its stream
registry, read while other threads change it (:mod:`explorer.app.stream_registry`), and its
clean-up of option trees, run twice at once (:mod:`explorer.app.option_trees`).
:func:`replace_once` does each the same way: under one lock, only where the library still has that
step, and never twice.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

_LOCK = threading.Lock()
_MARK = "_explorer_replacement"


def replace_once(owner: Any, name: str, make: Callable[[Any], Any]) -> bool:
    """Set ``owner.name`` (a module's function, a class's method) to ``make(original)``, once.

    Parameters
    ----------
    owner : module or class
        Where the step is defined (a class's own attribute, not one it inherits).
    name : str
        The step's name there.
    make : callable
        ``make(original) -> replacement``.

    Returns
    -------
    bool
        True when the replacement is in place (now or before); False, changing nothing, when
        ``owner`` has no such step (another version of the library).
    """
    with _LOCK:
        original = vars(owner).get(name)
        if original is None:
            return False
        if not getattr(original, _MARK, False):
            replacement = make(original)
            setattr(replacement, _MARK, True)
            setattr(owner, name, replacement)
    return True
