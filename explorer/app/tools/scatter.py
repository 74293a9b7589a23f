"""Scatter of any two columns of the current catalog: the points when few, a datashaded grid when
more than a few thousand (:func:`explorer.compute.density.scatter`).

An axis is a column, a colour (``g - r``, offered for neighbouring bands) or an expression;
"fluxes as AB magnitudes" shows flux columns as magnitudes (nJy, or instFlux with the image's zero
point). The "Colour-magnitude" button sets both axes at once: the colour-magnitude diagram in
two clicks. With a HATS catalog open in the survey-catalog panel, "HATS" in ``scatter-source``
draws its rows within the view's cone instead: the axes' columns are read and the points (or the
density grid, aggregated per partition) computed on the Dask workers.
CSS hooks: ``catalog-scatter`` (the plot), ``scatter-caption`` (what is drawn), ``scatter-source``.
"""
from __future__ import annotations

import html

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from ...compute.axes import axis_data, cmd_axes, colour_presets, resolve_axis
from ...compute.columns import expression_columns
from ...compute.density import SCATTER_MAX_POINTS, ScatterPoints, density
from ...views.catalog_tools import points_of, scatter_element
from ..base import Panel
from .rows import ROWS_PARAMS, catalog_schema
from ..figures import figure_pane

GRID = 300


def empty_scatter(why: str = "no scatter for this selection"):
    return hv.Points(([], []), kdims=["x", "y"]).opts(title=why, responsive=True, min_height=360)


