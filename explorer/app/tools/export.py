"""Cutouts and export: the current view (or a centre and size) as a FITS cutout, the view as a PNG.

The FITS cutout is :func:`explorer.repo.cutout.cutout_bytes` (image, mask and variance; WCS and xy0
right; mask plane cards kept: the same file as ``repo-explorer cutout``) of the pixels the image
panel shows, or of a box centred on an RA/Dec. The PNG is the frame as displayed: the image the
image plot holds in the browser (server-side copy, decoded), at the frame's cells, encoded with Pillow.
"""
from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import panel as pn

from ...errors import ExplorerError
from ...render.raster import full_range
from ..base import Panel


class ExportError(ExplorerError):
    """Nothing to export (no image shown, or no view drawn yet)."""


def displayed_rgba(figure) -> np.ndarray | None:
    """The (h, w, 4) uint8 RGBA array of the frame the Bokeh ``figure`` shows, rows top to bottom
    (None when it shows none): the image its ``ImageURL`` glyph holds (a PNG or WebP data URL,
    :mod:`explorer.render.encode`), back at the frame's cells when it was enlarged for the screen."""
    if figure is None:
        return None
    from PIL import Image

    from ...render.encode import bytes_from_data_url

    for renderer in getattr(figure, "renderers", []):
        glyph = getattr(renderer, "glyph", None)
        if type(glyph).__name__ != "ImageURL":
            continue
        data = renderer.data_source.data
        if not len(data.get("url", [])):
            continue
        _mime, encoded = bytes_from_data_url(data["url"][0])
        arr = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGBA"))
        nx, ny = (data.get(k, [None])[0] for k in ("nx", "ny"))
        if nx and ny and arr.shape[:2] != (ny, nx):  # enlarged k times: one pixel of each k x k block
            arr = arr[::arr.shape[0] // ny, ::arr.shape[1] // nx][:ny, :nx]
        return np.ascontiguousarray(arr)
    return None


def png_bytes(rgba: np.ndarray) -> bytes:
    """PNG encoding of an (h, w, 4) uint8 array, rows top to bottom."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba, dtype=np.uint8), mode="RGBA").save(buf, format="PNG")
    return buf.getvalue()


class ExportPanel(Panel):
    """Downloads of the current view: FITS cutout (view, or centre and size) and PNG."""

    title = "Cutout and export"

    def __init__(self, **params):
        super().__init__(**params)
        self.image = None  # the image panel, found in attach()
        self.fits_view = pn.widgets.FileDownload(
            callback=self._view_fits, filename="cutout.fits", label="FITS cutout of the view",
            button_type="primary", css_classes=["export-fits-view"], embed=False, width=240)
        self.ra = pn.widgets.FloatInput(name="RA (deg)", value=None, width=120, css_classes=["export-ra"])
        self.dec = pn.widgets.FloatInput(name="Dec (deg)", value=None, width=120, css_classes=["export-dec"])
        self.size = pn.widgets.IntInput(name="size (pixels)", value=101, start=1, width=110,
                                        css_classes=["export-size"])
        self.fits_sky = pn.widgets.FileDownload(
            callback=self._sky_fits, filename="cutout.fits", label="FITS cutout at RA/Dec",
            css_classes=["export-fits-sky"], embed=False, width=200)
        self.png = pn.widgets.FileDownload(
            callback=self._png, filename="view.png", label="PNG of the view", css_classes=["export-png"],
            embed=False, width=200)
        self.message = pn.pane.HTML("", css_classes=["export-message"], sizing_mode="stretch_width")
        self._layout = pn.Column(
            pn.Row(self.fits_view, self.png),
            # (a FlexBox wraps: in a notebook's output the button ran past the card's edge)
            pn.FlexBox(self.ra, self.dec, self.size, pn.Column(pn.Spacer(height=18), self.fits_sky)),
            self.message, sizing_mode="stretch_width")

    def attach(self, page: Any) -> None:
        self.image = page.panels.get("image")

    # ----- what is shown ----------------------------------------------------------------------------
    def view_ranges(self):
        """The parent-pixel ranges the image panel shows (the whole frame before it draws)."""
        exposure = self.state.exposure()
        if exposure is None:
            raise ExportError(f"no image to export: {self.state.describe()}")
        fx, fy = full_range(exposure.info.shape, exposure.info.xy0)
        fig = getattr(self.image, "figure", None)
        if fig is None:
            return exposure, fx, fy
        xs, ys = fig.x_range, fig.y_range
        vals = [xs.start, xs.end, ys.start, ys.end]
        if not all(v is not None and math.isfinite(float(v)) for v in vals):
            return exposure, fx, fy
        return exposure, (float(xs.start), float(xs.end)), (float(ys.start), float(ys.end))

    def view_fits(self) -> bytes:
        """FITS bytes of the cutout of the pixels in view."""
        from ...repo.cutout import cutout_bytes, view_box

        exposure, xr, yr = self.view_ranges()
        return cutout_bytes(exposure, view_box(exposure, xr, yr))

    def sky_fits(self, ra: float, dec: float, size: int) -> bytes:
        """FITS bytes of a ``size`` x ``size`` cutout centred on (ra, dec) degrees."""
        from ...repo.cutout import cutout_bytes, sky_box

        exposure = self.state.exposure()
        if exposure is None:
            raise ExportError(f"no image to cut: {self.state.describe()}")
        return cutout_bytes(exposure, sky_box(exposure, float(ra), float(dec), int(size)))

    def view_png(self) -> bytes:
        """PNG bytes of the frame as displayed (rendered afresh at the view when none is drawn)."""
        rgba = displayed_rgba(getattr(self.image, "figure", None))
        if rgba is None:
            _exposure, xr, yr = self.view_ranges()
            frame = self.state.render_image(800, 800, xr, yr)
            if frame is None:
                raise ExportError(f"no image to export: {self.state.describe()}")
            rgba = frame.rgba[::-1]
        return png_bytes(rgba)

    # ----- the download callbacks (errors said in the panel, an empty file downloaded) ----------
    def _run(self, what: str, make, filename: str):
        def fallback(message):
            self.message.object = f'<span class="explorer-error" style="color:#a33">{message}</span>'

        data = self.safe(what, make, fallback)
        if data is None:
            return io.BytesIO(b"")
        self.message.object = f"{filename}: {len(data):,} bytes"
        return io.BytesIO(data)

    def _view_fits(self):
        return self._run("the FITS cutout of the view", self.view_fits, "cutout.fits")

    def _sky_fits(self):
        def make():
            if self.ra.value is None or self.dec.value is None:
                raise ExportError("give the cutout's centre RA and Dec (degrees)")
            return self.sky_fits(self.ra.value, self.dec.value, self.size.value or 1)

        return self._run("the FITS cutout at RA/Dec", make, "cutout.fits")

    def _png(self):
        return self._run("the PNG of the view", self.view_png, "view.png")

    def __panel__(self):
        return self._layout
