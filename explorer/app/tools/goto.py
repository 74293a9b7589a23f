"""Go to: type RA/Dec (decimal or sexagesimal) or a source/object id; the explorer selects the coadd
patch (or, showing calexps, the visit and detector) that covers it, centres the image there and
marks it. Also the switch of the sky axes (RA/Dec grid and compass).

CSS hooks: ``goto-input`` (the text box), ``goto-button``, ``goto-message`` (what happened, or
why not: ``goto-error``), ``w-grid`` (the sky-axes checkbox). The marker is a layer over the
image (:data:`MARKER`); the state's ``marker`` holds its (RA, Dec).
"""
from __future__ import annotations

import html
from typing import Any, Optional

import numpy as np
import panel as pn

from ...errors import ExplorerError
from ...goto import parse_target
from ...locate import Destination, find_id, locate_sky
from ...render.raster import full_range
from ..base import Panel, describe_failure
from ..overlays import ImageOverlay, register_overlay

MARKER_COLOR = "#ff3b3b"


def marker_element(x: Optional[float] = None, y: Optional[float] = None):
    """The go-to marker: a circle with a cross at (x, y) parent pixels (nothing when None)."""
    import holoviews as hv

    xs = np.array([] if x is None else [x], float)
    ys = np.array([] if y is None else [y], float)
    return hv.Points({"x": xs, "y": ys}, kdims=["x", "y"], label="goto").opts(
        marker="circle_cross", size=26, fill_alpha=0.0, line_color=MARKER_COLOR, color=MARKER_COLOR, line_width=2)


def _marker(state, _x_range, _y_range):
    exposure = state.exposure()
    if state.marker is None or exposure is None or not exposure.info.has_sky:
        return marker_element()
    x, y = (float(v) for v in exposure.info.sky_to_pixel(*state.marker))
    return marker_element(x, y) if np.isfinite(x) and np.isfinite(y) else marker_element()


MARKER = register_overlay(ImageOverlay("the go-to marker", ("marker",), _marker, marker_element,
                                       shown=lambda st: st.marker is not None))


def go_to(state, text: str) -> tuple[Destination, Optional[tuple[float, float]]]:
    """Select what covers the target ``text`` names; returns where it went and the target's parent
    pixel on the exposure now shown (None when it is off that exposure). Raises ExplorerError
    (GotoError) saying what was wrong or not found; the selection is then unchanged."""
    idx = state.index
    if idx is None:
        raise ExplorerError("no repository is open")
    target = parse_target(text)
    kind = "coadd" if state.image_kind in ("coadd", "template") else "calexp"  # (a template: its patch)
    collections = state.collection or None
    prefer: dict[str, Any] = {}
    note = ""
    if target.kind == "id":
        first = (state.catalog_ref.dataset_type, dict(state.catalog_ref.data_id)) if state.catalog_ref else None
        found = find_id(state.repo, idx, target.id, tract=state.tract,
                        visit=state.visit if kind == "calexp" else None, collections=collections, first=first)
        ra, dec, note, prefer = found.ra, found.dec, found.note, found.hints
    else:
        ra, dec = target.ra, target.dec
    dest = locate_sky(idx, ra, dec, kind, tract=state.tract, visit=state.visit, band=state.band, prefer=prefer)
    if note:
        dest.note = f"{note}: {dest.note}"
    query: dict[str, Any] = {}
    if kind == "coadd":
        query = {"tract": dest.tract, "patch": dest.patch}
    else:
        try:  # the patch first, so the visit is among those offered
            patch = locate_sky(idx, ra, dec, "coadd", tract=state.tract)
            query = {"tract": patch.tract, "patch": patch.patch}
        except ExplorerError:
            pass
        query.update(band=idx.band_of_visit(dest.visit), visit=dest.visit, detector=dest.detector)
    query = {k: str(v) for k, v in query.items() if v is not None and str(getattr(state, k)) != str(v)}
    if query:
        problems = state.apply_query(query)
        if problems:
            raise ExplorerError(f"cannot select {dest.note}: {problems[0]}")
    state.marker = (float(ra), float(dec))
    exposure = state.exposure()
    if exposure is None or not exposure.info.has_sky:
        return dest, None
    x, y = (float(v) for v in exposure.info.sky_to_pixel(ra, dec))
    return dest, ((x, y) if np.isfinite(x) and np.isfinite(y) else None)


