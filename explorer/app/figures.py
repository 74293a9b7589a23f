"""The page's HoloViews panes, every figure drawn on a 2D canvas rather than WebGL.

HoloViews asks Bokeh for WebGL output by default. None of the explorer's glyphs gains from it
(images sent as PNG, polygons, bars, a few hundred markers), and every repaint then copies the
WebGL canvas into the figure's 2D canvas. Without a GPU (a headless or virtual machine's browser,
many hosted sessions) that copy took about 40 ms a paint of the image figure, the largest part of
a click's time in the browser (BENCHMARKS.md). The renderer here is HoloViews' own with WebGL
off, given to each pane, so the user's other HoloViews plots in the same notebook kernel keep
their own setting.

The sessions of a served page build and update their figures in Bokeh's thread pool, at the same
time. HoloViews changes a constant parameter (a DynamicMap's ``callback``, an element's ``group``)
by making *every* constant parameter of the object's class writable for a moment and then
constant again (``disable_constant``); those flags are the class's, shared by every session, so
one thread made them constant again while another was writing: "the image failed: TypeError:
Constant parameter 'callback' cannot be modified" in a 20-session load run.
:func:`constants_one_thread_at_a_time` makes those moments take turns.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterator

import panel as pn

from .replacements import replace_once

_CONSTANTS_LOCK = threading.RLock()  # (re-entrant: HoloViews nests them)


def _taking_turns(disable_constant: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @contextmanager
    def in_turn(parameterized: Any) -> Iterator[None]:
        with _CONSTANTS_LOCK, disable_constant(parameterized):
            yield

    return in_turn


def constants_one_thread_at_a_time() -> None:
    """Make HoloViews' ``disable_constant`` blocks run one thread at a time in this process (module
    docstring). Each is a few attribute changes long; once is enough, calling it again does
    nothing."""
    import holoviews.core.util as core_util
    import holoviews.plotting.util as plotting_util

    replace_once(core_util, "disable_constant", _taking_turns)  # (holoviews.core, streams: through the module)
    # (imported by name in plotting.util: the same function, which gets the same replacement)
    replace_once(plotting_util, "disable_constant", lambda _same: core_util.disable_constant)


@lru_cache(maxsize=1)
def canvas_renderer() -> Any:
    """HoloViews' Bokeh renderer with WebGL off (one instance, shared by every pane); HoloViews'
    constant parameters change one thread at a time from then on."""
    import holoviews as hv

    constants_one_thread_at_a_time()
    return hv.renderer("bokeh").instance(webgl=False)


def figure_pane(obj: Any, **params: Any) -> pn.pane.HoloViews:
    """A ``pn.pane.HoloViews`` of ``obj`` drawn by :func:`canvas_renderer`; ``params`` are the
    pane's own (sizing, CSS classes, ``linked_axes``)."""
    return pn.pane.HoloViews(obj, renderer=canvas_renderer(), **params)
