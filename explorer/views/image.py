"""HoloViews elements for the image pane: the rendered frame and the sources drawn over it."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .raster import Frame

IMAGE_KDIMS = ("x", "y")


def frame_element(frame: Frame, title: str = ""):
    """An ``hv.RGB`` of a rendered frame placed at its parent-pixel bounds (one uint32 per cell)."""
    import holoviews as hv

    rgba = np.ascontiguousarray(frame.rgba[::-1])  # hv images run top to bottom
    return hv.RGB(rgba, bounds=frame.bounds, kdims=list(IMAGE_KDIMS), label="image").opts(title=title)


def empty_image(message: str = "", bounds=(0, 0, 1, 1)):
    """A blank image with a message, shown when there is nothing (or nothing readable) to show."""
    import holoviews as hv

    rgba = np.full((2, 2, 4), 245, dtype=np.uint8)
    # HoloViews formats titles with str.format: a data ID's braces must be doubled
    title = message.replace("{", "{{").replace("}", "}}")
    return hv.RGB(rgba, bounds=bounds, kdims=list(IMAGE_KDIMS), label="image").opts(title=title)


def sources_element(x: np.ndarray, y: np.ndarray, ids: Optional[np.ndarray] = None,
                    value: Optional[np.ndarray] = None, value_name: str = "value", color: str = "#00e5ff",
                    size: float = 9.0):
    """Open circles at source centroids (parent-pixel coordinates), with id and value on hover."""
    import holoviews as hv

    n = len(x)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    value = np.full(n, np.nan) if value is None else np.asarray(value, dtype=float)
    data = {"x": np.asarray(x, float), "y": np.asarray(y, float), "id": ids, "value": value}
    vdims = ["id", hv.Dimension("value", label=value_name)]
    return hv.Points(data, kdims=list(IMAGE_KDIMS), vdims=vdims, label="sources").opts(
        marker="circle", size=size, fill_alpha=0.0, line_color=color, line_width=1.5, color=color,
        tools=["hover"], hover_tooltips=[("id", "@id"), ("x, y", "@x{0.0}, @y{0.0}"), (value_name, "@value{0.000g}")])
