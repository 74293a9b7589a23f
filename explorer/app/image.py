"""The image: a title naming what is shown, the plot (rendered at screen size on the server), and
the pixel readout under the pointer.

The plot is built once per repository (:attr:`ImagePanel.extent`; again only when a layer over it
is first shown, as layers never shown are not in it): selecting another exposure,
of any shape or kind, redraws it in place. On the same pixel grid (another visit of a detector,
another band of a patch) the zoom is kept, as one blinks between exposures in ds9; on another
(another patch, a calexp after a coadd) the new frame is shown whole: the axes move to it, once.

A click costs what changes on screen: HoloViews builds the plot and follows zoom and pan, but a
change of the state (another band, visit, plane, stretch, limits, catalog) renders the frame and
sets the image's and the sources' Bokeh data sources directly (:meth:`ImagePanel.redraw`), one
update per batch of changes; the layers over the image (:mod:`.overlays`) are asked again only
when one of them has something to draw or to clear. The frame travels as a PNG (or lossless
WebP) data URL, never as raw RGBA (:func:`explorer.views.image.png_source_data`), and the readout's
values come from the server (:meth:`ImagePanel.show_pixel`, on each pointer move), not from the image.

Why this module is over 400 lines: the plot's build, its direct updates and the readout share the
drawn plot's handles and memos; split, one plot's state would be spread over modules. What could
leave has left: the frame's encoding and its glyph are :mod:`explorer.render.encode` and
:mod:`explorer.views.image`.
"""
from __future__ import annotations

import html
from typing import Any, Optional

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ..render.raster import full_range
from ..repo.model import Exposure
from ..render.encode import upscale_factor
from ..views.image import empty_image, encoded_element, png_source_data, sources_columns, sources_element
from ..views.info import pixel_readout, sexagesimal
from .base import Panel
from .fetching import fetch_progress_line
from .overlays import IMAGE_OVERLAYS
from .tools.cells import cell_note
from .style import message_html
from .figures import figure_pane
from .hooks import weak_hook
from .redraws import redraw_on_next_tick

DISPLAY_PARAMS = ("exposure_ref", "plane", "stretch", "cmap", "mask_planes", "mask_alpha", "limits_choice",
                  "contrast", "vmin", "vmax")
SOURCE_PARAMS = ("exposure_ref", "catalog_ref", "show_sources", "column", "require_flags", "exclude_flags")
SOURCE_LIMIT = 5000  # sources drawn individually in view; beyond, the brightest are drawn
READOUT_HINT = "move the pointer over the image: pixel, value, mask planes, RA/Dec"


def overlaps(x_range, y_range, bounds) -> bool:
    """Whether a view's ranges (None: the whole frame) overlap a frame's (x0, y0, x1, y1)."""
    if x_range is None or y_range is None:
        return True
    (xa, xb), (ya, yb) = sorted(x_range), sorted(y_range)
    return xa < bounds[2] and xb > bounds[0] and ya < bounds[3] and yb > bounds[1]


class _Layers(param.Parameterized):
    """Bumped when the layers over the image must be drawn again (their one shared stream)."""

    version = param.Integer(default=0)
    frame_version = param.Integer(default=0, doc="Bumped when the frame callback must run again "
                                  "(no exposure to set directly): HoloViews memoises it by its streams")


def readout_html(info: Optional[dict[str, Any]]) -> str:
    """The readout's text for a pixel (None: the hint)."""
    if info is None:
        return f'<div class="readout" style="color:#777">{READOUT_HINT}</div>'
    parts = [f"x <b>{info['x']}</b> y <b>{info['y']}</b>", f"value <b>{info['value']:.6g}</b>"]
    if "variance" in info:
        parts.append(f"var {info['variance']:.4g}")
    if "mask_planes" in info:  # each plane's description (from the file) as its tooltip
        said = info.get("mask_descriptions") or {}
        parts.append("mask " + (",".join(f'<span class="mask-plane" title="{html.escape(said.get(n, n), quote=True)}">'
                                         f"{html.escape(n)}</span>" for n in info["mask_planes"]) or "-"))
    if info.get("cell"):
        parts.append(html.escape(info["cell"]))
    line2 = ""
    if "ra" in info:
        line2 = (f"RA <b>{info['ra']:.6f}</b> Dec <b>{info['dec']:.6f}</b> "
                 f"({sexagesimal(info['ra'], info['dec'])})")
        if info.get("sky_exact") is False:  # the header's FITS approximation, not the exact mapping
            line2 += (' <span class="sky-approx" style="color:#a60" title="from the FITS approximation of the '
                      'WCS in the header: the file has no exact mapping">approx.</span>')
    return f'<div class="readout">{" · ".join(parts)}<br>{line2}</div>'