class ScatterPanel(Panel):
    """Two columns of the current catalog against each other."""

    title = "Catalog scatter"

    def __init__(self, **params):
        super().__init__(**params)
        self.x = pn.widgets.Select(label="x", options=[], sizing_mode="stretch_width", css_classes=["scatter-x"])
        self.y = pn.widgets.Select(label="y", options=[], sizing_mode="stretch_width", css_classes=["scatter-y"])
        self.magnitudes = pn.widgets.Checkbox(label="fluxes as AB magnitudes", value=False,
                                              css_classes=["scatter-mags"])
        self.cmd = pn.widgets.Button(label="Colour-magnitude", color="primary", width=150,
                                     css_classes=["scatter-cmd"])
        self.cmd.on_click(lambda _e: self.colour_magnitude())
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width")
        self.plot = figure_pane(empty_scatter(), linked_axes=False, sizing_mode="stretch_width",
                                css_classes=["catalog-scatter"])
        self.total: int | None = None  # sources drawn (points or the grid's total)
        self.source = pn.widgets.RadioButtonGroup(options=["repository", "HATS"], value="repository", visible=False,
                                                  color="light", css_classes=["scatter-source"])
        self.source.param.watch(lambda _e: self._on_catalog(), "value")
        self.hats = None
        self.hats_result = None  # the last HATS scatter: (data, x label, y label, y is a magnitude, rows)
        self._quiet = False  # set while several widgets change at once: one redraw after them
        for w in (self.x, self.y, self.magnitudes):
            w.param.watch(lambda _e: self._quiet or self.redraw(), "value")
        self.subscribe(lambda *events: self._on_catalog() if not events or any(e.name == "catalog_ref" for e in events)
                       else self.redraw(), list(ROWS_PARAMS))
        self._layout = pn.Column(pn.Row(self.x, self.y, sizing_mode="stretch_width"),
                                 pn.Row(self.magnitudes, self.cmd), self.plot, self.caption,
                                 sizing_mode="stretch_width")

    def attach(self, page) -> None:
        from .hats_source import BackgroundWork

        self.hats = page.panels.get("hats")
        self.work = BackgroundWork("hats-scatter")
        if self.hats is not None:
            self.hats.param.watch(lambda _e: self._on_hats_catalog(), ["catalog"])
            self.state.param.watch(lambda *_e: self._hats_mode() and self.redraw(), ["zoom"])
            self._on_hats_catalog()  # (a catalog opened before this panel was made: offer it)

    def _hats_mode(self) -> bool:
        return self.source.value == "HATS" and self.hats is not None and bool(self.hats.catalog)

    def _on_hats_catalog(self) -> None:
        self.source.visible = bool(self.hats.catalog)
        if self.source.value == "HATS":
            if self.hats.catalog:
                self._on_catalog()
            else:
                self.source.value = "repository"

    def _numeric(self) -> list[str]:
        if self._hats_mode():
            return [c for c in self.hats.all_columns if c not in ("objectId", "_healpix_29")]
        return list(self.state.param.column.objects or [])

    def _on_catalog(self, *_events) -> None:
        numeric = self._numeric()
        options = numeric + [c for c in colour_presets(numeric) if c not in numeric]
        x = self.x.value if self.x.value in options else (self.state.column if self.state.column in options else
                                                         (options[0] if options else None))
        y_default = next((c for c in numeric if c != x and "flux" in c.lower() and not c.lower().endswith("err")),
                         numeric[1] if len(numeric) > 1 else x)
        y = self.y.value if self.y.value in options else y_default
        self._quiet = True
        try:
            self.x.param.update(options=options, value=x)
            self.y.param.update(options=options, value=y)
        finally:
            self._quiet = False
        self.redraw()

    def colour_magnitude(self) -> bool:
        """Set the axes to a colour and the redder band's flux in AB magnitudes (False: no colours)."""
        axes = cmd_axes(self._numeric(), self.state.band)
        if axes is None:
            self.state.report(f"no colour-magnitude diagram: {self.state.catalog or 'this catalog'} "
                              "has no fluxes in two bands")
            return False
        self._quiet = True
        try:
            self.x.value, self.y.value = axes
            self.magnitudes.value = True
        finally:
            self._quiet = False
        self.redraw()
        return True

    def data(self):
        """(points or grid, x label, y label, y is a magnitude), or None without a catalog."""
        st = self.state
        if st.catalog_ref is None or not self.x.value or not self.y.value:
            return None
        names = [c.name for c in catalog_schema(st)]
        need = list(dict.fromkeys(expression_columns(resolve_axis(self.x.value, names))
                                  + expression_columns(resolve_axis(self.y.value, names))))
        df = st.catalog_frame(need)
        if df is None:
            return None
        exposure = st.exposure()
        zp = exposure.info.zero_point_mag if exposure is not None else None
        ax = axis_data(df, self.x.value, names, self.magnitudes.value, zp)
        ay = axis_data(df, self.y.value, names, self.magnitudes.value, zp)
        ok = np.isfinite(ax.values) & np.isfinite(ay.values)
        if np.count_nonzero(ok) <= SCATTER_MAX_POINTS:
            data = ScatterPoints(ax.values[ok], ay.values[ok], ax.label, ay.label)
        else:
            data = density(pd.DataFrame({"x": ax.values[ok], "y": ay.values[ok]}), "x", "y", width=GRID, height=GRID)
        return data, ax.label, ay.label, ay.magnitude, len(df)

    def redraw_hats(self) -> None:
        """The HATS scatter, computed on the workers in the background (the newest choice wins)."""
        from ...compute.hats_rows import cone_rows
        from .hats_source import describe_cone, shared_client, view_cone

        path, xa, ya, mags = self.hats.catalog, self.x.value, self.y.value, self.magnitudes.value
        if not xa or not ya:
            return
        names = list(self.hats.all_columns)
        need = list(dict.fromkeys(expression_columns(resolve_axis(xa, names))
                                  + expression_columns(resolve_axis(ya, names))))
        sky = view_cone(self.state)
        self.caption.object = (f'<div class="scatter-caption" data-points="0" style="color:#777">computing '
                               f'{html.escape(ya)} against {html.escape(xa)} over {describe_cone(sky)} on Dask ...'
                               '</div>')

        def work(on_job):
            rows = cone_rows(path, need, shared_client(), sky=sky, on_job=on_job)
            data, xl, yl, invert = rows.scatter(xa, ya, names, mags, None, width=GRID, height=GRID, on_job=on_job)
            return data, xl, yl, invert, rows.total

        def failed(exc):
            from ..base import describe_failure

            self.hats_result = None
            message = f"the HATS scatter failed: {describe_failure(exc)}"
            self.caption.object = (f'<div class="scatter-caption" data-points="0" style="color:#a33">'
                                   f'{html.escape(message)}</div>')
            self.state.report(message)

        def done(result):
            self.hats_result = result
            self._draw(result, f" in {describe_cone(sky)} of the HATS catalog")

        self.work.start(work, done, failed)

    def wait(self, timeout: float = 300.0) -> None:
        """Wait for a HATS scatter being computed (tests, notebooks)."""
        if getattr(self, "work", None) is not None:
            self.work.wait(timeout)

    def redraw(self) -> None:
        if self._hats_mode():
            self.redraw_hats()
            return
        result = self.safe("the scatter", self.data, lambda _m: None)
        if result is None:
            self.total = None
            self.plot.object = empty_scatter()
            self.caption.object = '<div class="scatter-caption" data-points="0" style="color:#777">no scatter</div>'
            return
        self._draw(result)

    def _draw(self, result, where: str = "") -> None:
        data, xl, yl, invert, rows = result
        self.total = points_of(data)
        self.plot.object = scatter_element(data, xl, yl, invert_y=invert)
        how = "datashaded" if not isinstance(data, ScatterPoints) else "points"
        self.caption.object = (f'<div class="scatter-caption" data-points="{self.total}" data-rows="{rows}" '
                               f'style="color:#666;font-size:12px">{self.total:,} of {rows:,} rows'
                               f'{html.escape(where)} drawn '
                               f'({how}): {html.escape(yl)} against {html.escape(xl)}</div>')

    def __panel__(self):
        if getattr(self, "_outer", None) is None:
            self._outer = pn.Column(self.source, self._layout, sizing_mode="stretch_width")
        return self._outer
