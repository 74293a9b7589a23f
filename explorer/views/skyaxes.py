"""HoloViews elements of the sky axes drawn over the image (see :mod:`explorer.render.graticule`):
the grid lines (one ``hv.Path``, a path per run of a line over the image, with its ``kind``
"ra"/"dec" and ``value`` in degrees), their RA/Dec labels (``hv.Labels``), and the compass arrows
(``hv.Path`` with ``kind`` "north"/"east") and letters. One colour per element: a colour mapped
per path makes HoloViews split every line into segments."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..render.graticule import Compass, Graticule

GRID_COLOR = "#7fff7f"
COMPASS_COLOR = "#ffd400"


def _path(paths: list[dict], color: str, label: str):
    import holoviews as hv

    if not paths:  # (an empty Path with value dimensions cannot be drawn: one invisible line)
        paths = [{"x": np.array([np.nan, np.nan]), "y": np.array([np.nan, np.nan]), "kind": "none", "value": 0.0}]
    return hv.Path(paths, kdims=["x", "y"], vdims=["kind", "value"], label=label).opts(
        color=color, line_width=1.3, alpha=0.9)


def _labels(xs, ys, texts, color: str, label: str):
    import holoviews as hv

    data = {"x": np.asarray(xs, float), "y": np.asarray(ys, float), "text": list(texts)}
    return hv.Labels(data, kdims=["x", "y"], vdims=["text"], label=label).opts(
        text_color=color, text_font_size="11px", text_align="left", text_baseline="bottom")


def grid_paths(grid: Optional[Graticule]):
    """The RA and Dec lines, split where they leave the image."""
    paths = []
    for line in (grid.lines if grid else []):
        ok = np.isfinite(line.x) & np.isfinite(line.y)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a >= 2:
                paths.append({"x": line.x[a:b], "y": line.y[a:b], "kind": line.kind, "value": line.value})
    return _path(paths, GRID_COLOR, "grid")


def grid_labels(grid: Optional[Graticule]):
    """Each line's label (sexagesimal RA or Dec) where it enters the view."""
    labels = grid.labels if grid else []
    return _labels([lb.x for lb in labels], [lb.y for lb in labels], [lb.text for lb in labels], GRID_COLOR, "grid")


def compass_paths(arrows: Optional[Compass]):
    """The N and E arrows."""
    paths = []
    if arrows is not None:
        for name, tip in (("north", arrows.north), ("east", arrows.east)):
            paths.append({"x": np.array([arrows.x, tip[0]]), "y": np.array([arrows.y, tip[1]]), "kind": name,
                          "value": 0.0})
    return _path(paths, COMPASS_COLOR, "compass")


def compass_labels(arrows: Optional[Compass]):
    """N and E beyond the arrows' tips."""
    if arrows is None:
        return _labels([], [], [], COMPASS_COLOR, "compass")
    tips = (arrows.north, arrows.east)
    return _labels([t[0] + 0.2 * (t[0] - arrows.x) for t in tips], [t[1] + 0.2 * (t[1] - arrows.y) for t in tips],
                   ["N", "E"], COMPASS_COLOR, "compass")
