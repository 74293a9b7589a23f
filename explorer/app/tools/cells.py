"""Cell coadds: the cell grid drawn over the image, and the cells without data crossed out.

A cell-based coadd (lsst.images ``CellCoadd``, DP2's ``deep_coadd`` and ``template_coadd``) is a
mosaic of 150 x 150-pixel cells, each coadded from its own inputs and with its own PSF; a cell
with no inputs is *missing*. While ``show_cells`` is on (the default; URL ``cells=0`` and the
sidebar's checkbox ``w-cells`` turn it off) a cell coadd shows:

* the grid: one line per cell boundary over the cells the image covers (``hv.Path`` whose paths
  have ``kind`` "cell_grid");
* the missing cells: both diagonals of each (``kind`` "missing_cell"), in red.

Two layers registered with :func:`~explorer.app.overlays.register_overlay`. The per-cell PSF is
the PSF panel's (:func:`explorer.render.psf.psf_at` picks the cell under the pointer), and the
readout names the cell under the pointer (:func:`cell_note`).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ...repo.model import CellGrid
from ..overlays import ImageOverlay, register_overlay

GRID_COLOR = "#33c6ff"
MISSING_COLOR = "#ff3b3b"


def grid_lines(cells: CellGrid) -> list[dict[str, Any]]:
    """The cell boundaries over the cells the image covers: one straight path per boundary,
    in parent pixels (pixel edges: a cell spanning pixels x0..x0+w-1 has edges x0-0.5, x0+w-0.5)."""
    i0, j0 = cells.first_cell
    ni, nj = cells.num_cells
    ch, cw = cells.cell_shape
    x0 = cells.grid_origin[0] + j0 * cw - 0.5
    y0 = cells.grid_origin[1] + i0 * ch - 0.5
    x1, y1 = x0 + nj * cw, y0 + ni * ch
    paths = [{"x": np.array([x0 + k * cw] * 2, float), "y": np.array([y0, y1], float), "kind": "cell_grid"}
             for k in range(nj + 1)]
    paths += [{"x": np.array([x0, x1], float), "y": np.array([y0 + k * ch] * 2, float), "kind": "cell_grid"}
              for k in range(ni + 1)]
    return paths


def missing_crosses(cells: CellGrid) -> list[dict[str, Any]]:
    """Both diagonals of every missing cell, in parent pixels."""
    out = []
    for i, j in cells.missing:
        x, y, w, h = cells.cell_bbox(i, j)
        xa, xb, ya, yb = x - 0.5, x + w - 0.5, y - 0.5, y + h - 0.5
        out.append({"x": np.array([xa, xb], float), "y": np.array([ya, yb], float), "kind": "missing_cell"})
        out.append({"x": np.array([xa, xb], float), "y": np.array([yb, ya], float), "kind": "missing_cell"})
    return out


def cell_note(cells: Optional[CellGrid], x: float, y: float) -> Optional[str]:
    """"cell i,j" (and "(missing)": no inputs) for the parent pixel (x, y) of a cell coadd, else None."""
    if cells is None:
        return None
    i, j = cells.cell_of(x, y)
    return f"cell {i},{j}" + (" (missing)" if (i, j) in set(map(tuple, cells.missing)) else "")


def _element(paths: list[dict[str, Any]], color: str, width: float):
    import holoviews as hv

    if not paths:  # (an empty Path with a value dimension cannot be drawn: one invisible line)
        paths = [{"x": np.array([np.nan, np.nan]), "y": np.array([np.nan, np.nan]), "kind": "none"}]
    return hv.Path(paths, kdims=["x", "y"], vdims=["kind"]).opts(color=color, line_width=width, alpha=0.8)


def _cells_shown(state) -> Optional[CellGrid]:
    exposure = state.exposure() if state.show_cells else None
    return exposure.info.cells if exposure is not None else None


def grid_element(cells: Optional[CellGrid]):
    return _element(grid_lines(cells) if cells is not None else [], GRID_COLOR, 1.0)


def missing_element(cells: Optional[CellGrid]):
    return _element(missing_crosses(cells) if cells is not None else [], MISSING_COLOR, 2.0)


CELL_GRID = register_overlay(ImageOverlay("the cell grid", ("show_cells",),
                                          lambda st, _xr, _yr: grid_element(_cells_shown(st)),
                                          lambda: grid_element(None), shown=lambda st: _cells_shown(st) is not None))
MISSING_CELLS = register_overlay(ImageOverlay("the missing cells", ("show_cells",),
                                              lambda st, _xr, _yr: missing_element(_cells_shown(st)),
                                              lambda: missing_element(None),
                                              shown=lambda st: _cells_shown(st) is not None))
