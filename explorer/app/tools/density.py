"""The sky density map of the whole current catalog: RA/Dec counts per cell (datashader), drawn in
the sky map's frame (RA increasing to the left, 1/cos(Dec) aspect). CSS hooks: ``density-map``
(the plot), ``density-caption`` (the total)."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from ...compute.catalog import sky_columns, to_degrees
from ...compute.density import DensityGrid, density
from ...views.catalog_tools import sky_density_element
from ...views.sky import SkyFrame, unwrap_ra
from ..base import Panel
from .rows import catalog_schema
from ..figures import figure_pane

GRID = 300


def grid_size(rows: int) -> int:
    """Cells across the map: coarse for a few sources (so each is visible), up to GRID."""
    return int(min(GRID, max(40, 4 * np.sqrt(max(rows, 1)))))


def sky_grid(ra_deg: np.ndarray, dec_deg: np.ndarray, width: int = GRID, height: int = GRID
             ) -> tuple[DensityGrid, SkyFrame]:
    """Counts per cell of sky positions, RA unwrapped around the catalog's mean direction."""
    ra_deg, dec_deg = np.asarray(ra_deg, float), np.asarray(dec_deg, float)
    ok = np.isfinite(ra_deg) & np.isfinite(dec_deg)
    if not ok.any():
        return DensityGrid(np.zeros((height, width), np.int64), (0.0, 1.0), (0.0, 1.0), "ra", "dec"), SkyFrame(0.0, 0.0)
    r = np.radians(ra_deg[ok])
    ref = float(np.degrees(np.arctan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0)
    frame = SkyFrame(ref, float(np.mean(dec_deg[ok])))
    pts = pd.DataFrame({"ra": unwrap_ra(ra_deg[ok], ref), "dec": dec_deg[ok]})
    return density(pts, "ra", "dec", width=width, height=height), frame


def empty_density(why: str = "no catalog with sky positions"):
    return hv.Image(np.zeros((2, 2)), bounds=(0, 0, 1, 1)).opts(title=why, responsive=True, min_height=360, alpha=0.0)


class SkyDensityPanel(Panel):
    """Where the current catalog's sources are on the sky."""

    title = "Catalog sky density"

    def __init__(self, **params):
        super().__init__(**params)
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width")
        self.plot = figure_pane(empty_density(), linked_axes=False, sizing_mode="stretch_width",
                                css_classes=["density-map"])
        self.total: int | None = None
        self.subscribe(lambda *_e: self.redraw(), ["catalog_ref", "require_flags", "exclude_flags"])
        self._layout = pn.Column(self.plot, self.caption, sizing_mode="stretch_width")

    def data(self):
        st = self.state
        if st.catalog_ref is None:
            return None
        schema = catalog_schema(st)
        pair = sky_columns([c.name for c in schema])
        if pair is None:
            return None
        units = {c.name: c.unit for c in schema}
        df = st.catalog_frame(list(pair))
        if df is None:
            return None
        ra = to_degrees(df[pair[0]].to_numpy(float), units.get(pair[0]))
        dec = to_degrees(df[pair[1]].to_numpy(float), units.get(pair[1]))
        size = grid_size(len(df))
        return sky_grid(ra, dec, size, size), len(df)

    def redraw(self) -> None:
        result = self.safe("the sky density map", self.data, lambda _m: None)
        if result is None:
            self.total = None
            self.plot.object = empty_density()
            self.caption.object = '<div class="density-caption" data-total="0" style="color:#777">no density map</div>'
            return
        (grid, frame), rows = result
        self.total = grid.total
        self.plot.object = sky_density_element(grid, frame)
        name = self.state.catalog_ref.dataset_type
        self.caption.object = (f'<div class="density-caption" data-total="{grid.total}" data-rows="{rows}" '
                               f'style="color:#666;font-size:12px">{grid.total:,} of {rows:,} rows of {name} '
                               f'on the sky</div>')

    def __panel__(self):
        return self._layout
