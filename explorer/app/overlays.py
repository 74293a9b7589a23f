"""Layers drawn over the image by other panels (graticule, compass, regions, go-to marker, cell grid, ...).

A tool that draws on the image registers an :class:`ImageOverlay` in :data:`IMAGE_OVERLAYS` (one
line in its own module, imported by the page). The image panel composes every registered overlay
over the frame: each is a HoloViews DynamicMap that follows the view's ranges and the state
parameters the overlay names, and each is built inside the image panel's error boundary, so a
failing overlay shows nothing and says why in the banner; the image stays.

A layer that is off most of the time (the grid, the cell grid, a marker) names when it draws
(:attr:`ImageOverlay.shown`): while it does not, it is the one same empty element, not built again
for each exposure, so the image panel sees nothing changed and asks no redraw of it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Optional, Sequence

OverlayBuilder = Callable[[Any, Optional[Sequence[float]], Optional[Sequence[float]]], Any]


@dataclass(frozen=True)
class ImageOverlay:
    """One layer over the image.

    Parameters
    ----------
    name
        What it is, for error messages ("the RA/Dec grid").
    watch
        Names of :class:`~explorer.state.ExplorerState` parameters whose change redraws it
        (``exposure_ref`` is always watched).
    build
        ``build(state, x_range, y_range) -> hv.Element``: the layer for the current exposure and
        view (ranges in parent pixels; None before the first view). Return ``empty()`` when
        there is nothing to draw.
    empty
        ``empty() -> hv.Element``: the layer with nothing in it, of the same element type as what
        ``build`` returns (a DynamicMap must keep one type); also shown when ``build`` fails.
    shown
        ``shown(state) -> bool``, optional: False when the layer has nothing to draw whatever
        the exposure and view (its switch off, nothing marked); ``build`` is then not called and
        the layer is one empty element made once. None: always built.
    """

    name: str
    watch: tuple[str, ...]
    build: OverlayBuilder
    empty: Callable[[], Any]
    shown: Optional[Callable[[Any], bool]] = None
    added_when_shown: bool = False
    """True: the plot is built without the layer until it is first shown, then built again with it
    (a layer off since the page opened costs the session no Bokeh models). For layers a switch
    turns on (the RA/Dec grid, imported regions); not for one drawn together with a move of the
    view or during a selection (a marker, a marked or selected source), which a new plot would undo."""


IMAGE_OVERLAYS: list[ImageOverlay] = []


def register_overlay(overlay: ImageOverlay) -> ImageOverlay:
    """Add a layer to every image panel built from now on (idempotent by name); returns it as
    registered (with :attr:`ImageOverlay.shown`, its ``build`` answers the one empty element
    while the layer is not shown)."""
    if overlay.shown is not None:
        overlay = replace(overlay, build=_built_when_shown(overlay))
    IMAGE_OVERLAYS[:] = [o for o in IMAGE_OVERLAYS if o.name != overlay.name] + [overlay]
    return overlay


def _built_when_shown(overlay: ImageOverlay) -> OverlayBuilder:
    """``overlay.build``, or one empty element (made on first use, the same after) while
    ``overlay.shown(state)`` is False."""
    build, shown, empty = overlay.build, overlay.shown, overlay.empty
    made: list[Any] = []

    def built(state, x_range, y_range):
        if shown(state):
            return build(state, x_range, y_range)
        if not made:
            made.append(empty())
        return made[0]

    return built
