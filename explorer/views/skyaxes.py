"""HoloViews elements of the sky axes drawn over the image: grid lines and compass arrows (one
``hv.Path``), and their labels (one ``hv.Labels``); see :mod:`explorer.render.graticule`."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..render.graticule import Compass, Graticule

GRID_COLOR = "#7fff7f"
COMPASS_COLOR = "#ffd400"


def skyaxes_paths(grid: Optional[Graticule], arrows: Optional[Compass]):
    """Grid lines (green) and the N/E arrows (yellow) as one Path with a ``kind`` and ``value`` per line."""
    import holoviews as hv

    paths = []
    for line in (grid.lines if grid else []):
        paths.append({"x": line.x, "y": line.y, "kind": f"grid-{line.kind}", "value": line.value,
                      "color": GRID_COLOR})
    if arrows is not None:
        for name, tip in (("north", arrows.north), ("east", arrows.east)):
            paths.append({"x": np.array([arrows.x, tip[0]]), "y": np.array([arrows.y, tip[1]]),
                          "kind": f"compass-{name}", "value": 0.0, "color": COMPASS_COLOR})
    if not paths:  # (HoloViews cannot draw an empty Path with value dimensions: one invisible line)
        paths.append({"x": np.array([np.nan, np.nan]), "y": np.array([np.nan, np.nan]), "kind": "none",
                      "value": 0.0, "color": GRID_COLOR})
    colors = hv.dim("kind").categorize({"compass-north": COMPASS_COLOR, "compass-east": COMPASS_COLOR},
                                       default=GRID_COLOR)
    return hv.Path(paths, kdims=["x", "y"], vdims=["kind", "value", "color"], label="skyaxes").opts(
        color=colors, line_width=1.2, alpha=0.85)


def skyaxes_labels(grid: Optional[Graticule], arrows: Optional[Compass]):
    """The grid lines' RA/Dec labels and the compass's N and E."""
    import holoviews as hv

    xs, ys, texts, kinds, colors = [], [], [], [], []
    for label in (grid.labels if grid else []):
        xs.append(label.x)
        ys.append(label.y)
        texts.append(label.text)
        kinds.append(f"grid-{label.kind}")
        colors.append(GRID_COLOR)
    if arrows is not None:
        for text, tip in (("N", arrows.north), ("E", arrows.east)):
            xs.append(tip[0] + 0.15 * (tip[0] - arrows.x))
            ys.append(tip[1] + 0.15 * (tip[1] - arrows.y))
            texts.append(text)
            kinds.append("compass")
            colors.append(COMPASS_COLOR)
    data = {"x": np.asarray(xs, float), "y": np.asarray(ys, float), "text": texts, "kind": kinds, "color": colors}
    return hv.Labels(data, kdims=["x", "y"], vdims=["text", "kind", "color"], label="skyaxes").opts(
        text_color="color", text_font_size="11px", text_align="left", text_baseline="bottom")
