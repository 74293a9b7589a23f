"""The RGB composite as a HoloViews element."""
from __future__ import annotations

import numpy as np

from .image import IMAGE_KDIMS


def rgb_element(frame, title: str = ""):
    """An ``hv.RGB`` of a :class:`~explorer.render.rgb.RGBFrame` at its parent-pixel bounds."""
    import holoviews as hv

    rgba = np.ascontiguousarray(frame.rgba[::-1])  # hv images run top to bottom
    bounds = (frame.x_range[0], frame.y_range[0], frame.x_range[1], frame.y_range[1])
    return hv.RGB(rgba, bounds=bounds, kdims=list(IMAGE_KDIMS), label="rgb").opts(title=title)
