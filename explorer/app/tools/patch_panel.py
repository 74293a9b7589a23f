"""The base of the patch tools (RGB composite, blink and compare): a panel that plots the selected
coadd patch, rebuilt when the patch changes, with a message in place of the plot when there is none.

A patch tool's ``patch_key`` is ``(repo, tract, patch, (shape, xy0) or None)``: a change rebuilds
the plot, and the last item gives the frame's extent without reading any pixels.
"""
from __future__ import annotations

from typing import Any, Optional

import panel as pn
import param

from ...render.raster import full_range
from ..base import Panel
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


class PatchPanel(Panel):
    """A tool plotting the selected coadd patch. Subclasses set :attr:`plot_name` (what a failure
    names), :attr:`no_patch_text` and :attr:`no_patch_css`, implement :meth:`plot` and set
    ``patch_key`` when the selection changes; :meth:`view` is their plot, rebuilt on that change."""

    patch_key = param.Parameter(default=None, doc="(repo, tract, patch, shape): a change rebuilds the plot")
    plot_name = "the plot"
    no_patch_text = "no coadd patch"
    no_patch_css = "patch-empty"

    @param.depends("patch_key")
    def view(self):
        return self.guard(self.plot_name, self._build, height=200)

    def _build(self):
        extent = patch_extent(self.patch_key)
        if extent is None:
            return no_patch_pane(self.no_patch_text, self.no_patch_css)
        return self.plot(*extent)

    def plot(self, x_range: Range, y_range: Range, bounds: tuple[float, float, float, float]) -> Any:
        """The tool's plot over the whole patch (``x_range``, ``y_range``: its edges in parent pixels)."""
        raise NotImplementedError
