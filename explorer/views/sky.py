"""The sky map: tracts as HoloViews polygons on RA/Dec axes, and the figure's own models.

Projection: plate carrée in RA/Dec with RA increasing to the left (as on the sky) and the plot's
aspect set to 1/cos(Dec) at the centre of the data, so shapes near the centre are true (a local
equal-scale view; fine for the few hundred square degrees of a DC2-sized survey). RA is unwrapped
around the data's centre so a survey crossing RA = 0 stays in one piece.

The figure's own models (the selection outlines, the labels, the colour bars) are added by plot
hooks and set in place; so are the layers that follow the selection (:mod:`.sky_layers`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from ..sky import geometry as geo
# the spherical predicates live with the sky geometry; re-exported for existing imports
from ..sky.predicates import contains, find_containing, overlaps  # noqa: F401

BAND_COLORS = {"u": "#56b4e9", "g": "#009e73", "r": "#e69f00", "i": "#d55e00", "z": "#cc79a7",
               "y": "#7f4f24"}


def band_color(band: Optional[str]) -> str:
    return BAND_COLORS.get(str(band), "#888888")


@dataclass
class SkyFrame:
    """How sky coordinates are laid out on the plot: the RA reference and the aspect."""

    ra_ref: float  # RA values are shown in (ra_ref - 180, ra_ref + 180]
    dec_ref: float

    @property
    def aspect(self) -> float:
        """data_aspect (y units per x unit) that makes one degree look the same both ways."""
        return 1.0 / max(math.cos(math.radians(self.dec_ref)), 0.05)

    def ra(self, ra: Any) -> np.ndarray:
        return unwrap_ra(ra, self.ra_ref)


def unwrap_ra(ra: Any, ref: float) -> np.ndarray:
    """RA shifted by multiples of 360 into (ref - 180, ref + 180]."""
    ra = np.asarray(ra, dtype=float)
    return ref + ((ra - ref + 180.0) % 360.0) - 180.0


def sky_frame(polygons: Iterable[np.ndarray]) -> SkyFrame:
    """A frame centred on the mean direction of the polygons' vertices."""
    verts = [np.asarray(p, float) for p in polygons if p is not None and len(p)]
    if not verts:
        return SkyFrame(0.0, 0.0)
    allv = np.concatenate(verts)
    xyz = geo.radec_to_xyz(allv[:, 0], allv[:, 1]).sum(axis=0)
    if np.linalg.norm(xyz) < 1e-9:
        return SkyFrame(0.0, 0.0)
    ra, dec = geo.xyz_to_radec(xyz[None, :] / np.linalg.norm(xyz))
    return SkyFrame(float(np.asarray(ra).ravel()[0]), float(np.asarray(dec).ravel()[0]))


def _ring(vertices: np.ndarray, frame: SkyFrame) -> tuple[np.ndarray, np.ndarray]:
    """Polygon vertices on the plot, with each edge unwrapped relative to the previous vertex."""
    v = np.asarray(vertices, float)
    ra = frame.ra(v[:, 0])
    # keep a polygon contiguous if it straddles the wrap line
    ra = ra[0] + ((ra - ra[0] + 180.0) % 360.0) - 180.0
    return ra, v[:, 1]


@dataclass(frozen=True)
class ColorScale:
    """How a quantity maps to colours on the sky map: its label, its range and the palette (light
    for ``low``, dark for ``high``). The tract (or coverage) polygons get their colours from it and
    the figure's colour bar shows it, so both always agree (:func:`colorbar_hook`)."""

    label: str
    low: float
    high: float
    palette: tuple[str, ...]

    def color(self, value: float) -> str:
        span = self.high - self.low
        t = 0.0 if span <= 0 else min(max((float(value) - self.low) / span, 0.0), 1.0)
        return self.palette[int(round(t * (len(self.palette) - 1)))]


def _palette(name: str) -> tuple[str, ...]:
    from bokeh import palettes

    return tuple(reversed(getattr(palettes, f"{name}256")))  # Bokeh's run dark to light


