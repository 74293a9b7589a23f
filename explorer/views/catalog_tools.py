"""HoloViews elements of the catalog tools: scatter (points or a datashaded grid), the sky density
map, and the marks they draw over the image (the marked source, the selected sources).

The data come from :mod:`explorer.compute.density` (points when few, counts per cell when many):
only the points or the grid travel to the browser, never the catalog.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..compute.density import DensityGrid, ScatterPoints
from .image import IMAGE_KDIMS
from .sky import SkyFrame

__all__ = [
    "density_element",
    "empty_points",
    "marked_element",
    "scatter_element",
    "selected_element",
    "sky_density_element",
]

GRID_CMAP = "kbc_r"
MARK_COLOR = "#ff2a6d"
SELECTED_COLOR = "#ffd400"


def _grid_image(grid: DensityGrid, xlabel: str, ylabel: str):
    import holoviews as hv

    counts = grid.counts.astype(float)
    peak = float(np.max(counts)) if counts.size else 0.0
    counts[counts == 0] = np.nan  # empty cells show the background
    (x0, x1), (y0, y1) = grid.x_range, grid.y_range
    return hv.Image(counts, bounds=(x0, y0, x1, y1), kdims=[hv.Dimension("x", label=xlabel),
                                                             hv.Dimension("y", label=ylabel)],
                    vdims=[hv.Dimension("count", label="sources")]).opts(
        cmap=GRID_CMAP, cnorm="eq_hist" if peak > 10 else "linear", clim=(0, max(peak, 1.0)), colorbar=True,
        tools=["hover"], clipping_colors={"NaN": "white"})


def scatter_element(data, xlabel: str, ylabel: str, invert_y: bool = False):
    """Points (few) or a datashaded grid (many) of x against y, with the axes labelled."""
    import holoviews as hv

    if isinstance(data, DensityGrid):
        el = _grid_image(data, xlabel, ylabel)
        title = f"{data.total:,} sources (datashaded)"
    else:
        el = hv.Points((data.x_values, data.y_values), kdims=[hv.Dimension("x", label=xlabel),
                                                             hv.Dimension("y", label=ylabel)]).opts(
            size=4, color="#3b6ea8", alpha=0.7, tools=["hover"])
        title = f"{len(data.x_values):,} sources"
    return el.opts(title=title, xlabel=xlabel, ylabel=ylabel, invert_yaxis=invert_y, responsive=True,
                   min_height=360, framewise=True, fontsize={"title": 10})


def sky_density_element(grid: DensityGrid, frame: SkyFrame):
    """Sources per cell on the sky: RA increasing to the left and a 1/cos(Dec) aspect, as the sky map."""
    return _grid_image(grid, "RA (deg)", "Dec (deg)").opts(
        title=f"{grid.total:,} sources", invert_xaxis=True, data_aspect=frame.aspect, responsive=True,
        min_height=360, show_grid=True, fontsize={"title": 10}, xlabel="RA (deg)", ylabel="Dec (deg)")


def empty_points(label: str):
    """A points layer with nothing in it (image overlays keep one element type)."""
    import holoviews as hv

    return hv.Points(([], []), kdims=list(IMAGE_KDIMS), label=label)


def marked_element(xy: Sequence[float] | None):
    """A large ring around the marked source (parent pixels); empty for None."""
    import holoviews as hv

    if xy is None:
        return empty_points("marked")
    return hv.Points(([float(xy[0])], [float(xy[1])]), kdims=list(IMAGE_KDIMS), label="marked").opts(
        marker="circle", size=26, fill_alpha=0.0, line_color=MARK_COLOR, color=MARK_COLOR, line_width=3)


def selected_element(x: np.ndarray, y: np.ndarray):
    """The selected sources, filled, over the image."""
    import holoviews as hv

    return hv.Points((np.asarray(x, float), np.asarray(y, float)), kdims=list(IMAGE_KDIMS), label="selected").opts(
        marker="circle", size=7, color=SELECTED_COLOR, line_color="black", line_width=0.5, fill_alpha=0.9)


def density_element(grid: DensityGrid, xlabel: str, ylabel: str):
    """A counts grid of any two columns."""
    return _grid_image(grid, xlabel, ylabel)


def points_of(data) -> int:
    """How many sources a scatter draws (points, or the grid's total)."""
    return data.total if isinstance(data, DensityGrid) else len(data.x_values) if isinstance(data, ScatterPoints) else 0
