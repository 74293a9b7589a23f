"""The catalog histogram, redrawn in place (axes follow each column) when the catalog, column,
bins, log10 of the column or flag filters change; and its caption (CSS hook ``hist-caption``)
naming the catalog.

The count axis (linear or log) is the one thing that rebuilds the plot: a Bokeh figure's axis
type is fixed when it is made, and switching a live HoloViews histogram to ``logy`` leaves a
linear axis and bars whose ``bottom`` field the browser cannot find (issue 11).
"""
from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from ..views.catalog import histogram_element
from .base import Panel

HIST_PARAMS = ["catalog_ref", "column", "log_x", "hist_mag", "bins", "require_flags", "exclude_flags"]


def empty_histogram(title: str = "no histogram for this selection"):
    """The placeholder drawn when there are no bins to show."""
    return hv.Histogram(([0.0, 1.0], [float("nan")]), kdims=["value"], vdims=["count"]).opts(title=title)


class HistogramPanel(Panel):
    """Bins of the chosen column of the catalog that goes with the image."""

    title = "Catalog histogram"

    def __init__(self, **params):
        super().__init__(**params)
        self.caption = pn.pane.HTML(self.caption_html(), sizing_mode="stretch_width")
        self.dmap = None
        self.plot = pn.param.ParamMethod(self.view, sizing_mode="stretch_width")
        self._layout = pn.Column(self.plot, self.caption, sizing_mode="stretch_width")
        self.state.param.watch(self._on_catalog, ["catalog_ref", "column"])

    @param.depends("state.log_y")
    def view(self):
        """The histogram plot for the current count axis (rebuilt only when that changes)."""
        self.dmap = hv.DynamicMap(self._bars, streams=[hv.streams.Params(self.state, HIST_PARAMS)]).opts(
            hv.opts.Histogram(responsive=True, height=330, framewise=True, axiswise=True, logy=self.state.log_y,
                              tools=["xbox_select"]))
        # a range selected on the histogram (xbox_select) filters the catalog table and highlights sources
        hv.streams.BoundsX(source=self.dmap).add_subscriber(lambda boundsx=None: boundsx and self.state.param.update(
            selection_range=tuple(float(b) for b in boundsx)))
        return pn.pane.HoloViews(self.dmap, linked_axes=False, sizing_mode="stretch_width", css_classes=["histogram"])

    def _bars(self, **_kw):
        st = self.state
        hist = self.safe(f"the histogram of {st.column}", st.histogram, lambda _m: None)
        if hist is None:
            return empty_histogram()
        return histogram_element(hist, logy=st.log_y).opts(xlabel=hist.label)

    def caption_html(self) -> str:
        """Which catalog the histogram shows (or why there is none)."""
        st = self.state
        if st.catalog_ref is None or not st.column:
            why = "no catalog goes with this image" if st.catalog_ref is None else "no numeric column chosen"
            return f'<div class="hist-caption" style="padding:6px;color:#777">{why}</div>'
        ref = st.catalog_ref
        caption = f"{ref.dataset_type} " + ", ".join(f"{k}={v}" for k, v in ref.data_id.items()
                                                     if k in ("visit", "detector", "tract", "patch", "band"))
        return f'<span class="hist-caption" style="color:#666;font-size:11px">{caption}</span>'

    def _on_catalog(self, *_events) -> None:
        self.caption.object = self.caption_html()

    def __panel__(self):
        return self._layout
