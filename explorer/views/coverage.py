"""Calexp coverage on the sky map: many footprints drawn as counts per patch, not as glyphs.

A survey tract is overlapped by thousands of calexps; as Bokeh polygons they are slow to send and
draw and, overlapping, unreadable. :func:`coverage_polygons` draws the tract's patches shaded by
how many calexps overlap each (the index's :meth:`~explorer.index.RepoIndex.patch_coverage`),
with the count in the hover, one polygon per patch whatever the survey's depth.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .sky import SkyFrame, _ring

COVERAGE_CMAP = "Purples"


def coverage_polygons(regions: Mapping[str, np.ndarray], frame: SkyFrame, counts: Mapping[str, int],
                      tract: int = -1):
    """The patches of ``regions`` shaded by ``counts`` (patch "x,y" -> calexps overlapping it);
    patches without calexps are left out. Always the same columns, so an empty layer and a full
    one are the same kind of element for a DynamicMap."""
    import holoviews as hv

    vdims = ["patch", "tract", "calexps"]
    data = []
    for name, verts in regions.items():
        n = int(counts.get(name, 0))
        if n <= 0 or verts is None:
            continue
        ra, dec = _ring(verts, frame)
        data.append({"ra": ra, "dec": dec, "patch": name, "tract": int(tract), "calexps": n})
    top = max([d["calexps"] for d in data], default=1)
    poly = hv.Polygons(data, kdims=["ra", "dec"], vdims=vdims, label="coverage")
    return poly.opts(color="calexps", cmap=COVERAGE_CMAP, clim=(0, max(top, 1)), fill_alpha=0.45,
                     line_alpha=0.0, colorbar=False, tools=["hover"],
                     hover_tooltips=[("tract", "@tract"), ("patch", "@patch"), ("calexps", "@calexps")])
