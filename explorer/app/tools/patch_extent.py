"""What the patch tools (RGB composite, blink and compare) start their plot from: the extent of the
coadd patch their ``patch_key`` names, or the message that there is none.

A patch tool's ``patch_key`` is ``(repo, tract, patch, (shape, xy0) or None)``: a change rebuilds
the plot, and the last item gives the frame's extent without reading any pixels.
"""
from __future__ import annotations

from typing import Optional

import panel as pn

from ...render.raster import full_range
from ..style import message_html

Range = tuple[float, float]


def patch_extent(key) -> Optional[tuple[Range, Range, tuple[float, float, float, float]]]:
    """``(x_range, y_range, bounds)`` of the whole patch in parent pixels (``bounds``: left, bottom,
    right, top, as HoloViews takes them), or None when ``key`` names no patch with bands."""
    if key is None or key[3] is None:
        return None
    shape, xy0 = key[3]
    fx, fy = full_range(shape, xy0)
    return fx, fy, (fx[0], fy[0], fx[1], fy[1])


def no_patch_pane(text: str, css_class: str) -> pn.pane.HTML:
    """The pane a patch tool shows in place of its plot when there is no patch to show."""
    return pn.pane.HTML(message_html(text, css_class, "#777", 120), sizing_mode="stretch_width", height=120)
