"""Issue 11's sky-map friction, browser-free: the colour scales the bars show, the rule that sizes
patch labels, the one hover layer, the note of a tap on a patch without data, and the sky
figure's own models (colour bar, labels) set in place. The page itself is checked in Chromium by
tests/browser/test_sky_friction_browser.py."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.views import sky


def square(ra, dec, size=1.0):
    return np.array([[ra, dec], [ra + size, dec], [ra + size, dec + size], [ra, dec + size]])


def test_tract_colour_scales_name_their_quantity_and_run_light_to_dark():
    stats = {1: {"bands": ["g", "r"], "visits": 4}, 2: {"bands": [], "visits": 0}}
    bands = sky.tract_color_scale(stats, "bands")
    visits = sky.tract_color_scale(stats, "visits")
    assert (bands.label, bands.low, bands.high) == ("bands with coadds", 0.0, 6.0)
    assert (visits.label, visits.low, visits.high) == ("visits overlapping", 0.0, 4.0)
    assert visits.color(0) == visits.palette[0] and visits.color(4) == visits.palette[-1]
    assert visits.color(99) == visits.palette[-1] and visits.color(-1) == visits.palette[0]
    light, dark = (int(c[1:3], 16) for c in (visits.palette[0], visits.palette[-1]))
    assert light > dark  # low values light, high values dark
    assert sky.tract_color_scale({}, "visits").high == 1.0  # never an empty range
    assert sky.coverage_color_scale({"1,1": 12, "2,2": 3}).high == 12.0


def test_tract_polygons_carry_the_colours_of_their_scale():
    import holoviews as hv

    hv.extension("bokeh", logo=False)
    regions = {1: square(10, 0), 2: square(11, 0)}
    stats = {1: {"bands": ["g"], "visits": 5}, 2: {"bands": ["g", "r", "i"], "visits": 0}}
    frame = sky.sky_frame(regions.values())
    poly = sky.tract_polygons(regions, frame, stats, "visits")
    scale = sky.tract_color_scale(stats, "visits")
    assert list(poly.dimension_values("fill", expanded=False)) == [scale.color(5), scale.color(0)]


@pytest.mark.parametrize("px, chars, font", [(40, 3, "8pt"), (25, 3, "8pt"), (24.9, 3, "6pt"), (19.6, 3, "6pt"),
                                              (19.5, 3, None), (5, 3, None), (40, 5, "8pt"), (30, 5, "6pt")])
def test_patch_labels_shrink_then_hide_as_patches_get_small(px, chars, font):
    assert sky.label_font(px, chars) == font


def test_tract_ids_follow_their_own_fonts():
    assert sky.label_font(40, 4, sky.TRACT_LABEL_FONTS) == "9pt"
    assert sky.label_font(30, 4, sky.TRACT_LABEL_FONTS) == "7pt"
    assert sky.label_font(20, 4, sky.TRACT_LABEL_FONTS) is None


def test_patch_height_is_the_median_dec_extent():
    regions = {"0,0": square(0, 0, 0.25), "1,0": square(0.25, 0, 0.25), "2,0": square(0.5, 0, 0.3)}
    assert sky.patch_height_deg(regions) == pytest.approx(0.25)
    assert sky.patch_height_deg({}) == 0.0


def test_the_hover_layer_puts_the_selected_tracts_patches_first_and_names_their_tract():
    import holoviews as hv
    from bokeh.models import HoverTool, TapTool

    from explorer.views import sky_layers

    hv.extension("bokeh", logo=False)
    tracts = {7: square(10, 0, 2), 8: square(12, 0, 2)}
    patches = {"0,0": square(10, 0), "1,0": square(11, 0)}
    frame = sky.sky_frame(tracts.values())
    stats = {7: {"bands": ["g"], "patches": 1, "visits": 3}, 8: {"bands": ["r", "i"], "patches": 2, "visits": 0}}
    cols = sky_layers.hover_columns(tracts, stats, 7, patches, ["1,0"], frame, coverage={"0,0": 4}, with_visits=True)
    rows = list(zip(cols["rank"], cols["title"], cols["detail"]))
    assert [(r, t) for r, t, _d in rows] == [(0, "patch 0,0 of tract 7"), (0, "patch 1,0 of tract 7"), (1, "tract 8")]
    assert rows[0][2] == "no data here · 4 calexps" and rows[1][2] == "has data · 0 calexps"
    assert rows[2][2] == "coadds in r i · 2 patches with data · 0 visits"
    assert len(cols["xs"]) == 3 and np.allclose(sorted(cols["xs"][2]), [12, 12, 14, 14])
    # no patches: the selected tract describes itself
    assert sky_layers.hover_columns(tracts, stats, 7, {}, [], frame)["title"] == ["tract 7", "tract 8"]
    sources = {}
    hook = sky_layers.polygon_layers_hook(lambda name: cols if name == sky_layers.HOVER
                                          else sky_layers.empty_columns(name), sources.__setitem__)
    plot = hv.renderer("bokeh").get_plot(hv.Polygons([]).opts(hooks=[hook]))
    hover = next(r for r in plot.state.renderers if r.name == sky_layers.HOVER)
    tool = next(t for t in plot.state.toolbar.tools if isinstance(t, HoverTool) and t.renderers == [hover])
    assert tool.limit == 1 and tool.sort_by == "rank"  # one entry: the patch before the tract
    assert sources[sky_layers.HOVER] is hover.data_source and hover.data_source.data["title"] == cols["title"]
    names = [r.name for r in plot.state.renderers]
    assert names[-4:] == [layer.name for layer in sky_layers.LAYERS]  # drawn in this order, once
    hook(plot, None)
    assert [r.name for r in plot.state.renderers] == names
    tap = hv.renderer("bokeh").get_plot(hv.Polygons([]).opts(tools=["tap"], hooks=[hook]))
    tract_renderer = tap.handles["glyph_renderer"]
    assert [t.renderers for t in tap.state.select(type=TapTool)] == [[tract_renderer]]  # not our layers


def test_a_tap_on_a_patch_without_data_says_so_and_keeps_the_selection(sample_gen3):
    from explorer.state import ExplorerState

    st = ExplorerState(str(sample_gen3))
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    idx = st.index
    empty = idx.patch_regions(3828)["5,5"]
    st.select_sky(*np.mean(empty, axis=0))
    assert st.sky_note == "patch 5,5 of tract 3828 has no data: the selection is unchanged"
    assert (st.tract, st.patch, st.error) == (3828, "3,3", "")
    st.select_sky(*np.mean(idx.patch_regions(3828)["4,3"], axis=0))
    assert (st.patch, st.sky_note) == ("4,3", "")
    st.select_sky(200.0, 80.0)  # no tract of the repository there
    assert st.sky_note.startswith("no tract with data at RA 200.000, Dec 80.000") and st.patch == "4,3"


def test_the_sky_figure_updates_its_colour_bar_and_labels_in_place(sample_gen3):
    from bokeh.document import Document

    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    doc.add_root(explorer.__panel__().get_root(doc))

    def named(name):
        found = [m for m in doc.models if getattr(m, "name", None) == name]
        assert len(found) == 1, name
        return found[0]

    bar, cover = named(sky.TRACT_COLORBAR), named(sky.COVERAGE_COLORBAR)
    labels, tract_labels = named(sky.PATCH_LABELS_RENDERER), named(sky.TRACT_LABELS_RENDERER)
    assert (bar.title, bar.visible, cover.visible) == ("bands with coadds", True, False)
    st.sky_color = "visits"
    assert (bar.title, bar.color_mapper.high) == ("visits overlapping", 6)
    st.sky_color = "bands"
    assert bar.title == "bands with coadds" and named(sky.TRACT_COLORBAR) is bar
    assert list(labels.data_source.data["text"]) == ["3,3", "4,3"]
    assert set(tract_labels.data_source.data["text"]) == {"3828", "3829", "4025", "4026"}
    source = labels.data_source
    st.tract = 3829
    assert list(labels.data_source.data["text"]) == ["6,3"] and labels.data_source is source
    # the note under the map shows what a tap found, and goes with the next selection
    st.sky_note = "patch 0,0 of tract 3829 has no data: the selection is unchanged"
    assert explorer.skymap.note.visible and "patch 0,0 of tract 3829" in explorer.skymap.note.object
    st.patch = st.param.patch.objects[0]
    st.tract = 3828
    assert not explorer.skymap.note.visible and st.sky_note == ""


def test_a_tract_change_sets_the_sky_layers_in_place(sample_gen3):
    """Four layers follow the tract (patches, coverage, footprints, hover). As HoloViews layers a
    tract change updated the whole overlay (~0.27 s of server CPU); they are now Bokeh sources set
    in place: a tract change updates no HoloViews plot, and the colouring (the tract layer's one
    input) one."""
    import panel as pn
    from bokeh.document import Document

    from explorer.app import Explorer
    from explorer.views import sky_layers

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    layout = explorer.__panel__()
    doc.add_root(layout.get_root(doc))
    pane = next(p for p in layout.select(pn.pane.HoloViews) if "sky-plot" in p.css_classes)
    plot = next(iter(pane._plots.values()))[0]
    updates = []
    update = plot.update
    plot.update = lambda key: (updates.append(key), update(key))[1]

    def source(name):
        found = [m for m in doc.models if getattr(m, "name", None) == name]
        assert len(found) == 1, name
        return found[0].data_source

    patches, hover = source(sky_layers.PATCHES), source(sky_layers.HOVER)
    regions = st.index.patch_regions(3828)
    assert patches.data["patch"] == list(regions)
    have = set(st.index.patches(3828))
    assert [f == sky_layers.PATCH_FILL for f in patches.data["fill"]] == [p in have for p in regions]
    st.tract = 3829
    assert updates == [], f"{len(updates)} updates of the sky figure for one tract change"
    assert source(sky_layers.PATCHES) is patches and patches.data["patch"] == list(st.index.patch_regions(3829))
    assert hover.data["title"][0].endswith("of tract 3829") and "tract 3828" in hover.data["title"]
    st.sky_color = "visits"  # the tract layer's input: one update; the hover's details follow
    assert len(updates) == 1
    assert all(d.endswith(" visits") for d, r in zip(hover.data["detail"], hover.data["rank"]) if r == 1)
    footprints = source(sky_layers.FOOTPRINTS)
    assert footprints.data["visit"] == []
    st.show_footprints = True  # the sample's calexps, each drawn, coloured by band
    assert len(footprints.data["visit"]) == len(st.index.footprints()) > 0
    assert set(footprints.data["band"]) <= set(sky.BAND_COLORS)
    assert footprints.data["color"] == [sky.band_color(b) for b in footprints.data["band"]]
    assert source(sky_layers.COVERAGE).data["patch"] == []  # (a survey's; the sample draws each)
    assert len(updates) == 1


def test_info_tables_show_long_values_whole():
    import pandas as pd

    from explorer.app.info import whole_values

    opts = whole_values(pd.DataFrame([("CD (deg/px)", "-5.5e-05, 0; 0, 5.5e-05")], columns=["keyword", "value"]))
    assert opts["layout"] == "fit_columns"  # no column wider than the table
    assert opts["formatters"] == {"keyword": {"type": "textarea"}, "value": {"type": "textarea"}}  # wrap
