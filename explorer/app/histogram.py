"""The catalog histogram and its caption (CSS hook ``hist-caption``) naming the catalog.

HoloViews builds the plot (figure, bars, tools, the range selection that filters the catalog
table); after that, a change of the catalog, column, bins, log10 of the column, magnitudes or
flag filters sets the drawn figure's Bokeh models directly (:meth:`HistogramPanel.redraw`): the
bars' data source, the axes' ranges, the axis label and the title, once per batch of changes.
A HoloViews refresh would also re-set every option of the figure and make Bokeh walk the whole
document's model graph again (issue 12: half of a band or patch change's server CPU).

The count axis (linear or log) is the one thing that rebuilds the plot: a Bokeh figure's axis
type is fixed when it is made, and switching a live HoloViews histogram to ``logy`` leaves a
linear axis and bars whose ``bottom`` field the browser cannot find (issue 11). On a log axis
the bars are drawn from the axis' start (their ``bottom`` column; HoloViews' own script keeps it
there when the axis moves).
"""
from __future__ import annotations

import math
from typing import Any, Optional

import holoviews as hv
import numpy as np
import panel as pn
import param

from ..compute.catalog import Histogram
from ..views.catalog import histogram_element, histogram_title
from .base import Panel
from .figures import figure_pane
from .hooks import weak_hook
from .redraws import redraw_on_next_tick

HIST_PARAMS = ["catalog_ref", "column", "log_x", "hist_mag", "bins", "require_flags", "exclude_flags"]
EMPTY_TITLE = "no histogram for this selection"
PADDING = 0.1  # of the data's span, around the bars (as HoloViews pads them)


def empty_histogram(title: str = EMPTY_TITLE):
    """The placeholder drawn when there are no bins to show."""
    return hv.Histogram(([0.0, 1.0], [float("nan")]), kdims=["value"], vdims=["count"]).opts(title=title)


def bar_ranges(edges: np.ndarray, counts: np.ndarray, logy: bool) -> tuple[tuple[float, float], tuple[float, float]]:
    """The ``(x_range, y_range)`` that show bars of ``counts`` between ``edges``, padded by
    :data:`PADDING`; on a log count axis from 0.01 (below any count) upwards."""
    finite = np.asarray(edges, float)[np.isfinite(edges)]
    lo, hi = (float(finite[0]), float(finite[-1])) if len(finite) else (0.0, 1.0)
    pad = PADDING * (hi - lo) if hi > lo else 0.5
    counts = np.asarray(counts, float)
    positive = counts[np.isfinite(counts) & (counts > 0)]
    top = float(positive.max()) if len(positive) else 1.0
    if logy:
        low = 0.01 if top > 0.01 else 10 ** (math.log10(top) - 2)
        span = math.log10(top) - math.log10(low)
        return (lo - pad, hi + pad), (low, 10 ** (math.log10(top) + PADDING * span))
    return (lo - pad, hi + pad), (0.0, top * (1 + PADDING))


class HistogramPanel(Panel):
    """Bins of the chosen column of the catalog that goes with the image."""

    title = "Catalog histogram"

    def __init__(self, **params):
        super().__init__(**params)
        self.caption = pn.pane.HTML(self.caption_html(), sizing_mode="stretch_width")
        self.dmap = None
        self._drawn: dict[str, Any] = {}  # the drawn plot's Bokeh models (see _keep_plot)
        self.plot = pn.param.ParamMethod(self.view, sizing_mode="stretch_width")
        self._layout = pn.Column(self.plot, self.caption, sizing_mode="stretch_width")
        self.state.param.watch(self._on_catalog, ["catalog_ref", "column"])
        self.state.param.watch(lambda *_e: self._schedule(), HIST_PARAMS)

    @param.depends("state.log_y")
    def view(self):
        """The histogram plot for the current count axis (rebuilt only when that changes)."""
        self._drawn = {}
        self.dmap = hv.DynamicMap(self._bars).opts(
            hv.opts.Histogram(responsive=True, height=330, framewise=True, axiswise=True, logy=self.state.log_y,
                              tools=["xbox_select"], hooks=[weak_hook(self._keep_plot)]))
        # a range selected on the histogram (xbox_select) filters the catalog table and highlights sources
        hv.streams.BoundsX(source=self.dmap).add_subscriber(lambda boundsx=None: boundsx and self.state.param.update(
            selection_range=tuple(float(b) for b in boundsx)))
        return figure_pane(self.dmap, linked_axes=False, sizing_mode="stretch_width", css_classes=["histogram"])

    def current(self) -> Optional[Histogram]:
        """The bins for the state (None when there are none; a failure is said in the banner)."""
        st = self.state
        return self.safe(f"the histogram of {st.column}", st.histogram, lambda _m: None)

    def _bars(self, **_kw):
        hist = self.current()
        if hist is None:
            return empty_histogram()
        return histogram_element(hist, logy=self.state.log_y).opts(xlabel=hist.label)

    def _keep_plot(self, plot, _element) -> None:
        """(A HoloViews hook, at each draw:) the Bokeh models a direct update sets."""
        fig = plot.state
        self._drawn = {"source": plot.handles["source"], "figure": fig, "logy": bool(plot.logy)}

    # ----- state -> the Bokeh models, directly ---------------------------------------------------
    def _schedule(self) -> None:
        """Redraw once the current batch of state changes is done (in a served session: on the
        document's next tick, so a cascade of changes costs one redraw; else now)."""
        redraw_on_next_tick(self, self.redraw)

    def redraw(self) -> bool:
        """Set the drawn plot's bars, ranges, axis label and title for the state; False when no
        plot is drawn yet (it will be drawn from the state) or it is being rebuilt."""
        drawn = self._drawn
        if not drawn or drawn["logy"] != bool(self.state.log_y):
            return False
        hist = self.current()
        if hist is None:
            edges, counts = np.array([0.0, 1.0]), np.array([np.nan])
            label, title = "value", EMPTY_TITLE
        else:
            edges, counts = np.asarray(hist.edges, float), hist.counts.astype(float)
            if drawn["logy"]:  # empty bins left out, not drawn down to the axis' start
                counts = np.where(counts > 0, counts, np.nan)
            label, title = hist.label, histogram_title(hist)
        (x0, x1), (y0, y1) = bar_ranges(edges, counts, drawn["logy"])
        fig, source = drawn["figure"], drawn["source"]
        data = {"top": counts, "left": edges[:-1], "right": edges[1:]}
        if drawn["logy"]:
            data["bottom"] = np.full(len(counts), y0)
        fig.x_range.update(start=x0, end=x1)
        fig.y_range.update(start=y0, end=y1)
        source.data = data
        if fig.xaxis[0].axis_label != label:
            fig.xaxis[0].axis_label = label
        fig.title.text = title
        if self.dmap is not None:
            self.dmap.reset()  # (a plot drawn again from the DynamicMap asks the state, not its cache)
        return True

    # ----- caption -----------------------------------------------------------------------------
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