class ImagePanel(Panel):
    """The exposure the state names: title (CSS hook ``image-title``), plot, readout."""

    title = "Image"
    extent = param.Parameter(default=None, doc="What the plot is built for: the repository and the layers "
                             "it draws (or why there is no exposure to show); only a change of it rebuilds the plot")

    def __init__(self, **params):
        super().__init__(**params)
        # at least two lines; more when a narrow card (a notebook output) wraps them, never cut off
        self.readout = pn.pane.HTML(readout_html(None), sizing_mode="stretch_width", min_height=44,
                                    css_classes=["explorer-readout"], styles={"font-family": "monospace"})
        self.title_pane = pn.pane.HTML(self.title_html(), sizing_mode="stretch_width", margin=(0, 10))
        self.pointer = None
        self.pointer_listeners: list = []  # f(x, y) called with the pointer's parent pixel (tools: PSF)
        self.figure = None  # the Bokeh figure of the current plot, once drawn (see center_on)
        self._sources_memo: tuple[Any, Optional[pd.DataFrame]] = (None, None)
        self._plot: dict[str, Any] = {}  # the plot drawn: its extent, streams and Bokeh handles
        self._layers = _Layers()
        self._layer_memo: dict[str, tuple[Any, Any]] = {}
        self._pending: set[str] = set()
        self.state.param.watch(self._update_extent, ["exposure_ref", "repo_root"])
        self.state.param.watch(self._on_exposure, ["exposure_ref"])
        self.state.param.watch(lambda *_e: self._schedule("frame"), list(DISPLAY_PARAMS))
        self.state.param.watch(lambda *_e: self._schedule("sources"), list(SOURCE_PARAMS))
        overlay_params = sorted({p for o in IMAGE_OVERLAYS for p in o.watch})
        self.state.param.watch(self._include_shown_layers, overlay_params)
        self.state.param.watch(lambda *_e: self._schedule("layers"), sorted({"exposure_ref", *overlay_params}))
        self._update_extent()
        self.plot_pane = pn.param.ParamMethod(self.view, loading_indicator=True, sizing_mode="stretch_width")
        self._layout = pn.Column(self.title_pane, fetch_progress_line(self.state), self.plot_pane, self.readout,
                                 sizing_mode="stretch_width")

    # ----- title ---------------------------------------------------------------------------------
    def title_html(self) -> str:
        """What the image shows, its zero point, or why there is no image."""
        st = self.state
        exposure = st.exposure()
        text = html.escape(st.describe())
        if exposure is not None and exposure.info.zero_point_mag is not None:
            text += f" · zero point {exposure.info.zero_point_mag:.3f} mag"
        elif exposure is None and st.fetching():  # a remote exposure's pixels on their way (line below)
            text += " · fetching the image..."
        elif exposure is None and st.exposure_ref is not None:  # say why, above the blank frame
            why = self.no_image_message()
            why = why.split("} ", 1)[1] if "} " in why else why  # (the data ID is in the line already)
            text += f' · <span class="image-missing" style="color:#a33">{html.escape(why)}</span>'
        return f'<div class="image-title" style="font-weight:600">{text}</div>'

    def no_image_message(self) -> str:
        """Why no image is shown for the current selection (the reader's error when there is one)."""
        st = self.state
        if st.exposure_ref is None:
            return "nothing to show for this selection"
        if st.fetching():
            return "fetching the image..."
        return st.error or f"cannot read {st.describe()}"

    def _on_exposure(self, *_events) -> None:
        self.title_pane.object = self.title_html()

    # ----- the plot ------------------------------------------------------------------------------
    def _update_extent(self, *_events) -> None:
        st = self.state
        exposure = st.exposure()
        if exposure is not None:  # (any shape: a new frame geometry moves the axes, in place)
            extent = (st.repo_root, "image", self._layers_to_draw())
        elif self.extent is not None and self.extent[0] == st.repo_root and self.extent[1] == "image":
            # no exposure (say, a file registered but not on disk) after a plot: the plot stays and
            # shows a blank frame, the title says why, and the next exposure redraws it in place
            extent = self.extent
        else:  # no exposure and no plot yet: the message pane, rebuilt for each selection (it names it)
            extent = (st.repo_root, "none", st.exposure_ref, st.error_count)
        if extent != self.extent:
            self.extent = extent

    def _layers_to_draw(self) -> tuple[str, ...]:
        """Names of the layers (:data:`~.overlays.IMAGE_OVERLAYS`) the plot is built with: every
        layer but those :attr:`~.overlays.ImageOverlay.added_when_shown` that have not been shown
        (the RA/Dec grid's four layers and the regions: about 70 Bokeh models of each session). The first
        time one is shown the plot is built again with it (:meth:`_include_shown_layers`); after that
        it stays, empty when off."""
        drawn = self.extent[2] if self.extent is not None and self.extent[1] == "image" else ()
        st = self.state

        def shown(overlay) -> bool:
            try:
                return bool(overlay.shown(st))
            except Exception:  # noqa: BLE001 - the layer says so itself once built
                return True

        return tuple(o.name for o in IMAGE_OVERLAYS
                     if o.shown is None or not o.added_when_shown or o.name in drawn or shown(o))

    def _include_shown_layers(self, *_events) -> None:
        """Build the plot again when a layer not in it has something to show (once per layer)."""
        if self.extent is not None and self.extent[1] == "image":
            wanted = self._layers_to_draw()
            if wanted != self.extent[2]:
                self.extent = (*self.extent[:2], wanted)

    @param.depends("extent")
    def view(self):
        """The plot for the current frame geometry, or the message saying why there is no image."""
        return self.guard("the image", self._build, height=200)

    def _build(self):
        st = self.state
        exposure = st.exposure()
        if exposure is None:
            return pn.pane.HTML(message_html(self.no_image_message(), "image-empty", "#a33", 200)
                                .replace("padding:30px", "padding:40px"), sizing_mode="stretch_width", height=200)
        fx, fy = full_range(exposure.info.shape, exposure.info.xy0)
        zoom = st.zoom
        if zoom is not None and overlaps(zoom[:2], zoom[2:], (fx[0], fy[0], fx[1], fy[1])):
            vx, vy = tuple(sorted(zoom[:2])), tuple(sorted(zoom[2:]))  # a link's zoom
        else:
            vx, vy = fx, fy
        rng = hv.streams.RangeXY(x_range=vx, y_range=vy)
        rng.add_subscriber(self._remember_zoom)
        size = hv.streams.PlotSize(width=800, height=800)
        origin = {"move_axes": None, "frame": (fx[0], fy[0], fx[1], fy[1])}  # the frame the axes are on
        self._origin = origin
        self._plot = {"extent": self.extent, "range": rng, "size": size}
        self._layer_memo.clear()

        def frame(x_range=None, y_range=None, width=None, height=None, **_kw):
            bounds = origin["frame"]
            current = st.exposure()
            if current is None:  # (e.g. a file not on disk): a blank frame; the title above says why
                return empty_image("fetching the image..." if st.fetching() else "no image for this selection",
                                   bounds=bounds)
            cx, cy = full_range(current.info.shape, current.info.xy0)
            bounds = (cx[0], cy[0], cx[1], cy[1])
            if bounds != origin["frame"]:  # another pixel grid: show it whole
                origin["move_axes"] = bounds
                origin["frame"] = bounds
                x_range = y_range = None
            elif not overlaps(x_range, y_range, bounds):  # ranges of the previous frame, not yet updated
                x_range = y_range = None
            data = self.safe(f"rendering {st.describe()}", lambda: self.encoded(
                x_range, y_range, int(width or 800), int(height or 800)), lambda _m: None)
            if data is None:
                return empty_image("cannot render", bounds=bounds)
            return encoded_element(data)

        def keep_sources(plot, _element):
            self._plot["sources"] = plot

        def sources(x_range=None, y_range=None, **_kw):
            empty = sources_element(np.zeros(0), np.zeros(0), value_name=st.column or "value")
            return self.safe("the sources on the image", lambda: self._sources_element(x_range, y_range),
                             lambda _m: empty).opts(hooks=[weak_hook(keep_sources, self)])

        img = hv.DynamicMap(frame, streams=[rng, size, hv.streams.Params(self._layers, ["frame_version"])])
        self._plot["image"] = img
        layers_stream = hv.streams.Params(self._layers, ["version"])
        layers = [self._overlay(rng, overlay, layers_stream) for overlay in IMAGE_OVERLAYS
                  if overlay.name in self.extent[2]]
        # every layer follows the view through the one range stream of the frame: HoloViews triggers
        # each RangeXY stream of a new plot once, each time refreshing the whole overlay (twelve
        # refreshes of every layer per session opened, a third of its CPU, with a stream per layer)
        src = hv.DynamicMap(sources, streams=[rng])
        pointer = hv.streams.PointerXY(x=None, y=None, source=img)
        pointer.add_subscriber(lambda x=None, y=None: self.show_pixel(x, y))
        self.pointer = pointer
        # a box or lasso drawn on the image selects sources (the catalog tools filter and highlight them)
        box, lasso = hv.streams.BoundsXY(source=img), hv.streams.Lasso(source=img)
        box.add_subscriber(lambda bounds=None: bounds and st.param.update(
            selection_box=tuple(float(b) for b in bounds), selection_lasso=None))
        lasso.add_subscriber(lambda geometry=None: geometry is not None and len(geometry) > 2 and st.param.update(
            selection_lasso=(list(map(float, geometry[:, 0])), list(map(float, geometry[:, 1]))), selection_box=None))

        def move_axes(plot, _element):
            """After a change of pixel grid, put the axes on the new frame (once; zooming is the user's)."""
            self.figure = plot.state
            self._plot["frame"] = plot
            bounds = origin["move_axes"]
            if bounds is None:
                return
            origin["move_axes"] = None
            fig = plot.state
            fig.x_range.update(start=bounds[0], end=bounds[2])
            fig.y_range.update(start=bounds[1], end=bounds[3])

        plot = img * src
        for layer in layers:
            plot = plot * layer
        plot = plot.opts(
            hv.opts.RGB(data_aspect=1, responsive=True, min_height=560, max_height=760, xlabel="x (parent pixels)",
                        ylabel="y (parent pixels)", active_tools=["wheel_zoom", "pan"],
                        tools=["box_select", "lasso_select"],
                        toolbar="above", xlim=vx, ylim=vy, hooks=[weak_hook(move_axes, self)]),
            hv.opts.Overlay(show_legend=False))
        self.readout.object = readout_html(None)
        return figure_pane(plot, linked_axes=False, sizing_mode="stretch_width", min_height=560,
                           css_classes=["image-plot"])

    def _overlay(self, view, overlay, layers_stream):
        """A registered layer as a DynamicMap following the view (the frame's range stream
        ``view``), and the state through the one stream :meth:`redraw` bumps when a layer has changed."""
        def layer(x_range=None, y_range=None, **_kw):
            return self._layer(overlay, x_range, y_range)

        return hv.DynamicMap(layer, streams=[view, layers_stream])

    def _layer(self, overlay, x_range, y_range):
        """The layer for the state and view (memoised until either changes)."""
        st = self.state
        key = (st.exposure_ref, *(_hashable(getattr(st, p)) for p in overlay.watch),
               _hashable(x_range), _hashable(y_range))
        memo = self._layer_memo.get(overlay.name)
        if memo is not None and memo[0] == key:
            return memo[1]
        element = self.safe(overlay.name, lambda: overlay.build(st, x_range, y_range), lambda _m: overlay.empty())
        self._layer_memo[overlay.name] = (key, element)
        return element

    # ----- state -> the Bokeh models, directly ---------------------------------------------------
    def _schedule(self, what: str) -> None:
        """Redraw ``what`` once the current batch of state changes is done (in a served session:
        on the document's next tick, so a cascade of changes costs one redraw; else now)."""
        self._pending.add(what)
        redraw_on_next_tick(self, self._flush)

    def _flush(self) -> None:
        pending, self._pending = self._pending, set()
        self.redraw(pending)

    def redraw(self, parts=("frame", "sources", "layers")) -> None:
        """Bring the drawn plot up to date with the state: the frame and the sources by setting
        their Bokeh data sources, the layers by one refresh when any of them changed."""
        plot = self._plot
        if plot.get("extent") != self.extent or "frame" not in plot:
            return  # no plot yet, or another one is being built for the new extent
        if "frame" in parts:
            if plot.get("blank") or not self.safe("the image", self._redraw_frame, lambda _m: False, report=False):
                # no exposure (or the frame after one): HoloViews draws what the frame callback says,
                # title included ("no image for this selection", then cleared)
                plot["blank"] = self.state.exposure() is None
                self._layers.frame_version += 1
                if plot["blank"]:
                    return
        if "sources" in parts and "sources" in plot:
            self.safe("the sources on the image", self._redraw_sources, lambda _m: None)
        if "layers" in parts:
            self._redraw_layers()

    def render(self, x_range, y_range, width: int, height: int):
        """The state's exposure rendered over the ranges (None: whole) at ``width`` x ``height``
        (a :class:`~explorer.render.raster.Frame`, or None)."""
        return self.state.render_image(width=width, height=height, x_range=x_range, y_range=y_range)

    def encoded(self, x_range, y_range, width: int, height: int) -> Optional[dict[str, list]]:
        """The image glyph's data for the state's exposure over the ranges at ``width`` x
        ``height``: the frame encoded (:func:`~explorer.views.image.png_source_data`), or None.
        The last one is kept, so the refresh that follows a move of the axes renders nothing;
        the frame's pixels are not (the readout reads the exposure)."""
        st = self.state
        key = (st.exposure_ref, *(_hashable(getattr(st, p)) for p in DISPLAY_PARAMS[1:]),
               _hashable(x_range), _hashable(y_range), width, height, st.error_count)
        memo = self._plot.get("last")
        if memo is not None and memo[0] == key:
            return memo[1]
        self._plot.pop("last", None)  # (the previous image goes before the next is made)
        frame = self.render(x_range, y_range, width, height)
        if frame is None:
            return None
        data = png_source_data(frame.rgba[::-1], frame.bounds, upscale_factor(frame.shape, width, height))
        self._plot["last"] = (key, data)
        return data

    def _view(self):
        """The drawn (x_range, y_range, width, height) of the image plot."""
        rng, size = self._plot["range"], self._plot["size"]
        return rng.x_range, rng.y_range, int(size.width or 800), int(size.height or 800)

    def _redraw_frame(self) -> bool:
        st, origin = self.state, self._origin
        current = st.exposure()
        if current is None:
            return False
        x_range, y_range, width, height = self._view()
        cx, cy = full_range(current.info.shape, current.info.xy0)
        bounds = (cx[0], cy[0], cx[1], cy[1])
        moved = bounds != origin["frame"]  # another pixel grid (patch, shape, kind)
        if moved:  # the ranges the axes move to (the refresh that follows finds this frame)
            x_range, y_range = cx, cy
        elif not overlaps(x_range, y_range, bounds):
            x_range = y_range = None
        data = self.encoded(x_range, y_range, width, height)
        if data is None:
            return False
        self._plot["frame"].handles["source"].data = data
        if moved:  # another pixel grid: show it whole
            origin.update(frame=bounds, move_axes=None)
            fig = self.figure
            fig.x_range.update(start=bounds[0], end=bounds[2])
            fig.y_range.update(start=bounds[1], end=bounds[3])
            # the view is the new frame from now on: the sources and layers drawn next are cut to
            # it (not to the previous frame's view), and the zoom of the previous frame is forgotten
            self._plot["range"].update(x_range=cx, y_range=cy)
            self._remember_zoom(x_range=cx, y_range=cy)
        return True

    def _redraw_sources(self) -> None:
        x_range, y_range, _w, _h = self._view()
        columns = self._sources_columns(x_range, y_range)
        source = self._plot["sources"].handles["source"]
        if not set(source.data) <= set(columns):  # (a column HoloViews added: ask the element)
            element = self._element_of(columns)
            columns = {k: element.dimension_values(k) for k in source.data}
        source.data = {k: columns[k] for k in source.data}

    def _redraw_layers(self) -> None:
        """Ask every layer drawn again; refresh the plot once if any has something new to show."""
        wanted = self.extent[2]
        x_range, y_range, _w, _h = self._view()
        before = {name: memo[1] for name, memo in self._layer_memo.items()}
        changed = False
        for overlay in IMAGE_OVERLAYS:
            if overlay.name not in wanted:
                continue
            element = self._layer(overlay, x_range, y_range)
            old = before.get(overlay.name)
            if old is not element and (old is None or _draws(old) or _draws(element)):
                changed = True
        if changed:
            self._layers.version += 1

    def center_on(self, x: float, y: float, half_width: Optional[float] = None) -> bool:
        """Centre the view on parent pixel (x, y), keeping the zoom unless ``half_width`` (pixels)
        is given. False when no plot is drawn yet (the next frame is then shown whole)."""
        fig = self.figure
        if fig is None:
            return False
        xs, ys = fig.x_range, fig.y_range
        hw = half_width if half_width is not None else 0.5 * abs((xs.end or 0) - (xs.start or 0))
        hh = half_width if half_width is not None else 0.5 * abs((ys.end or 0) - (ys.start or 0))
        xs.update(start=x - hw, end=x + hw)
        ys.update(start=y - hh, end=y + hh)
        return True

    def _remember_zoom(self, x_range=None, y_range=None, **_kw) -> None:
        """Keep the view in the state (and so in links): None when it shows the whole frame."""
        bounds = getattr(self, "_origin", {}).get("frame")
        if x_range is None or y_range is None or bounds is None:
            return
        box = (float(x_range[0]), float(x_range[1]), float(y_range[0]), float(y_range[1]))
        whole = (abs(box[0] - bounds[0]) < 1 and abs(box[1] - bounds[2]) < 1 and abs(box[2] - bounds[1]) < 1
                 and abs(box[3] - bounds[3]) < 1)
        zoom = None if whole or not overlaps(box[:2], box[2:], bounds) else tuple(round(v, 2) for v in box)
        if zoom != self.state.zoom:
            self.state.zoom = zoom

    # ----- sources and readout ---------------------------------------------------------------------
    def sources(self) -> Optional[pd.DataFrame]:
        """The catalog's sources on the current exposure (memoised per catalog, column and filters)."""
        st = self.state
        key = (st.catalog_ref, st.column, tuple(st.require_flags), tuple(st.exclude_flags),
               st.exposure_ref and st.exposure_ref.dataset_type)
        if self._sources_memo[0] != key:
            self._sources_memo = (key, st.source_positions())
        return self._sources_memo[1]

    def _sources_element(self, x_range, y_range):
        return self._element_of(self._sources_columns(x_range, y_range))

    def _element_of(self, columns: dict[str, np.ndarray]):
        """The sources' HoloViews element of :meth:`_sources_columns`' columns."""
        return sources_element(columns["x"], columns["y"], columns["id"], columns["value"],
                               value_name=self.state.column or "value")

    def _sources_columns(self, x_range, y_range) -> dict[str, np.ndarray]:
        """The sources in view (the brightest :data:`SOURCE_LIMIT`) as the plot's columns."""
        st = self.state
        df = self.sources() if st.show_sources else None
        if df is None or not len(df):
            return sources_columns(np.zeros(0), np.zeros(0))
        current = st.exposure()
        if current is not None and x_range is not None and y_range is not None:
            cx, cy = full_range(current.info.shape, current.info.xy0)
            if overlaps(x_range, y_range, (cx[0], cy[0], cx[1], cy[1])):  # (else: a previous frame's view)
                inside = (df["x"].between(*sorted(x_range))) & (df["y"].between(*sorted(y_range)))
                df = df[inside]
        if len(df) > SOURCE_LIMIT:
            df = df.nlargest(SOURCE_LIMIT, "value") if df["value"].notna().any() else df.iloc[:SOURCE_LIMIT]
        return sources_columns(df["x"].to_numpy(), df["y"].to_numpy(), df["id"].to_numpy(), df["value"].to_numpy())

    def show_pixel(self, x: Optional[float], y: Optional[float]) -> None:
        """Put the pixel under (x, y) (parent pixels) in the readout; off the image: the hint."""
        exposure: Optional[Exposure] = self.state.exposure()
        try:
            info = pixel_readout(exposure, x, y) if (exposure is not None and x is not None and y is not None) else None
            if info is not None:
                info.update(sky_exact=exposure.info.sky_exact, mask_descriptions=exposure.info.mask_descriptions(),
                            cell=cell_note(exposure.info.cells, x, y))
        except Exception:  # a pixel that cannot be read is no reason to bother anyone
            info = None
        self.readout.object = readout_html(info)
        for listener in self.pointer_listeners:
            listener(x, y)

    def __panel__(self):
        return self._layout


def _draws(element: Any) -> bool:
    """Whether a layer has anything to draw (a finite coordinate)."""
    try:
        return bool(np.isfinite(np.asarray(element.dimension_values(0), dtype=float)).any())
    except Exception:  # noqa: BLE001 - when in doubt, draw
        return True


def _hashable(value: Any) -> Any:
    """A value usable in a memo key (lists and arrays as tuples)."""
    if isinstance(value, (list, np.ndarray)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return value
