"""Calexp coverage on the sky map: many footprints drawn as counts per patch, not as glyphs.

A survey tract is overlapped by thousands of calexps; as Bokeh polygons they are slow to send and
draw and, overlapping, unreadable. :func:`coverage_polygons` draws the tract's patches shaded by
how many calexps overlap each (the index's :meth:`~explorer.index.RepoIndex.patch_coverage`),
with the count in the sky map's hover and a colour bar, one polygon per patch whatever the survey's depth.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .sky import SkyFrame, _ring, coverage_color_scale

COVERAGE_CMAP = "Purples"  # (coverage_color_scale's palette)


def coverage_polygons(regions: Mapping[str, np.ndarray], frame: SkyFrame, counts: Mapping[str, int],
                      tract: int = -1):
    """The patches of ``regions`` shaded by ``counts`` (patch "x,y" -> calexps overlapping it);
    patches without calexps are left out. Always the same columns, so an empty layer and a full
    one are the same kind of element for a DynamicMap."""
    import holoviews as hv

    vdims = ["patch", "tract", "calexps"]
    scale = coverage_color_scale({k: int(v) for k, v in counts.items()})
    data = []
    for name, verts in regions.items():
        n = int(counts.get(name, 0))
        if n <= 0 or verts is None:
            continue
        ra, dec = _ring(verts, frame)
        data.append({"ra": ra, "dec": dec, "patch": name, "tract": int(tract), "calexps": n})
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=vdims, label="coverage")
    # the colours of coverage_color_scale, which the sky map's colour bar (COVERAGE_COLORBAR)
    # shows; the counts are in the sky map's one hover (explorer.views.sky.hover_polygons)
    return poly.opts(color="calexps", cmap=list(scale.palette), clim=(scale.low, scale.high), fill_alpha=0.45,
                     line_alpha=0.0, colorbar=False, tools=[])