def tract_color_scale(stats: dict[int, dict[str, Any]], color_by: str = "bands") -> ColorScale:
    """The colour scale of the tracts: bands with coadds (0 to at least 6) or visits overlapping."""
    if color_by == "bands":
        top = max([len(s.get("bands", [])) for s in stats.values()] + [6])
        return ColorScale("bands with coadds", 0.0, float(top), _palette("Blues"))
    top = max([int(s.get("visits", 0)) for s in stats.values()] + [1])
    return ColorScale("visits overlapping", 0.0, float(top), _palette("Blues"))


def tract_polygons(regions: dict[int, np.ndarray], frame: SkyFrame, stats: dict[int, dict[str, Any]],
                   color_by: str = "bands"):
    """One polygon per tract holding data, coloured by bands with data or by number of visits (the
    colours of :func:`tract_color_scale`, which the figure's colour bar shows). No hover: the
    sky map's one hover layer (:func:`explorer.views.sky_layers.hover_columns`) describes tracts
    and patches."""
    import holoviews as hv

    scale = tract_color_scale(stats, color_by)
    data = []
    for tract, verts in sorted(regions.items()):
        ra, dec = _ring(verts, frame)
        st = stats.get(tract, {})
        bands = st.get("bands", [])
        row = {"ra": ra, "dec": dec, "tract": int(tract), "bands": " ".join(bands) or "-",
               "nbands": len(bands), "visits": int(st.get("visits", 0)), "patches": int(st.get("patches", 0))}
        row["fill"] = scale.color(row["nbands"] if color_by == "bands" else row["visits"])
        data.append(row)
    vdims = ["tract", "bands", "nbands", "visits", "patches", "fill"]
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=vdims, label="tracts")
    return poly.opts(color="fill", alpha=0.6, line_color="#1f3b5c", line_width=1, colorbar=False,
                     tools=["tap"], nonselection_alpha=0.55, selection_alpha=0.55)


def tract_label_columns(regions: dict[int, np.ndarray], frame: SkyFrame) -> dict[str, list]:
    """Tract ids near the top of each tract: the columns of the figure's own tract-label renderer
    (drawn above every layer, on a light box, so the selected tract's id stays readable over its
    patch grid; see :func:`labels_hook`)."""
    xs, ys, texts = [], [], []
    for tract, verts in sorted(regions.items()):
        ra, dec = _ring(verts, frame)
        xs.append(float(np.mean(ra)))
        ys.append(float(np.max(dec) - 0.12 * (np.max(dec) - np.min(dec))))
        texts.append(str(tract))
    return {"x": xs, "y": ys, "text": texts}


HIGHLIGHT_RENDERER = "explorer-highlights"


def highlight_columns(outlines: Sequence[tuple[Optional[np.ndarray], str, float]],
                      frame: SkyFrame) -> dict[str, list]:
    """Columns of a Bokeh ``multi_line`` source for the selection outlines (the tract, patch and
    calexp shown): one closed line per (vertices, colour, width); outlines without vertices are
    left out. Fed straight to the sky figure's own line renderer (see :func:`highlight_hook`), so a
    new selection sends four short lists to the browser instead of refreshing every layer."""
    cols: dict[str, list] = {"xs": [], "ys": [], "color": [], "width": []}
    for vertices, color, width in outlines:
        if vertices is None or len(vertices) < 3:
            continue
        ra, dec = _ring(vertices, frame)
        cols["xs"].append(np.append(ra, ra[0]).tolist())
        cols["ys"].append(np.append(dec, dec[0]).tolist())
        cols["color"].append(color)
        cols["width"].append(float(width))
    return cols


