"""HoloViews plot hooks that do not keep a closed session in memory.

HoloViews keeps the options of every element given options (``.opts(hooks=...)``) in a
process-wide tree, ``Store._custom_options``, released only once every element that uses it has
been collected. A hook that holds the session (a panel's bound method, a closure over a panel)
holds, through the panel, the elements that use the tree: nothing of a session was ever freed, and
a served process grew by every page it had served (issue 12 at stop 27, BENCHMARKS.md).

:func:`weak_hook` gives HoloViews a wrapper that holds the hook weakly; the session holds the
hook itself (a bound method through its object, a function through its keeper), so closing the
session frees the panel, then its elements, then their options.
"""
from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

Hook = Callable[[Any, Any], None]


def weak_hook(hook: Hook, keeper: Any = None) -> Hook:
    """``hook(plot, element)`` for HoloViews' ``hooks`` option, held weakly (see module docstring).

    Parameters
    ----------
    hook
        A bound method (held by its object), or a function, such as a closure, that ``keeper``
        is given to hold.
    keeper
        For a function: the object that lives as long as the hook is needed (the panel). It
        holds the function under its qualified name, so a later closure of the same name (the
        plot built again) replaces the earlier one.
    """
    if inspect.ismethod(hook):
        ref: Callable[[], Hook | None] = weakref.WeakMethod(hook)
    else:
        if keeper is None:
            raise ValueError("weak_hook: a function hook needs a keeper (the object that holds it)")
        held = keeper.__dict__.setdefault("_held_hooks", {})
        held[hook.__qualname__] = hook
        ref = weakref.ref(hook)

    def call(plot: Any, element: Any) -> None:
        target = ref()
        if target is not None:
            target(plot, element)

    return call
