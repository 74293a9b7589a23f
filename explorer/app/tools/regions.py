"""Regions: DS9 region files drawn on the image, and boxes/polygons drawn on it exported to DS9.

Import: a file chosen in the panel is parsed (:func:`explorer.repo.regions_io.read_regions`) and
kept as text in the state (``regions_ds9``); the ``imported regions`` image overlay places it on
whatever image is shown (sky regions through that image's WCS) and draws each outline.

Drawing: the overlay also puts two Bokeh edit tools on the image's figure (box edit, polygon
draw; hold shift and drag to draw a box, click vertices and double-click to close a polygon). The
shapes live in the figure's data sources (synchronised with the browser); the export button turns
them into pixel regions on the parent grid and writes them as ``fk5`` sky regions
(:func:`explorer.repo.regions_io.regions_text`), readable on any image of the same sky.
"""
from __future__ import annotations

import io
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn

from ...errors import ExplorerError
from ...repo.regions_io import outlines, read_regions, regions_text
from ..base import Panel
from ..overlays import ImageOverlay, register_overlay

REGION_COLOR = "#ff3fd2"  # imported regions
DRAWN_COLOR = "#ffd400"  # regions drawn on the image
BOXES = "drawn-boxes"  # Bokeh renderer names on the image figure
POLYGONS = "drawn-polygons"


class RegionsPanelError(ExplorerError):
    """Nothing to export, or the shapes drawn cannot be written."""


# ----- drawing tools on the image figure --------------------------------------------------------
def _renderer(figure, name: str):
    for r in getattr(figure, "renderers", []):
        if getattr(r, "name", None) == name:
            return r
    return None


def install_drawing_tools(plot, _element=None) -> None:
    """A HoloViews hook: add box-edit and polygon-draw tools (once) to the image's Bokeh figure."""
    from bokeh.models import BoxEditTool, ColumnDataSource, PolyDrawTool

    fig = plot.state
    if _renderer(fig, BOXES) is not None:
        return
    empty = ColumnDataSource({"x": [], "y": [], "width": [], "height": []})
    boxes = fig.rect("x", "y", "width", "height", source=empty,
                     fill_alpha=0.15, fill_color=DRAWN_COLOR, line_color=DRAWN_COLOR, line_width=2, name=BOXES)
    polys = fig.patches("xs", "ys", source=ColumnDataSource({"xs": [], "ys": []}), fill_alpha=0.15,
                        fill_color=DRAWN_COLOR, line_color=DRAWN_COLOR, line_width=2, name=POLYGONS)
    fig.add_tools(BoxEditTool(renderers=[boxes], description="Draw boxes (shift+drag): regions to export"),
                  PolyDrawTool(renderers=[polys], description="Draw polygons: regions to export"))


def drawn_regions(figure) -> list:
    """The boxes and polygons drawn on ``figure`` as ``regions`` pixel regions (parent pixels)."""
    from regions import PixCoord, PolygonPixelRegion, RectanglePixelRegion

    out: list = []
    boxes = _renderer(figure, BOXES)
    if boxes is not None:
        d = boxes.data_source.data
        for x, y, w, h in zip(d.get("x", []), d.get("y", []), d.get("width", []), d.get("height", [])):
            if None in (x, y, w, h) or not (abs(float(w)) > 0 and abs(float(h)) > 0):
                continue
            out.append(RectanglePixelRegion(PixCoord(float(x), float(y)), abs(float(w)), abs(float(h))))
    polys = _renderer(figure, POLYGONS)
    if polys is not None:
        d = polys.data_source.data
        for xs, ys in zip(d.get("xs", []), d.get("ys", [])):
            xs, ys = np.asarray(xs, float), np.asarray(ys, float)
            if len(xs) >= 3:
                out.append(PolygonPixelRegion(PixCoord(xs, ys)))
    return out


