"""Layers other panels draw over the image (explorer.app.overlays): composed by the image panel,
following the state, and isolated: a failing layer is reported and the image still draws."""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest

from explorer.app import overlays


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(overlays, "IMAGE_OVERLAYS", [])
    import explorer.app.image as image_module

    monkeypatch.setattr(image_module, "IMAGE_OVERLAYS", overlays.IMAGE_OVERLAYS)
    return overlays.IMAGE_OVERLAYS


def _render(explorer):
    """Build the image panel's plot and render it to Bokeh models, as a page would."""
    pane = explorer.image.view()
    return pane, pane.get_root()


def test_registered_layers_are_drawn_and_follow_the_state(registry, sample_gen3):
    from explorer.app import Explorer

    calls = []

    def diagonal(state, x_range, y_range):
        calls.append((state.plane, x_range is not None))
        return hv.Path([np.array([[0.0, 0.0], [100.0, 100.0]])])

    overlays.register_overlay(overlays.ImageOverlay("a diagonal", ("plane",), diagonal, lambda: hv.Path([])))
    overlays.register_overlay(overlays.ImageOverlay("a diagonal", ("plane",), diagonal, lambda: hv.Path([])))
    assert len(registry) == 1  # registering again replaces, by name
    explorer = Explorer(str(sample_gen3))
    _render(explorer)
    assert calls and calls[-1][0] == explorer.state.plane
    before = len(calls)
    explorer.state.plane = "variance"
    assert len(calls) > before and calls[-1][0] == "variance"


def test_a_failing_layer_is_reported_and_the_image_stays(registry, sample_gen3):
    from explorer.app import Explorer

    def broken(state, x_range, y_range):
        raise RuntimeError("the grid cannot be drawn")

    overlays.register_overlay(overlays.ImageOverlay("the RA/Dec grid", (), broken, lambda: hv.Path([])))
    explorer = Explorer(str(sample_gen3))
    pane, root = _render(explorer)
    assert isinstance(pane, __import__("panel").pane.HoloViews)  # the plot, not an error message
    assert "the RA/Dec grid failed" in explorer.image.failure
    assert "the grid cannot be drawn" in (explorer.state.error or "")
    assert explorer.state.exposure() is not None


def test_center_on_moves_the_view_keeping_the_zoom(sample_gen3):
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    assert explorer.image.center_on(10.0, 20.0) is False  # nothing drawn yet
    _render(explorer)
    fig = explorer.image.figure
    assert fig is not None
    width = fig.x_range.end - fig.x_range.start
    assert explorer.image.center_on(1000.0, 1200.0)
    assert fig.x_range.end - fig.x_range.start == pytest.approx(width)
    assert (fig.x_range.start + fig.x_range.end) / 2 == pytest.approx(1000.0)
    assert (fig.y_range.start + fig.y_range.end) / 2 == pytest.approx(1200.0)
    explorer.image.center_on(50.0, 60.0, half_width=25)
    assert (fig.x_range.start, fig.x_range.end) == (25.0, 75.0)