def highlight_hook(columns: Callable[[], dict[str, list]], on_source: Callable[[Any], None]):
    """A HoloViews plot hook that gives the sky figure one line renderer of its own, drawn above
    the layers, for the selection outlines; ``on_source`` receives its ColumnDataSource so that the
    caller can update it in place. Added once per figure (hooks also run on every redraw)."""
    def hook(plot, _element) -> None:
        from bokeh.models import ColumnDataSource

        fig = plot.state
        if any(getattr(r, "name", None) == HIGHLIGHT_RENDERER for r in fig.renderers):
            return
        source = ColumnDataSource(columns())
        fig.multi_line(xs="xs", ys="ys", line_color="color", line_width="width", source=source,
                       name=HIGHLIGHT_RENDERER)
        on_source(source)
    return hook


def patch_label_columns(regions: dict[str, np.ndarray], frame: SkyFrame, names: Iterable[str]) -> dict[str, list]:
    """Labels "x,y" at the centres of the named patches: the columns of the figure's own
    patch-label renderer (set in place when the tract changes; see :func:`labels_hook`)."""
    xs, ys, texts = [], [], []
    for name in names:
        verts = regions.get(name)
        if verts is None:
            continue
        ra, dec = _ring(verts, frame)
        xs.append(float(np.mean(ra)))
        ys.append(float(np.mean(dec)))
        texts.append(name)
    return {"x": xs, "y": ys, "text": texts}


def patch_height_deg(regions: dict[str, np.ndarray]) -> float:
    """A typical patch's extent in Dec (degrees; the median): with the map's equal-scale aspect,
    its height on screen is about its width, what decides whether its label fits."""
    heights = [float(np.ptp(np.asarray(v, float)[:, 1])) for v in regions.values() if v is not None and len(v)]
    return float(np.median(heights)) if heights else 0.0


# labels: the font a label gets for the screen size of its patch (or tract), in pixels per character
LABEL_FONTS = ((7.0, "8pt"), (5.2, "6pt"))  # below the last: no labels (they would overlap)
TRACT_LABEL_FONTS = ((7.5, "9pt"), (5.5, "7pt"))  # the tract ids (bold)


def label_font(patch_px: float, chars: int, fonts: Sequence[tuple[float, str]] = LABEL_FONTS) -> Optional[str]:
    """The font size for labels of ``chars`` characters on patches (or tracts) ``patch_px``
    pixels wide, or None when even the smallest would not fit (then the labels are hidden). The
    browser applies the same rule as the view is resized or zoomed (:data:`JS_FIT_LABELS`)."""
    for per_char, font in fonts:
        if patch_px >= per_char * max(chars, 1) + 4:
            return font
    return None


JS_FIT_LABELS = """
const yr = fig.y_range, h = Math.abs(yr.end - yr.start), ih = fig.inner_height;
if (!(h > 0) || !(ih > 0)) return;
for (const [renderer, size, fonts] of items) {
  if (!(size > 0)) continue;
  const px = size / h * ih;
  let chars = 1;
  for (const t of renderer.data_source.data.text) chars = Math.max(chars, String(t).length);
  let font = null;
  for (const [per, f] of fonts) { if (px >= per * chars + 4) { font = f; break; } }
  const visible = font !== null;
  if (renderer.visible !== visible) renderer.visible = visible;
  const now = renderer.glyph.text_font_size;
  if (font !== null && (now == null ? null : (now.value !== undefined ? now.value : now)) !== font)
    renderer.glyph.text_font_size = font;
}
"""

PATCH_LABELS_RENDERER, TRACT_LABELS_RENDERER = "explorer-patch-labels", "explorer-tract-labels"
TRACT_COLORBAR, COVERAGE_COLORBAR = "explorer-sky-colorbar", "explorer-coverage-colorbar"


