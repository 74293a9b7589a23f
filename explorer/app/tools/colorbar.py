"""Colour bar and limits: the stretch's colour bar with its data values, and the limits choice
(the stretch's own, zscale with a contrast, percentile presets, min/max, manual min/max).

The limits are state parameters (``limits``, ``contrast``, ``vmin``, ``vmax``: in the URL); the
image renders with them (:meth:`explorer.state.ExplorerState.display_range`), and this panel draws
the bar those limits give (CSS hooks: ``colorbar-limits`` for the limits line, ``w-limits``,
``w-contrast``, ``w-vmin``, ``w-vmax`` for the widgets).
"""
from __future__ import annotations

import html
from typing import Optional

import panel as pn

from ...render.display_limits import (
    colorbar_ticks,
    format_value,
    limits_for_choice,
    with_range,
)
from ...render.exposure import plane_limits
from ...render.stretch import stretch_range
from ...views.colorbar import colorbar_figure, update_colorbar
from ..base import Panel
from ..style import message_html

LABELS = {"stretch": "stretch", "zscale": "zscale", "99.5": "99.5%", "99": "99%", "95": "95%",
          "minmax": "min/max", "manual": "manual"}


class ColorbarPanel(Panel):
    """The colour bar of the image shown, and the limits widgets."""

    title = "Colour bar and limits"
    opened_by = ("limits_choice", "contrast", "vmin", "vmax")

    def __init__(self, **params):
        super().__init__(**params)
        s, w = self.state, pn.widgets
        self.limits_buttons = w.Select(
            label="Limits", options={LABELS[c]: c for c in s.param.limits_choice.objects}, value=s.limits_choice,
            css_classes=["w-limits"], sizing_mode="stretch_width")
        self.contrast_slider = w.FloatSlider.from_param(s.param.contrast, label="zscale contrast",
                                                        css_classes=["w-contrast"], sizing_mode="stretch_width")
        self.vmin_input = w.FloatInput(label="min", value=None, css_classes=["w-vmin"], width=140)
        self.vmax_input = w.FloatInput(label="max", value=None, css_classes=["w-vmax"], width=140)
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width")
        self.bar = pn.pane.Bokeh(None, sizing_mode="stretch_width", height=90)
        self._syncing = False
        self.limits_buttons.param.watch(self._on_choice, "value")
        self.vmin_input.param.watch(self._on_typed, "value")
        self.vmax_input.param.watch(self._on_typed, "value")
        self.subscribe(self._redraw, ["exposure_ref", "plane", "stretch", "cmap", "limits_choice", "contrast",
                                      "vmin", "vmax"])
        self._layout = pn.Column(self.caption, self.bar, self.limits_buttons, self.contrast_slider,
                                 pn.Row(self.vmin_input, self.vmax_input), sizing_mode="stretch_width")

    # ----- widgets -> state --------------------------------------------------------------------
    def _on_choice(self, event) -> None:
        if self._syncing:
            return
        if event.new == "manual":
            lo, hi = self.vmin_input.value, self.vmax_input.value
            self.state.param.update(limits_choice="manual", vmin=lo, vmax=hi)
        else:
            self.state.param.update(limits_choice=event.new, vmin=None, vmax=None)

    def _on_typed(self, _event) -> None:
        if self._syncing:
            return
        self.state.param.update(limits_choice="manual", vmin=self.vmin_input.value, vmax=self.vmax_input.value)

    # ----- state -> bar -------------------------------------------------------------------------
    def current_range(self) -> Optional[tuple[float, float, object]]:
        """(low, high, Limits) the image is drawn with, or None without an image plane."""
        st = self.state
        exposure = st.exposure()
        if exposure is None or st.plane == "mask":
            return None
        plane = st.plane if st.plane in exposure.info.planes else "image"
        base = plane_limits(exposure, plane)
        if st.limits_choice == "stretch":
            lo, hi = stretch_range(base, st.stretch)
            return lo, hi, base
        lo, hi = limits_for_choice(exposure, plane, st.limits_choice, st.contrast, st.vmin, st.vmax)
        return lo, hi, with_range(base, st.stretch, lo, hi)

    def _redraw(self, *_events) -> None:
        st = self.state
        with_sync = self._syncing
        self._syncing = True
        try:
            self.limits_buttons.value = st.limits_choice
            self.contrast_slider.visible = (st.limits_choice == "zscale"
                                            or (st.limits_choice == "stretch" and st.stretch == "zscale"))
            self.safe("the colour bar", self._draw, self._failed, report=False)
        finally:
            self._syncing = with_sync

    def _failed(self, message: str) -> None:
        self.caption.object = message_html(message, "colorbar-error", "#a33")

    def _draw(self) -> None:
        st = self.state
        rng = self.current_range()
        if rng is None:
            self.caption.object = message_html("no image plane to show a colour bar for", "colorbar-limits")
            self.bar.visible = False
            return
        lo, hi, limits = rng
        self.vmin_input.value, self.vmax_input.value = float(f"{lo:.6g}"), float(f"{hi:.6g}")
        what = LABELS[st.limits_choice] + (f" (contrast {st.contrast:g})" if st.limits_choice == "zscale" else "")
        if st.limits_choice == "stretch":
            what = f"{st.stretch} stretch's own"
        ticks = colorbar_ticks(limits, st.stretch)
        if self.bar.object is None:
            self.bar.object = colorbar_figure(st.cmap, ticks)
        else:
            update_colorbar(self.bar.object, st.cmap, ticks)
        self.bar.visible = True
        # the caption last: each change travels as its own message, in order, so a page showing the
        # new caption already has the new bar
        self.caption.object = (f'<div class="colorbar-limits" data-low="{lo!r}" data-high="{hi!r}">'
                               f'{html.escape(st.plane)}: <b>{format_value(lo)}</b> … <b>{format_value(hi)}</b>'
                               f' · {html.escape(st.stretch)} stretch · limits: {html.escape(what)}</div>')

    def __panel__(self):
        return self._layout
