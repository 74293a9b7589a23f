"""Sky axes: an RA/Dec grid traced through the exposure's exact WCS, labelled, and a N/E compass,
drawn over the image when ``show_grid`` is on (URL ``grid=1``; the checkbox ``w-grid`` is in the
go-to panel). Four layers registered with :func:`~explorer.app.overlays.register_overlay` (grid
lines, their labels, compass arrows, N/E), all from one computation per view."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Optional

from ...render.graticule import compass, graticule
from ...views.skyaxes import compass_labels, compass_paths, grid_labels, grid_paths
from ..overlays import ImageOverlay, register_overlay

_MEMO: OrderedDict[Any, tuple] = OrderedDict()  # recent views' grids (the lines and labels layers share one)
_MEMO_LOCK = threading.Lock()
MEMO_ENTRIES = 64  # a grid is ~20 lines of 80 points: the memo stays well under 2 MB


def sky_axes(state, x_range: Optional[Sequence[float]], y_range: Optional[Sequence[float]]):
    """(Graticule, Compass) of the current exposure and view, or (None, None) when hidden."""
    exposure = state.exposure() if state.show_grid else None
    if exposure is None or not exposure.info.has_sky:
        return None, None
    key = (exposure.info.path, tuple(x_range or ()), tuple(y_range or ()))
    with _MEMO_LOCK:
        if key in _MEMO:
            return _MEMO[key]
    value = (graticule(exposure.info, x_range, y_range), compass(exposure.info, x_range, y_range))
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > MEMO_ENTRIES:
            _MEMO.popitem(last=False)
    return value


def _layer(name: str, draw, part: int) -> ImageOverlay:
    return register_overlay(ImageOverlay(name, ("show_grid",), lambda st, xr, yr: draw(sky_axes(st, xr, yr)[part]),
                                         lambda: draw(None), shown=lambda st: st.show_grid, added_when_shown=True))


GRID_LINES = _layer("the RA/Dec grid", grid_paths, 0)
GRID_LABELS = _layer("the RA/Dec grid labels", grid_labels, 0)
COMPASS_ARROWS = _layer("the compass", compass_paths, 1)
COMPASS_LABELS = _layer("the compass letters", compass_labels, 1)