def labels_hook(patch_columns: Callable[[], dict[str, list]], tract_columns: dict[str, list],
                patch_size_deg: float, on_source: Callable[[Any], None], tract_size_deg: float = 0.0):
    """A HoloViews plot hook that gives the sky figure its own label renderers, drawn after every
    layer and the selection outlines (labels stay legible over patches, footprints and outlines):
    the tract ids (bold, on a white box) and the selected tract's patch names (on a light box),
    whose size follows the screen size of a patch (smaller, then hidden, when patches are too
    small for them: no "3,34,3"), as the view is resized or zoomed, and so do the tract ids (by
    ``tract_size_deg``, a tract's Dec extent; 0: always shown). ``on_source`` receives the
    patch-label source, which the caller sets in place when the tract changes."""
    def hook(plot, _element) -> None:
        from bokeh.models import ColumnDataSource, CustomJS

        fig = plot.state
        if any(getattr(r, "name", None) == PATCH_LABELS_RENDERER for r in fig.renderers):
            return
        box = dict(background_fill_color="#ffffff", border_radius=2, text_align="center",
                   text_baseline="middle", level="overlay")
        source = ColumnDataSource(patch_columns())
        patches = fig.text(x="x", y="y", text="text", source=source, name=PATCH_LABELS_RENDERER,
                           text_font_size="8pt", text_color="#3d2200", background_fill_alpha=0.6, **box)
        tracts = fig.text(x="x", y="y", text="text", source=ColumnDataSource(tract_columns),
                          name=TRACT_LABELS_RENDERER, text_font_size="9pt", text_color="#0b2545",
                          text_font_style="bold", background_fill_alpha=0.85, border_line_color="#0b2545",
                          border_line_alpha=0.5, **box)
        items = [[patches, float(patch_size_deg), [list(f) for f in LABEL_FONTS]],
                 [tracts, float(tract_size_deg), [list(f) for f in TRACT_LABEL_FONTS]]]
        fit = CustomJS(args=dict(fig=fig, items=items), code=JS_FIT_LABELS)
        fig.y_range.js_on_change("start", fit)
        fig.y_range.js_on_change("end", fit)
        fig.js_on_change("inner_height", fit)
        source.js_on_change("data", fit)
        on_source(source)
    return hook


def colorbar_hook(scales: Callable[[], dict[str, Optional[ColorScale]]], on_bar: Callable[[Any], None]):
    """A HoloViews plot hook that gives the sky figure colour bars of its own, one per coloured
    layer (:data:`TRACT_COLORBAR`, :data:`COVERAGE_COLORBAR`), right of the map: ``scales()``
    gives each bar's :class:`ColorScale` or None (hidden). The caller updates them in place
    (:func:`set_colorbar`) when the colouring changes, so a bar follows a toggle at once."""
    def hook(plot, _element) -> None:
        from bokeh.models import ColorBar, LinearColorMapper

        fig = plot.state
        if any(getattr(r, "name", None) == TRACT_COLORBAR for r in fig.right):
            return
        for name, scale in scales().items():
            bar = ColorBar(name=name, color_mapper=LinearColorMapper(palette=list(_palette("Blues")), low=0, high=1),
                           width=10, title_text_font_size="10px", title_standoff=6, major_label_text_font_size="9px")
            set_colorbar(bar, scale)
            fig.add_layout(bar, "right")
            on_bar(bar)
    return hook


def set_colorbar(bar, scale: Optional[ColorScale]) -> None:
    """Show ``scale`` on a colour bar of :func:`colorbar_hook` (hidden for None)."""
    if scale is None:
        if bar.visible:
            bar.visible = False
        return
    mapper = bar.color_mapper
    if list(mapper.palette) != list(scale.palette):
        mapper.palette = list(scale.palette)
    mapper.update(low=scale.low, high=scale.high)
    bar.update(title=scale.label, visible=True)


def coverage_color_scale(counts: dict[str, int]) -> ColorScale:
    """The colour scale of the coverage layer (calexps overlapping each patch)."""
    return ColorScale("calexps per patch", 0.0, float(max(list(counts.values()) + [1])), _palette("Purples"))


def style_axes(element, frame: SkyFrame, height: int = 420):
    """RA to the left, 1/cos(Dec) aspect, degree axis labels."""
    return element.opts(invert_xaxis=True, data_aspect=frame.aspect, xlabel="RA (deg)", ylabel="Dec (deg)",
                        responsive=True, min_height=height, show_grid=True, active_tools=["wheel_zoom", "tap"],
                        toolbar="above")
