"""HoloViews elements for the image pane: the rendered frame and the sources drawn over it.

A rendered frame travels to the browser as a PNG or lossless WebP (:mod:`explorer.render.encode`),
not as raw RGBA: :func:`frame_element` returns an ``RGB`` element whose Bokeh plot draws an ``ImageURL``
glyph with a ``data:image/png`` URL placed at the frame's parent-pixel bounds. The element is an
``hv.RGB`` subclass of the same name, so every ``hv.opts.RGB(...)`` of the page and its tools
applies to it unchanged; only its plot class differs. :func:`png_source_data` is that glyph's data,
for code that updates the drawn plot's data source directly.

Memory: a page keeps its last frame (to redraw without rendering again). :func:`encoded_element`
makes the element of an already encoded frame, so what is kept is the encoded image the Bokeh
data source holds anyway (one string, shared), not the RGBA, its flipped copy, the plane's values
and the mask bits besides (3 MB for a 400 x 400 frame, 12 MB for 800 x 800).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..render.encode import data_url, encode_frame, upscale_factor
from .raster import Frame

IMAGE_KDIMS = ("x", "y")
_CLASSES: dict[str, Any] = {}


def png_source_data(rgba_top_first: np.ndarray, bounds, scale: float = 1) -> dict[str, list]:
    """The data of the ``ImageURL`` glyph showing an (h, w, 4) uint8 image (rows top to bottom)
    at ``bounds`` (x0, y0, x1, y1), anchored at its top-left corner: the image as a PNG (or
    lossless WebP) data URL, and the frame's cell counts ``nx``, ``ny`` (the encoded image is
    ``scale`` times larger when enlarged)."""
    x0, y0, x1, y1 = (float(b) for b in bounds)
    h, w = rgba_top_first.shape[:2]
    mime, data = encode_frame(rgba_top_first, scale)
    return {"url": [data_url(data, mime)], "x": [x0], "y": [y1], "w": [x1 - x0],
            "h": [y1 - y0], "nx": [int(w)], "ny": [int(h)]}


def png_rgb_class():
    """The ``RGB`` element drawn as a PNG, and its Bokeh plot registered (on first use: importing
    HoloViews' Bokeh backend is not free)."""
    if "RGB" in _CLASSES:
        return _CLASSES["RGB"]
    import holoviews as hv
    import param
    from holoviews.plotting.bokeh.raster import RGBPlot

    class RGB(hv.RGB):
        """An ``hv.RGB`` whose Bokeh plot sends a PNG (named ``RGB``: ``hv.opts.RGB`` applies)."""

        scale = param.Number(default=1, bounds=(1, 64), doc="screen pixels per cell, each way")
        encoded = param.Dict(default=None, instantiate=False, doc="the glyph's data when the frame is already "
                             "encoded (png_source_data): then the element's own array is a placeholder")

    class PNGRGBPlot(RGBPlot):
        """``RGBPlot`` drawing an ``ImageURL`` glyph of the element as a PNG data URL."""

        _plot_methods = dict(single="image_url")

        def get_data(self, element, ranges, style):
            mapping = dict(url={"field": "url"}, x="x", y="y", w="w", h="h", anchor="top_left")
            alpha = style.pop("alpha", None)
            if alpha is not None:
                style["global_alpha"] = alpha
            if self.static_source:
                return {}, mapping, style
            if getattr(element, "encoded", None) is not None:
                return dict(element.encoded), mapping, style
            data = element.data if isinstance(element.data, np.ndarray) else None
            if data is None or data.ndim != 3 or data.dtype != np.uint8:  # (rows top to bottom, as hv holds them)
                data = np.dstack([element.dimension_values(d, flat=False) for d in element.vdims])[::-1]
                data = np.clip(np.nan_to_num(data), 0, 255).astype(np.uint8)
            if data.shape[2] == 3:
                data = np.dstack([data, np.full(data.shape[:2], 255, np.uint8)])
            if 0 in data.shape:
                data = np.zeros((1, 1, 4), dtype=np.uint8)
            return png_source_data(data, element.bounds.lbrt(), getattr(element, "scale", 1)), mapping, style

    import holoviews.plotting.bokeh  # noqa: F401 - the backend's registry must exist first

    hv.Store.registry["bokeh"][RGB] = PNGRGBPlot
    _CLASSES["RGB"] = RGB
    return RGB


def frame_element(frame: Frame, title: str = "", screen: Optional[tuple[int, int]] = None):
    """An ``RGB`` element of a rendered frame placed at its parent-pixel bounds, sent as a PNG;
    ``screen`` (width, height): the plot's size, to enlarge a frame of fewer cells than that."""
    rgba = np.ascontiguousarray(frame.rgba[::-1])  # hv images run top to bottom
    scale = upscale_factor(frame.shape, *screen) if screen else 1
    return png_rgb_class()(rgba, bounds=frame.bounds, kdims=list(IMAGE_KDIMS), label="image",
                        scale=scale).opts(title=title)


def encoded_element(source_data: dict[str, list], title: str = ""):
    """An ``RGB`` element of a frame already encoded by :func:`png_source_data` (its bounds are
    the glyph's): it holds the encoded image, not the pixels."""
    x0, top, w, h = (float(source_data[k][0]) for k in ("x", "y", "w", "h"))
    placeholder = np.zeros((1, 1, 4), dtype=np.uint8)
    return png_rgb_class()(placeholder, bounds=(x0, top - h, x0 + w, top), kdims=list(IMAGE_KDIMS),
                           label="image", encoded=source_data).opts(title=title)


def empty_image(message: str = "", bounds=(0, 0, 1, 1)):
    """A blank image with a message, shown when there is nothing (or nothing readable) to show."""
    rgba = np.full((2, 2, 4), 245, dtype=np.uint8)
    rgba[..., 3] = 255
    # HoloViews formats titles with str.format: a data ID's braces must be doubled
    title = message.replace("{", "{{").replace("}", "}}")
    return png_rgb_class()(rgba, bounds=bounds, kdims=list(IMAGE_KDIMS), label="image").opts(title=title)


def sources_columns(x: np.ndarray, y: np.ndarray, ids: Optional[np.ndarray] = None,
                    value: Optional[np.ndarray] = None) -> dict[str, np.ndarray]:
    """The columns of :func:`sources_element` (x, y, id, value): what its drawn plot's data source
    holds, for code that sets that source directly (no element built for it)."""
    n = len(x)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    value = np.full(n, np.nan) if value is None else np.asarray(value, dtype=float)
    return {"x": np.asarray(x, float), "y": np.asarray(y, float), "id": ids, "value": value}


def sources_element(x: np.ndarray, y: np.ndarray, ids: Optional[np.ndarray] = None,
                    value: Optional[np.ndarray] = None, value_name: str = "value", color: str = "#00e5ff",
                    size: float = 9.0):
    """Open circles at source centroids (parent-pixel coordinates), with id and value on hover."""
    import holoviews as hv

    data = sources_columns(x, y, ids, value)
    vdims = ["id", hv.Dimension("value", label=value_name)]
    return hv.Points(data, kdims=list(IMAGE_KDIMS), vdims=vdims, label="sources").opts(
        marker="circle", size=size, fill_alpha=0.0, line_color=color, line_width=1.5, color=color,
        tools=["hover"], hover_tooltips=[("id", "@id"), ("x, y", "@x{0.0}, @y{0.0}"), (value_name, "@value{0.000g}")])
