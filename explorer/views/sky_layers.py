"""The sky map's layers that follow the selection, drawn by Bokeh from sources set in place.

The selected tract's patches, the calexp coverage of a survey tract, the calexp footprints and
the one hover layer change with the tract (and the colouring, and the footprint toggle). As
HoloViews layers of the sky overlay, each change re-ran the overlay's update: every layer's
element rebuilt, the ranges of every tract polygon recomputed and the document's models walked
again (about 0.27 s of server CPU a tract change on the sample). Here each is one ``patches``
renderer of the sky figure's own, added by :func:`polygon_layers_hook`, and a change only sets
its source's columns: a few short lists sent to the browser.

Each ``*_columns`` function gives a layer's columns (always the same keys, empty when the layer
draws nothing), so the caller can compare and set them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import numpy as np

from .sky import SkyFrame, _ring, band_color, coverage_color_scale

PATCHES, COVERAGE, FOOTPRINTS, HOVER = ("explorer-sky-patches", "explorer-sky-coverage",
                                        "explorer-sky-footprints", "explorer-sky-hover")
PATCH_FILL, PATCH_EMPTY_FILL, PATCH_LINE = "#f4a261", "#ffffff", "#e76f51"

HOVER_TEMPLATE = ('<div class="sky-tip" style="font-size:12px;max-width:260px"><b>@title</b>'
                  '<div style="color:#444">@detail</div></div>')


@dataclass(frozen=True)
class PolygonLayer:
    """How one layer is drawn: its renderer's name, its source's columns, the ``patches`` glyph's
    options (column names or values), and its tooltips (None: no hover) with the hover tool's
    options."""

    name: str
    columns: tuple[str, ...]
    glyph: Mapping[str, Any]
    tooltips: Any = None
    hover: Mapping[str, Any] = field(default_factory=dict)


# in drawing order, above the tracts and below the selection outlines and labels
LAYERS: tuple[PolygonLayer, ...] = (
    PolygonLayer(PATCHES, ("xs", "ys", "patch", "fill"),
                 {"fill_color": "fill", "fill_alpha": 0.55, "line_color": PATCH_LINE, "line_alpha": 0.55,
                  "line_width": 0.8}),
    PolygonLayer(COVERAGE, ("xs", "ys", "patch", "calexps", "fill"),
                 {"fill_color": "fill", "fill_alpha": 0.45, "line_alpha": 0.0}),
    PolygonLayer(FOOTPRINTS, ("xs", "ys", "visit", "detector", "band", "color"),
                 {"fill_color": "color", "fill_alpha": 0.15, "line_color": "color", "line_width": 1},
                 [("visit", "@visit"), ("detector", "@detector"), ("band", "@band")], {"limit": 1}),
    # invisible: one tooltip at a time (the lowest rank first: a patch before its tract)
    PolygonLayer(HOVER, ("xs", "ys", "rank", "title", "detail"),
                 {"fill_color": "#000000", "fill_alpha": 0.0, "line_alpha": 0.0},
                 HOVER_TEMPLATE, {"limit": 1, "sort_by": "rank"}),
)


def empty_columns(name: str) -> dict[str, list]:
    """The columns of the layer ``name`` drawing nothing."""
    return {column: [] for column in next(layer for layer in LAYERS if layer.name == name).columns}


def _rings(named: Iterable[tuple[Any, np.ndarray]], frame: SkyFrame) -> tuple[list, list, list]:
    names, xs, ys = [], [], []
    for name, vertices in named:
        if vertices is None or len(vertices) < 3:
            continue
        ra, dec = _ring(vertices, frame)
        names.append(name)
        xs.append(ra.tolist())
        ys.append(dec.tolist())
    return names, xs, ys


def patch_columns(regions: Mapping[str, np.ndarray], frame: SkyFrame, with_data: Iterable[str]) -> dict[str, list]:
    """The patches of one tract: outlined, filled where the repository has data."""
    have = set(with_data)
    names, xs, ys = _rings(regions.items(), frame)
    return {"xs": xs, "ys": ys, "patch": names,
            "fill": [PATCH_FILL if name in have else PATCH_EMPTY_FILL for name in names]}


def coverage_columns(regions: Mapping[str, np.ndarray], frame: SkyFrame,
                     counts: Mapping[str, int]) -> dict[str, list]:
    """The patches of ``regions`` shaded by ``counts`` (patch "x,y" -> calexps overlapping it),
    in the colours of :func:`~explorer.views.sky.coverage_color_scale` (which the map's colour bar
    shows); patches without calexps are left out. A survey tract is overlapped by thousands of
    calexps: as polygons they are slow to send and draw and, overlapping, unreadable; one polygon
    per patch shows their depth whatever it is."""
    scale = coverage_color_scale({k: int(v) for k, v in counts.items()})
    names, xs, ys = _rings(((name, verts) for name, verts in regions.items() if int(counts.get(name, 0)) > 0),
                           frame)
    calexps = [int(counts[name]) for name in names]
    return {"xs": xs, "ys": ys, "patch": names, "calexps": calexps, "fill": [scale.color(n) for n in calexps]}


def footprint_columns(footprints: Sequence[Mapping[str, Any]], frame: SkyFrame) -> dict[str, list]:
    """Exposure footprints (mappings with ``vertices``, ``visit``, ``detector``, ``band``), coloured
    by band."""
    rows, xs, ys = _rings(((fp, fp["vertices"]) for fp in footprints), frame)
    bands = [str(fp.get("band", "")) for fp in rows]
    return {"xs": xs, "ys": ys, "visit": [int(fp.get("visit", -1)) for fp in rows],
            "detector": [int(fp.get("detector", -1)) for fp in rows], "band": bands,
            "color": [band_color(band) for band in bands]}


def hover_columns(tract_regions: Mapping[int, np.ndarray], tract_stats: Mapping[int, Mapping[str, Any]],
                  tract: Optional[int], patch_regions: Mapping[str, np.ndarray], with_data: Iterable[str],
                  frame: SkyFrame, coverage: Optional[Mapping[str, int]] = None,
                  with_visits: bool = False) -> dict[str, list]:
    """The hover layer: the selected tract's patches (rank 0, naming their tract), then the other
    tracts (rank 1). Its hover tool shows one entry, the lowest rank first, so a pointer over
    overlapping tracts and patches gets one tooltip. ``coverage`` (patch -> calexps) adds the
    coverage layer's counts; ``with_visits`` the tracts' visit counts."""
    have = set(with_data)
    patches, pxs, pys = _rings(patch_regions.items(), frame)
    details = []
    for name in patches:
        detail = "has data" if name in have else "no data here"
        if coverage is not None:
            detail += f" · {int(coverage.get(name, 0))} calexps"
        details.append(detail)
    others = sorted((t, v) for t, v in tract_regions.items() if not (t == tract and patches))
    tracts, txs, tys = _rings(others, frame)  # (the selected tract's patches describe it)
    for t in tracts:
        st = tract_stats.get(t, {})
        bands = " ".join(st.get("bands", [])) or "no band"
        detail = f"coadds in {bands} · {int(st.get('patches', 0))} patches with data"
        if with_visits:
            detail += f" · {int(st.get('visits', 0))} visits"
        details.append(detail)
    return {"xs": pxs + txs, "ys": pys + tys, "rank": [0] * len(patches) + [1] * len(tracts),
            "title": [f"patch {name} of tract {tract}" for name in patches] + [f"tract {t}" for t in tracts],
            "detail": details}


def polygon_layers_hook(columns_of: Callable[[str], dict[str, list]], on_source: Callable[[str, Any], None],
                        layers: Sequence[PolygonLayer] = LAYERS):
    """A HoloViews plot hook that gives the sky figure one ``patches`` renderer per layer (in
    order, above the figure's HoloViews layers), its source filled by ``columns_of(name)``, and a
    hover tool of its own where the layer has tooltips. ``on_source(name, source)`` receives each
    source, which the caller sets in place as the selection changes. Added once per figure (hooks
    also run on every redraw). Taps go on selecting from the figure's earlier renderers only: a
    tap must not select, and so dim, these layers' polygons."""
    def hook(plot, _element) -> None:
        from bokeh.models import ColumnDataSource, HoverTool, TapTool

        fig = plot.state
        if any(getattr(r, "name", None) == layers[0].name for r in fig.renderers):
            return
        for tool in fig.select(type=TapTool):  # a tap selects (and dims) HoloViews' layers only, not these
            if tool.renderers == "auto":
                tool.renderers = list(fig.renderers)
        for layer in layers:
            source = ColumnDataSource(columns_of(layer.name))
            renderer = fig.patches(xs="xs", ys="ys", source=source, name=layer.name, **layer.glyph)
            if layer.tooltips is not None:
                fig.add_tools(HoverTool(renderers=[renderer], tooltips=layer.tooltips, **layer.hover))
            on_source(layer.name, source)
    return hook
