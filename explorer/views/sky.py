"""The sky map: tracts, patches and exposure footprints as HoloViews polygons on RA/Dec axes.

Projection: plate carrée in RA/Dec with RA increasing to the left (as on the sky) and the plot's
aspect set to 1/cos(Dec) at the centre of the data, so shapes near the centre are true (a local
equal-scale view; fine for the few hundred square degrees of a DC2-sized survey). RA is unwrapped
around the data's centre so a survey crossing RA = 0 stays in one piece.
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


def tract_polygons(regions: dict[int, np.ndarray], frame: SkyFrame, stats: dict[int, dict[str, Any]],
                   color_by: str = "bands"):
    """One polygon per tract holding data, coloured by bands with data or by number of visits."""
    import holoviews as hv

    data = []
    for tract, verts in sorted(regions.items()):
        ra, dec = _ring(verts, frame)
        st = stats.get(tract, {})
        bands = st.get("bands", [])
        data.append({"ra": ra, "dec": dec, "tract": int(tract), "bands": " ".join(bands) or "-",
                     "nbands": len(bands), "visits": int(st.get("visits", 0)),
                     "patches": int(st.get("patches", 0))})
    value = "nbands" if color_by == "bands" else "visits"
    label = "bands with coadds" if color_by == "bands" else "visits overlapping"
    top = max([d[value] for d in data] + [6 if color_by == "bands" else 1])
    vdims = ["tract", "bands", "nbands", "visits", "patches"]
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=vdims, label="tracts")
    return poly.opts(color=value, cmap="Blues", clim=(0, top), alpha=0.6, line_color="#1f3b5c", line_width=1,
                     colorbar=True, clabel=label, colorbar_opts={"width": 10},
                     tools=["hover", "tap"], hover_tooltips=[("tract", "@tract"), ("bands", "@bands"),
                                                             ("visits", "@visits"), ("patches with data", "@patches")],
                     nonselection_alpha=0.55, selection_alpha=0.55)


def tract_labels(regions: dict[int, np.ndarray], frame: SkyFrame):
    """Tract ids at the tracts' centres."""
    import holoviews as hv

    xs, ys, texts = [], [], []
    for tract, verts in sorted(regions.items()):
        ra, dec = _ring(verts, frame)
        xs.append(float(np.mean(ra)))
        ys.append(float(np.max(dec) - 0.12 * (np.max(dec) - np.min(dec))))
        texts.append(str(tract))
    return hv.Labels((xs, ys, texts), kdims=["ra", "dec"], vdims=["text"]).opts(
        text_font_size="9pt", text_color="#0b2545", text_font_style="bold")


def patch_polygons(regions: dict[str, np.ndarray], frame: SkyFrame, with_data: Iterable[str],
                   tract: int):
    """The patches of one tract: outlines, filled where the repository has data."""
    import holoviews as hv

    have = set(with_data)
    data = []
    for name, verts in regions.items():
        ra, dec = _ring(verts, frame)
        data.append({"ra": ra, "dec": dec, "patch": name, "tract": int(tract),
                     "data": "yes" if name in have else "no", "has": 1.0 if name in have else 0.0})
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=["patch", "tract", "data", "has"], label="patches")
    return poly.opts(color="has", cmap=["#ffffff", "#f4a261"], clim=(0, 1), fill_alpha=0.55, alpha=0.55,
                     line_color="#e76f51", line_width=0.8, colorbar=False,
                     tools=["hover"], hover_tooltips=[("tract", "@tract"), ("patch", "@patch"), ("data", "@data")])


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


def footprint_polygons(footprints: Sequence[dict[str, Any]], frame: SkyFrame):
    """Exposure footprints (dicts with ``vertices``, ``visit``, ``detector``, ``band``)."""
    import holoviews as hv

    data = []
    for fp in footprints:
        ra, dec = _ring(fp["vertices"], frame)
        data.append({"ra": ra, "dec": dec, "visit": int(fp.get("visit", -1)), "detector": int(fp.get("detector", -1)),
                     "band": str(fp.get("band", "")), "color": band_color(fp.get("band"))})
    if not data:
        return hv.Polygons([], kdims=["ra", "dec"], label="footprints")
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=["visit", "detector", "band", "color"], label="footprints")
    return poly.opts(color="color", fill_alpha=0.15, line_color="color", line_width=1,
                     tools=["hover"], hover_tooltips=[("visit", "@visit"), ("detector", "@detector"),
                                                      ("band", "@band")])


def patch_labels(regions: dict[str, np.ndarray], frame: SkyFrame, names: Iterable[str]):
    """Text labels "x,y" at the centres of the named patches."""
    import holoviews as hv

    xs, ys, texts = [], [], []
    for name in names:
        verts = regions.get(name)
        if verts is None:
            continue
        ra, dec = _ring(verts, frame)
        xs.append(float(np.mean(ra)))
        ys.append(float(np.mean(dec)))
        texts.append(name)
    return hv.Labels((xs, ys, texts), kdims=["ra", "dec"], vdims=["text"]).opts(
        text_font_size="8pt", text_color="#3d2200")


def style_axes(element, frame: SkyFrame, height: int = 420):
    """RA to the left, 1/cos(Dec) aspect, degree axis labels."""
    return element.opts(invert_xaxis=True, data_aspect=frame.aspect, xlabel="RA (deg)", ylabel="Dec (deg)",
                        responsive=True, min_height=height, show_grid=True, active_tools=["wheel_zoom", "tap"],
                        toolbar="above")
