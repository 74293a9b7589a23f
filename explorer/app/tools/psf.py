"""PSF: the PSF image at the pointer (or the image centre) from the model the file carries
(:func:`explorer.render.psf.psf_at`). CSS hooks: ``psf-caption`` (model, where, FWHM),
``psf-plot`` (the image; its Bokeh figure is named ``explorer-psf``), ``w-psf-follow``."""
from __future__ import annotations

import html
from typing import Any, Optional

import holoviews as hv
import panel as pn
import param

from ...render.psf import peak_offset, psf_at
from ..base import Panel
from ..style import message_html
from ..figures import figure_pane

FOLLOW_STEP = 32  # pixels: the PSF follows the pointer in steps (a PSF varies over hundreds of pixels)


def psf_element(array, title: str = ""):
    """An ``hv.Image`` of a PSF stamp, pixel (0, 0) at the centre of the stamp's centre pixel."""
    ny, nx = array.shape
    bounds = (-(nx // 2) - 0.5, -(ny // 2) - 0.5, nx - nx // 2 - 0.5, ny - ny // 2 - 0.5)
    return hv.Image(array, bounds=bounds, kdims=["dx", "dy"], vdims=["psf"]).opts(
        cmap="viridis", cnorm="log", clim=(max(float(array.max()) * 1e-4, 1e-12), float(array.max())),
        colorbar=True, frame_width=200, frame_height=200, title=title, xlabel="dx (pixels)", ylabel="dy (pixels)",
        tools=["hover"], toolbar=None)


class PsfPanel(Panel):
    """The PSF stamp and its caption."""

    title = "PSF"
    where = param.Parameter(default=None, doc="(x, y) parent pixel the PSF is shown for, or None: the centre")
    follow = param.Boolean(default=True, doc="Follow the pointer over the image")

    def __init__(self, **params):
        super().__init__(**params)
        self.follow_check = pn.widgets.Checkbox.from_param(self.param.follow, label="follow the pointer",
                                                           css_classes=["w-psf-follow"])
        self.caption = pn.pane.HTML("", sizing_mode="stretch_width")
        self.plot = figure_pane(None, css_classes=["psf-plot"], width=340, height=300)
        self.subscribe(self._reset, ["exposure_ref"])
        self.subscribe(self._redraw, ["where"], source=self, on_open=False)
        self._layout = pn.Column(self.caption, self.plot, self.follow_check, sizing_mode="stretch_width")

    def attach(self, page: Any) -> None:
        image = page.panels.get("image")
        if image is not None and hasattr(image, "pointer_listeners"):
            image.pointer_listeners.append(self.pointer_moved)

    def pointer_moved(self, x: Optional[float], y: Optional[float]) -> None:
        if not (self.follow and self.active) or x is None or y is None:
            return
        snapped = (round(x / FOLLOW_STEP) * FOLLOW_STEP, round(y / FOLLOW_STEP) * FOLLOW_STEP)
        if snapped != self.where:
            self.where = snapped

    def _reset(self, *_events) -> None:
        if self.where is None:
            self._redraw()
        else:
            self.where = None

    def _redraw(self, *_events) -> None:
        self.safe("the PSF", self._draw, self._failed, report=False)

    def _failed(self, message: str) -> None:
        self.caption.object = message_html(message, "psf-caption psf-error", "#a33")
        self.plot.object = None

    def _draw(self) -> None:
        exposure = self.state.exposure()
        if exposure is None:
            self.caption.object = message_html("no exposure shown", "psf-caption")
            self.plot.object = None
            return
        x, y = self.where if self.where is not None else (None, None)
        stamp = psf_at(exposure.info, x, y)
        dx, dy = peak_offset(stamp.array)
        ny, nx = stamp.array.shape
        fwhm = f" · FWHM {stamp.fwhm_pixels:.2f} px" if stamp.fwhm_pixels else ""
        scale = exposure.info.psf.fwhm_arcsec if exposure.info.psf is not None else None
        if scale and exposure.info.psf.sigma_pixels and stamp.fwhm_pixels:
            arcsec = stamp.fwhm_pixels * scale / (exposure.info.psf.sigma_pixels * 2.3548200450309493)
            fwhm += f" ({arcsec:.2f}″)"
        self.caption.object = (
            f'<div class="psf-caption" data-peak-dx="{dx}" data-peak-dy="{dy}" data-nx="{nx}" data-ny="{ny}">'
            f'<b>{html.escape(stamp.kind)}</b> at {html.escape(stamp.where)} · {nx}×{ny} px{fwhm}</div>')
        self.plot.object = psf_element(stamp.array).opts(hooks=[_name_figure])

    def __panel__(self):
        return self._layout


def _name_figure(plot, _element):
    plot.state.name = "explorer-psf"
