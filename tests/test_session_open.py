"""What a new session and an image-kind switch cost the server (issue 12's load goals), as
behaviour: the image plot follows the view through one range stream, a switch of image kind
redraws the plot in place, and a second session's summary asks the registry nothing.

Truth comes from the sample's manifest and the real Bokeh models, never from the code under test.
"""
from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest


def _plot(explorer):
    """The image panel's plot rendered to Bokeh models, as a page's pane renders it."""
    return hv.renderer("bokeh").get_plot(explorer.image.view().object)


def test_every_image_layer_follows_one_range_stream(sample_gen3):
    """HoloViews refreshes a new plot once per range stream: one stream for the frame, the
    sources and every registered layer (a stream each made every session refresh all of them
    a dozen times on opening)."""
    from holoviews.core.spaces import get_nested_dmaps

    from explorer.app import Explorer
    from explorer.app.overlays import IMAGE_OVERLAYS

    explorer = Explorer(str(sample_gen3))
    explorer.state.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3", "grid": "1"})
    drawn = explorer.image.view().object
    plot = hv.renderer("bokeh").get_plot(drawn)
    assert len(IMAGE_OVERLAYS) >= 2  # (the page registers its tools' layers)
    layers = explorer.image.extent[2]  # (the layers drawn: the grid's, shown by the link, among them)
    assert "the RA/Dec grid" in layers and len(layers) >= 2
    ranges = {id(s) for s in plot.streams if isinstance(s, hv.streams.RangeXY)}
    assert len(ranges) == 1
    # a pan still reaches every layer: the one stream is the one each layer's callback listens to
    dmaps = get_nested_dmaps(drawn)
    following = [d for d in dmaps if any(isinstance(s, hv.streams.RangeXY) for s in d.streams)]
    assert len(following) >= 2 + len(layers)  # the frame, the sources, each layer drawn
    assert {id(s) for d in following for s in d.streams if isinstance(s, hv.streams.RangeXY)} == ranges


def test_switching_the_image_kind_redraws_the_plot_in_place(sample_gen3):
    """calexp -> coadd -> calexp keeps the one plot: its image source holds the whole new frame
    (another shape and origin), the axes move to it, and a zoom on the previous frame is forgotten."""
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "calexp", "tract": "3828", "patch": "3,3"})
    plot = _plot(explorer)
    extent, figure = explorer.image.extent, plot.state
    calexp = st.exposure().info
    explorer.image.center_on(calexp.xy0[0] + 100.0, calexp.xy0[1] + 100.0, half_width=50)
    explorer.image._remember_zoom(x_range=(figure.x_range.start, figure.x_range.end),
                                  y_range=(figure.y_range.start, figure.y_range.end))
    assert st.zoom is not None
    shapes = {tuple(calexp.shape)}
    for kind in ("coadd", "calexp"):
        st.image_kind = kind
        info = st.exposure().info
        shapes.add(tuple(info.shape))
        assert explorer.image.extent == extent and explorer.image.figure is figure  # not rebuilt
        image = plot.subplots[("RGB", "Image")].handles["source"].data
        assert image["x"][0] == pytest.approx(info.xy0[0] - 0.5)
        assert image["w"][0] == pytest.approx(info.shape[1]) and image["h"][0] == pytest.approx(info.shape[0])
        assert (figure.x_range.start, figure.x_range.end) == pytest.approx((info.xy0[0] - 0.5,
                                                                            info.xy0[0] + info.shape[1] - 0.5))
        assert (figure.y_range.start, figure.y_range.end) == pytest.approx((info.xy0[1] - 0.5,
                                                                            info.xy0[1] + info.shape[0] - 0.5))
        assert st.zoom is None  # the whole new frame
        xs = np.asarray(plot.subplots[("Points", "Sources")].handles["source"].data["x"])
        if len(xs):  # the new frame's sources, not a cut of the previous frame's view
            assert xs.min() >= info.xy0[0] - 1 and xs.max() <= info.xy0[0] + info.shape[1]
    assert len(shapes) == 2  # (the switch changed the frame's shape, not only its origin)


def test_a_second_session_asks_the_registry_nothing_for_its_summary(sample_gen3, monkeypatch):
    """The bands that have images are asked once per shared index, not once per session."""
    from explorer.app import Explorer
    from explorer.shared import forget_repositories

    forget_repositories()
    first = Explorer(str(sample_gen3))
    text = first.summary._build()[0].object
    assert "bands with images" in text
    asked = []
    repo = first.state.index.repo
    real = repo.has_datasets
    monkeypatch.setattr(repo, "has_datasets", lambda *a, **k: asked.append(a) or real(*a, **k))
    second = Explorer(str(sample_gen3))
    assert second.state.index is first.state.index  # (the shared index)
    assert second.summary._build()[0].object == text
    assert asked == []
    forget_repositories()
