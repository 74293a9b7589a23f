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

    from ..render.display_limits import format_value
    from ..render.raster import colormap_lut

    lut = colormap_lut(cmap)
    rgba = np.empty((1, 256), dtype=np.uint32)
    view = rgba.view(dtype=np.uint8).reshape((1, 256, 4))
    view[0, :, :3] = lut
    view[0, :, 3] = 255
    fig = figure(height=height, sizing_mode="stretch_width", x_range=(0, 1), y_range=(0, 1), toolbar_location=None,
                 tools="", name=COLORBAR_NAME, title=title, min_border_left=20, min_border_right=30)
    fig.image_rgba(image=[rgba], x=0, y=0, dw=1, dh=1)
    fig.yaxis.visible = False
    fig.grid.visible = False
    positions = [float(p) for p, _ in ticks]
    fig.xaxis.ticker = FixedTicker(ticks=positions)
    fig.xaxis.major_label_overrides = {p: format_value(v) for p, v in ticks}
    fig.xaxis.axis_label = "data value"
    fig.title.text_font_size = "11px"
    return fig
