"""The page's HoloViews panes, every figure drawn on a 2D canvas rather than WebGL.

HoloViews asks Bokeh for WebGL output by default. None of the explorer's glyphs gains from it
(images sent as PNG, polygons, bars, a few hundred markers), and every repaint then copies the
WebGL canvas into the figure's 2D canvas. Without a GPU (a headless or virtual machine's browser,
many hosted sessions) that copy took about 40 ms a paint of the image figure, the largest part of
a click's time in the browser (BENCHMARKS.md). The renderer here is HoloViews' own with WebGL
off, given to each pane, so the user's other HoloViews plots in the same notebook kernel keep
their own setting.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import panel as pn


@lru_cache(maxsize=1)
def canvas_renderer() -> Any:
    """HoloViews' Bokeh renderer with WebGL off (one instance, shared by every pane)."""
    import holoviews as hv

    return hv.renderer("bokeh").instance(webgl=False)


def figure_pane(obj: Any, **params: Any) -> pn.pane.HoloViews:
    """A ``pn.pane.HoloViews`` of ``obj`` drawn by :func:`canvas_renderer`; ``params`` are the
    pane's own (sizing, CSS classes, ``linked_axes``)."""
    return pn.pane.HoloViews(obj, renderer=canvas_renderer(), **params)
