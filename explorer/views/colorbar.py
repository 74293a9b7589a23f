"""The colour bar: the colour map as the stretch lays it out, with the data values at its ticks."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COLORBAR_NAME = "explorer-colorbar"  # the Bokeh figure's name (browser tests find it by it)


def colorbar_figure(cmap: str, ticks: Sequence[tuple[float, float]], title: str = "", height: int = 80):
    """A Bokeh figure: the colour map from 0 (low limit) to 1 (high limit), labelled with the data
    value at each tick position (``ticks``: ``(position, value)``, see
    :func:`explorer.render.display_limits.colorbar_ticks`)."""
    from bokeh.models import FixedTicker
    from bokeh.plotting import figure

    fig = figure(height=height, sizing_mode="stretch_width", x_range=(0, 1), y_range=(0, 1), toolbar_location=None,
                 tools="", name=COLORBAR_NAME, title=title, min_border_left=20, min_border_right=30)
    fig.image_rgba(image=[_ramp(cmap)], x=0, y=0, dw=1, dh=1)
    fig.yaxis.visible = False
    fig.grid.visible = False
    fig.xaxis.ticker = FixedTicker(ticks=[0.0, 1.0])
    fig.xaxis.axis_label = "data value"
    fig.title.text_font_size = "11px"
    update_colorbar(fig, cmap, ticks)
    return fig


def _ramp(cmap: str) -> np.ndarray:
    from ..render.raster import colormap_lut

    rgba = np.empty((1, 256), dtype=np.uint32)
    view = rgba.view(dtype=np.uint8).reshape((1, 256, 4))
    view[0, :, :3] = colormap_lut(cmap)
    view[0, :, 3] = 255
    return rgba


def update_colorbar(fig, cmap: str, ticks: Sequence[tuple[float, float]]) -> None:
    """Redraw a :func:`colorbar_figure` in place (one figure per page: the browser keeps its model)."""
    from ..render.display_limits import format_value

    fig.renderers[0].data_source.data = {"image": [_ramp(cmap)]}
    fig.xaxis.ticker.ticks = [float(p) for p, _ in ticks]
    fig.xaxis.major_label_overrides = {float(p): format_value(v) for p, v in ticks}