# ----- the imported regions, drawn as an image overlay ------------------------------------------
def _empty():
    return hv.Path([], kdims=["x", "y"]).opts(color=REGION_COLOR, line_width=2, hooks=[install_drawing_tools])


def _build(state, _x_range, _y_range):
    exposure = state.exposure()
    if exposure is None or not state.regions_ds9.strip():
        return _empty()
    paths = []
    for o in outlines(state.regions_ds9, exposure.info, text=True):
        for ring in o.rings:
            ring = np.asarray(ring, float)
            if o.closed and len(ring) > 2:
                ring = np.vstack([ring, ring[:1]])
            paths.append(ring)
    return hv.Path(paths, kdims=["x", "y"]).opts(color=REGION_COLOR, line_width=2, hooks=[install_drawing_tools])


REGIONS_OVERLAY = register_overlay(ImageOverlay("the imported regions", ("regions_ds9",), _build, _empty,
                                                 shown=lambda st: bool(st.regions_ds9.strip()), added_when_shown=True))


class RegionsPanel(Panel):
    """Import a DS9 region file onto the image; export the shapes drawn on the image."""

    title = "Regions"

    def __init__(self, **params):
        super().__init__(**params)
        self.image = None
        self.upload = pn.widgets.FileInput(accept=".reg,.txt", css_classes=["regions-import"], width=260)
        self.upload.param.watch(self._on_upload, "value")
        self.clear = pn.widgets.Button(name="clear imported", width=120, css_classes=["regions-clear"])
        self.clear.on_click(lambda _e: self.state.param.update(regions_ds9=""))
        self.download = pn.widgets.FileDownload(
            callback=self._export, filename="regions.reg", label="Export drawn regions (DS9, fk5)",
            css_classes=["regions-export"], embed=False, width=260)
        self.message = pn.pane.HTML("draw boxes (shift+drag, box-edit tool) or polygons on the image, "
                                    "then export them", css_classes=["regions-message"],
                                    sizing_mode="stretch_width")
        self._layout = pn.Column(pn.Row(pn.pane.HTML("Import a DS9 file:", width=130), self.upload, self.clear),
                                 self.download, self.message, sizing_mode="stretch_width")

    def attach(self, page: Any) -> None:
        self.image = page.panels.get("image")

    def import_text(self, text: str) -> int:
        """Draw the regions of DS9 text on the image (raises on a file that is not DS9)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (regions warns for each line it skips)
            regions = read_regions(text, text=True)
        if not regions:
            raise RegionsPanelError("no DS9 regions in the file (lines such as 'fk5; circle(ra, dec, r\")')")
        self.state.regions_ds9 = text
        return len(regions)

    def _on_upload(self, event) -> None:
        data: bytes | None = event.new
        if not data:
            return

        def load():
            n = self.import_text(data.decode("utf-8", "replace"))
            self.message.object = f"{self.upload.filename or 'file'}: {n} region(s) drawn on the image"

        self.safe("the region file", load, lambda m: setattr(
            self.message, "object", f'<span class="explorer-error" style="color:#a33">{m}</span>'))

    def export_text(self) -> str:
        """DS9 (fk5) text of the shapes drawn on the image."""
        exposure = self.state.exposure()
        if exposure is None:
            raise RegionsPanelError("no image: nothing drawn to export")
        regions = drawn_regions(getattr(self.image, "figure", None))
        if not regions:
            raise RegionsPanelError("no regions drawn on the image (draw boxes or polygons first)")
        return regions_text(regions, exposure.info, sky=True)

    def _export(self):
        def fallback(message):
            self.message.object = f'<span class="explorer-error" style="color:#a33">{message}</span>'

        text = self.safe("the regions export", self.export_text, fallback)
        if text is None:
            return io.BytesIO(b"")
        n = sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#")
                and line.strip() not in ("fk5", "icrs", "image"))
        self.message.object = f"regions.reg: {n} region(s) exported"
        return io.BytesIO(text.encode())

    def __panel__(self):
        return self._layout