class GotoPanel(Panel):
    """The go-to box, its message, and the sky-axes switch."""

    title = "Go to"
    opened_by = ("show_grid",)

    def __init__(self, **params):
        super().__init__(**params)
        self.image = None
        self.input = pn.widgets.TextInput(label="RA Dec or id", placeholder="56.65 -36.45 · 03:46:36 -36:27:00 · id",
                                          css_classes=["goto-input"], sizing_mode="stretch_width")
        self.button = pn.widgets.Button(label="Go", color="primary", css_classes=["goto-button"], width=60,
                                        align="end")
        self.message = pn.pane.HTML('<div class="goto-message" style="color:#777">type a position or an id</div>',
                                    sizing_mode="stretch_width")
        self.grid_check = pn.widgets.Checkbox.from_param(self.state.param.show_grid, label="RA/Dec grid and compass",
                                                         css_classes=["w-grid"])
        self.input.param.watch(lambda e: self.go(e.new), "enter_pressed" if "enter_pressed" in
                               self.input.param else "value")
        self.button.on_click(lambda _e: self.go(self.input.value_input or self.input.value))
        self._layout = pn.Column(pn.Row(self.input, self.button, sizing_mode="stretch_width"), self.message,
                                 self.grid_check, sizing_mode="stretch_width")

    def attach(self, page: Any) -> None:
        self.image = page.panels.get("image")

    def say(self, text: str, error: bool = False) -> None:
        css = "goto-message goto-error" if error else "goto-message"
        color = "#a33" if error else "#164"
        self.message.object = f'<div class="{css}" style="color:{color}">{html.escape(text)}</div>'

    def go(self, text: Any) -> None:
        if not isinstance(text, str):
            text = self.input.value_input or self.input.value
        before = self.state.exposure()
        xy0 = tuple(before.info.xy0) if before is not None else None
        try:
            dest, pixel = go_to(self.state, text)
        except ExplorerError as exc:
            self.say(describe_failure(exc), error=True)
            return
        except Exception as exc:  # noqa: BLE001 - the panel's boundary: say it, keep the page
            self.say(f"go to failed: {describe_failure(exc)}", error=True)
            return
        where = f" · x {pixel[0]:.1f} y {pixel[1]:.1f}" if pixel else " · not on the image shown"
        self.say(f"{dest.note}{where}")
        if pixel is not None and self.image is not None:
            after = self.state.exposure()
            self._centre(*pixel, moved=after is not None and tuple(after.info.xy0) != xy0)

    def _centre(self, x: float, y: float, moved: bool) -> None:
        """Centre the image on (x, y) after the selection's redraw: when the frame moved to
        another origin, the image panel first shows it whole (its axes move once the new frame
        is drawn), so centre when that move is done; changes to Bokeh models go under the
        document's lock (a widget's event runs without it)."""
        image, doc = self.image, pn.state.curdoc
        fig = image.figure
        if doc is None or getattr(doc, "session_context", None) is None or fig is None:
            image.center_on(x, y)
            return
        exposure = self.state.exposure()
        if moved and exposure is not None:
            (fx0, fx1), (fy0, fy1) = full_range(exposure.info.shape, exposure.info.xy0)
            done = (fig.x_range.start, fig.x_range.end, fig.y_range.start, fig.y_range.end) == (fx0, fx1, fy0, fy1)
            if not done:  # the move is still to come: its last step sets y_range.end
                def once(_attr, _old, _new):
                    fig.y_range.remove_on_change("end", once)
                    doc.add_next_tick_callback(lambda: image.center_on(x, y))

                fig.y_range.on_change("end", once)
                return
        doc.add_next_tick_callback(lambda: image.center_on(x, y))

    def __panel__(self):
        return self._layout
