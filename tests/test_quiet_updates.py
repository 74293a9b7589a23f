"""A click changes only what it must (issue 12): a layer over the image that is off (the grid, the
cell grid, no marker, no selection) is not built again for each exposure (it is one empty
element, so a band or patch change asks no layer to redraw); an exposure-information table whose
rows are the same for the new exposure is left as it is."""
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


def test_a_layer_is_built_only_while_shown(registry, sample_gen3):
    from explorer.app import Explorer

    calls = []

    def diagonal(state, x_range, y_range):
        calls.append(state.band)
        return hv.Path([np.array([[0.0, 0.0], [100.0, 100.0]])])

    layer = overlays.register_overlay(overlays.ImageOverlay(
        "a diagonal", ("show_grid",), diagonal, lambda: hv.Path([]), shown=lambda st: st.show_grid))
    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    explorer.image.view()
    hidden = layer.build(st, None, None)
    assert calls == [] and len(hidden) == 0  # off: never built, nothing drawn
    st.band = next(b for b in st.param.band.objects if b != st.band)
    assert calls == [] and layer.build(st, None, None) is hidden  # the same element for every exposure
    st.show_grid = True
    assert len(layer.build(st, None, None)) == 1 and calls[-1] == st.band
    st.show_grid = False
    assert layer.build(st, None, None) is hidden


def test_a_layer_never_shown_is_not_in_the_plot_until_it_is(registry, sample_gen3):
    """The grid's layers, off by default, were about 70 Bokeh models of every session: a layer added when
    shown is put into the plot the first time it has something to show (the plot is built again,
    once), and stays there, empty, when it is switched off again. Other layers are in the plot
    from the start (a marker comes with a move of the view, which a new plot would undo)."""
    from explorer.app import Explorer

    def diagonal(state, x_range, y_range):
        return hv.Path([np.array([[0.0, 0.0], [100.0, 100.0]])])

    overlays.register_overlay(overlays.ImageOverlay(
        "a diagonal", ("show_grid",), diagonal, lambda: hv.Path([]), shown=lambda st: st.show_grid,
        added_when_shown=True))
    overlays.register_overlay(overlays.ImageOverlay(
        "a marker", ("marker",), lambda *_a: hv.Points([(0.0, 0.0)]), lambda: hv.Points([]),
        shown=lambda st: st.marker is not None))
    explorer = Explorer(str(sample_gen3), query={"tract": "3828", "patch": "3,3"})
    st, image = explorer.state, explorer.image

    def renderers():
        figure = hv.renderer("bokeh").get_plot(image.view().object).state
        return [type(r.glyph).__name__ for r in figure.renderers]

    before, drawn = image.extent, renderers()
    assert before[2] == ("a marker",) and "MultiLine" not in drawn  # off since the page opened: not in the plot
    st.show_grid = True
    assert image.extent[2] == ("a diagonal", "a marker") and image.extent[:2] == before[:2]  # built again
    assert sorted(renderers()) == sorted([*drawn, "MultiLine"])
    shown = image.extent
    st.show_grid = False
    st.band = next(b for b in st.param.band.objects if b != st.band)
    assert image.extent == shown  # off again, another band: the same plot, the layer empty in it


def test_the_page_layers_stay_the_same_elements_through_a_band_change(sample_gen3):
    """With every layer off (the page's default), a band or patch change leaves each registered
    layer the element it was: nothing for the image panel to compare or redraw."""
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3), query={"tract": "3828", "patch": "3,3"})
    st = explorer.state
    explorer.image.view()
    shown = {o.name: o.build(st, None, None) for o in overlays.IMAGE_OVERLAYS}
    assert len(shown) >= 8  # grid, grid labels, compass, its letters, cells, missing cells, go-to, ...
    st.band = next(b for b in st.param.band.objects if b != st.band)
    st.patch = "4,3"
    assert {o.name: o.build(st, None, None) for o in overlays.IMAGE_OVERLAYS} == shown
    assert all(o.build(st, None, None) is shown[o.name] for o in overlays.IMAGE_OVERLAYS)


def test_information_tables_that_did_not_change_are_left_alone(sample_gen3):
    """Another band of a patch: same WCS (the patch's), new overview; only the tab shown is set,
    another is made or given the new rows when chosen, and rows that did not change are not set."""
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3), query={"tract": "3828", "patch": "3,3"})
    st, info = explorer.state, explorer.info
    assert list(info.tables) == ["Overview"]  # the tabs not shown have no table yet
    info.tabs.active = 1  # WCS
    assert list(info.tables) == ["Overview", "WCS"] and info.tables["WCS"].value.equals(info.frame("WCS"))
    tables = dict(info.tables)
    before = {name: table.value for name, table in tables.items()}
    overview_before = before["Overview"]
    st.band = next(b for b in st.param.band.objects if b != st.band)
    assert info.tables == tables  # the same widgets
    assert tables["WCS"].value is before["WCS"]  # unchanged rows: not set again
    assert tables["Overview"].value is overview_before  # not shown: left for when it is
    info.tabs.active = 0
    assert tables["Overview"].value is not overview_before  # shown again: the new band's rows
    assert tables["Overview"].value.equals(info.frame("Overview"))
    assert "Metadata" not in info.tables


def test_the_blink_timer_runs_only_while_the_compare_card_is_open(sample_gen3):
    from explorer.app import Explorer

    page = Explorer(str(sample_gen3)).open_tools("compare")
    compare = page.compare
    compare.blink = True
    timer = compare._callback
    assert timer is not None and timer.running
    page.panels["compare"].active = False  # the card closed
    assert not timer.running and compare._callback is None
    page.panels["compare"].active = True  # opened again, still set to blink: it blinks again
    assert compare._callback is not None and compare._callback.running
    compare.blink = False
    assert compare._callback is None
