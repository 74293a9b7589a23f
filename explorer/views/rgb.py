"""The RGB composite as a HoloViews element."""
from __future__ import annotations

import numpy as np

from .image import IMAGE_KDIMS, png_rgb_class


def rgb_element(frame, title: str = ""):
    """An ``hv.RGB`` of a :class:`~explorer.render.rgb.RGBFrame` at its parent-pixel bounds (sent
    to the browser as a PNG or lossless WebP: :func:`explorer.views.image.png_rgb_class`)."""
    rgba = np.ascontiguousarray(frame.rgba[::-1])  # hv images run top to bottom
    bounds = (frame.x_range[0], frame.y_range[0], frame.x_range[1], frame.y_range[1])
    return png_rgb_class()(rgba, bounds=bounds, kdims=list(IMAGE_KDIMS), label="rgb").opts(title=title)
