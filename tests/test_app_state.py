"""The explorer's state object, without a browser, on the generated DC2-like sample repository.

Truth comes from the sample's own manifest (``sample_manifest.json``), never from the code under
test.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.app import ExplorerState, forget_repositories, get_repository
from explorer.repo.errors import PathNotAllowedError


@pytest.fixture(scope="module")
def manifest(sample_gen3):
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


@pytest.fixture
def state(sample_gen3):
    return ExplorerState(repo=str(sample_gen3))


def test_selectors_offer_only_values_the_repository_has(state, manifest):
    bands = {b for c in manifest["coadds"] for b in c["bands"]} | {c["band"] for c in manifest["calexps"]}
    assert set(state.param.band.objects) == bands
    assert state.param.band.objects == [b for b in "ugrizy" if b in bands]  # wavelength order
    assert state.param.tract.objects == sorted({c["tract"] for c in manifest["coadds"]})
    for tract in state.param.tract.objects:
        state.tract = tract
        expected = sorted({c["patch_name"] for c in manifest["coadds"] if c["tract"] == tract},
                          key=lambda n: (int(n.split(",")[1]), int(n.split(",")[0])))
        assert state.param.patch.objects == expected
        assert state.patch in expected


def test_detectors_are_those_of_the_chosen_visit(state, manifest):
    state.image_kind = "calexp"
    for visit in state.param.visit.objects:
        state.visit = visit
        expected = sorted(c["detector"] for c in manifest["calexps"] if c["visit"] == visit)
        assert state.param.detector.objects == expected


def test_visits_overlap_the_chosen_patch(state, manifest, sample_gen3):
    """Checked against the DC2 skymap's own patch polygon and each calexp's WCS read with astropy."""
    from astropy.io import fits
    from astropy.wcs import WCS

    from explorer.sky import dc2_skymap
    from explorer.sky.predicates import overlaps

    state.tract, state.patch = 3828, "3,3"
    patch_poly = dc2_skymap().tract(3828).patch("3,3").outer_vertices_deg
    overlapping = set()
    for c in manifest["calexps"]:
        if not c["on_disk"]:
            continue
        with fits.open(sample_gen3 / manifest["paths"]["calexp"][
                f"detector={c['detector']},instrument={manifest['instrument']},visit={c['visit']}"]) as hdus:
            wcs = WCS(hdus[1].header)
            ny, nx = hdus[1].data.shape
        corners = np.array(wcs.all_pix2world([[-0.5, -0.5], [nx - 0.5, -0.5], [nx - 0.5, ny - 0.5],
                                              [-0.5, ny - 0.5]], 0))
        if overlaps(corners, patch_poly):
            overlapping.add((c["visit"], c["band"]))
    for band in state.param.band.objects:
        state.band = band
        expected = sorted({v for v, b in overlapping if b == band})
        if expected:
            assert state.param.visit.objects == expected, band
            assert "overlapping tract 3828 patch 3,3" in state.visit_note


def test_tract_change_updates_patches_image_and_catalog(state):
    state.param.update(image_kind="coadd", band="r")
    state.tract = 3828
    before = (state.exposure_ref, state.catalog_ref, state.param.patch.objects)
    state.tract = 3829
    assert state.param.patch.objects == ["6,3"] and state.patch == "6,3"
    assert state.exposure_ref != before[0] and state.exposure_ref[1]["tract"] == 3829
    assert state.catalog_ref is not None and state.catalog_ref[1]["tract"] == 3829
    assert state.param.patch.objects != before[2]


def test_changes_recompute_only_what_depends_on_them(state):
    events: list[str] = []
    state.param.watch(lambda *es: events.extend(e.name for e in es), ["exposure_ref", "catalog_ref"])
    state.stretch = "asinh"
    state.mask_planes = ["BAD"]
    state.column = state.param.column.objects[-1]
    state.log_y = True
    assert events == []  # display and histogram choices leave the data selection alone
    state.patch = [p for p in state.param.patch.objects if p != state.patch][0]
    assert set(events) == {"exposure_ref", "catalog_ref"}


def test_view_dependencies_are_fine_grained(state):
    from explorer.app import Explorer

    explorer = Explorer(state=state)

    def deps(panel):
        return {d.name for d in panel.param.method_dependencies("view")}

    # the image plot is rebuilt only when the frame geometry changes; everything else redraws it in place
    assert deps(explorer.image) == {"extent"}
    assert deps(explorer.summary) == {"repo_root", "collection"}
    assert deps(explorer.skymap) == {"repo_root", "collection"}
    # title, caption and info tables are updated in place (no new Bokeh models per selection)
    title, caption, info = explorer.image.title_pane, explorer.histogram.caption, explorer.info.update()
    text, cap = title.object, caption.object
    state.patch = [p for p in state.param.patch.objects if p != state.patch][0]
    assert explorer.image.title_pane is title and explorer.histogram.caption is caption
    assert explorer.info.update() is info
    assert title.object != text and caption.object != cap


def test_same_shaped_exposures_redraw_the_image_plot_in_place(sample_gen3):
    """Switching to an exposure of the same shape keeps the plot; so does another shape (a coadd
    after a calexp: tests/test_session_open.py checks what the kept plot then shows)."""
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "calexp", "tract": "3828", "patch": "3,3"})
    explorer.image.view()
    extent = explorer.image.extent
    rebuilt = []
    explorer.image.param.watch(lambda e: rebuilt.append(e.new), ["extent"])
    others = [v for v in st.param.visit.objects if v != st.visit]
    shape = st.exposure().info.shape
    switched = 0
    for visit in others:
        before = st.exposure_ref
        st.visit = visit
        if st.exposure() is not None and st.exposure().info.shape == shape and st.exposure_ref != before:
            switched += 1
            assert explorer.image.extent == extent  # same shape: redrawn in place, no rebuild
    assert switched
    st.image_kind = "coadd"
    assert st.exposure().info.shape != shape
    assert explorer.image.extent == extent and not rebuilt  # another frame geometry: redrawn in place


def test_render_image_is_screen_sized(state, manifest):
    state.image_kind = "calexp"
    frame = state.render_image(width=800, height=800)
    ny, nx = manifest["calexp_box"][1], manifest["calexp_box"][0]
    assert frame.shape == (min(800, ny), min(800, nx))
    assert frame.nbytes <= 4 * 1024**2
    x0, y0 = (c for c in state.exposure().info.xy0)
    assert frame.x_range == (x0 - 0.5, x0 + nx - 0.5)
    # switching calexps the way the widgets do: each switch gives a screen-sized frame of the new one
    # (its speed is bench/run.py's image_switch_ms, not asserted here)
    others = [(v, d) for v in state.param.visit.objects for d in state.index.detectors(v)
              if state.index.calexp_id(v, d) and (v, d) != (state.visit, state.detector)]
    assert others
    for visit, detector in others[:4]:
        state.param.update(visit=visit)
        state.detector = detector if detector in state.param.detector.objects else state.detector
        frame = state.render_image(800, 800)
        assert frame.nbytes <= 4 * 1024**2
        assert state.exposure_ref[1]["visit"] == visit


def test_render_follows_plane_stretch_and_masks(state):
    base = state.render_image(200, 200)
    state.stretch = "log"
    assert not np.array_equal(base.rgba, state.render_image(200, 200).rgba)
    state.plane = "variance"
    var = state.render_image(200, 200)
    assert var.plane == "variance" and not np.array_equal(var.values, base.values)
    state.plane = "image"
    state.mask_planes = []
    plain = state.render_image(200, 200)
    state.mask_planes = list(state.param.mask_planes.objects)
    assert not np.array_equal(plain.rgba, state.render_image(200, 200).rgba)


def test_url_query_round_trip(sample_gen3, state):
    state.param.update(image_kind="calexp")
    state.param.update(band="r")
    state.stretch = "asinh"
    state.column = state.param.column.objects[0]
    query = state.to_query()
    fresh = ExplorerState(repo=str(sample_gen3))
    assert fresh.apply_query(query) == []
    for name in ("image_kind", "band", "tract", "patch", "visit", "detector", "stretch", "catalog", "column"):
        assert getattr(fresh, name) == getattr(state, name), name
    assert fresh.exposure_ref == state.exposure_ref


def test_link_to_another_tract_and_patch(sample_gen3):
    fresh = ExplorerState(repo=str(sample_gen3))
    assert fresh.apply_query({"tract": "3829", "patch": "6,3", "band": "i"}) == []
    assert (fresh.tract, fresh.patch, fresh.band) == (3829, "6,3", "i")
    assert fresh.exposure_ref[1]["tract"] == 3829


def test_stale_link_keeps_a_working_page(sample_gen3):
    fresh = ExplorerState(repo=str(sample_gen3))
    problems = fresh.apply_query({"tract": "99999", "band": "q", "stretch": "sqrt", "column": "nope"})
    assert len(problems) == 4
    assert all(p in fresh.error for p in problems)  # one report naming every stale value
    assert "tract '99999' is not available" in problems[1] or any("99999" in p for p in problems)
    assert fresh.tract in fresh.param.tract.objects and fresh.render_image(100, 100) is not None


def test_bad_repository_path_reports_and_keeps_the_open_one(state, tmp_path):
    root = state.repo_root
    assert not state.open(str(tmp_path / "does-not-exist"))
    assert "no such directory" in state.error
    assert state.repo_root == root and state.repo_path == root
    assert state.render_image(100, 100) is not None
    count = state.error_count
    state.repo_path = str(tmp_path)  # a directory that is no repository, typed in the box
    assert state.error_count == count + 1 and "not a data repository" in state.error
    # typed: it stays in the box to be corrected; the open repository (and links to it) stay
    assert state.repo_path == str(tmp_path) and state.repo_root == root
    assert state.to_query()["repo"] == root


def test_missing_calexp_says_not_on_disk(state, manifest):
    missing = manifest["missing"]["data_id"]
    band = next(c["band"] for c in manifest["calexps"] if c["visit"] == missing["visit"])
    assert state.apply_query({"kind": "calexp", "band": band, "visit": str(missing["visit"]),
                              "detector": str(missing["detector"])}) == []
    assert (state.visit, state.detector) == (missing["visit"], missing["detector"])
    assert "not on disk" in state.error
    assert state.exposure() is None and state.render_image() is None


def test_confined_state_refuses_escapes(sample_gen3):
    confined = ExplorerState(repo_roots=[str(sample_gen3.parent)])
    assert confined.open(sample_gen3.name)  # relative to the root
    assert confined.repo_path == sample_gen3.name
    assert not confined.open("../../etc")
    assert "'..'" in confined.error
    assert not confined.open("/etc")
    assert "outside the allowed directories" in confined.error
    with pytest.raises(PathNotAllowedError):
        from explorer.paths import resolve_repo_path

        resolve_repo_path("/", [str(sample_gen3.parent)])


def test_pixel_readout_uses_parent_coordinates(state):
    from explorer.views.info import pixel_readout

    state.image_kind = "calexp"
    exposure = state.exposure()
    info = exposure.info
    x0, y0 = info.xy0
    x, y = x0 + 37, y0 + 11
    out = pixel_readout(exposure, x, y)
    assert out["value"] == pytest.approx(float(exposure.image[11, 37]))
    assert out["mask_planes"] == info.decode_mask(int(exposure.mask[11, 37]))
    ra, dec = info.wcs.all_pix2world(37.0, 11.0, 0)  # FITS WCS in local array pixels
    assert (out["ra"], out["dec"]) == (pytest.approx(float(ra) % 360), pytest.approx(float(dec)))
    assert pixel_readout(exposure, x0 - 3, y0) is None


def test_sources_sit_on_the_image(state):
    for kind in ("calexp", "coadd"):
        state.image_kind = kind
        exposure = state.exposure()
        src = state.source_positions()
        assert src is not None and len(src) > 10
        (x0, y0), (ny, nx) = exposure.info.xy0, exposure.info.shape
        inside = src[(src.x >= x0) & (src.x < x0 + nx) & (src.y >= y0) & (src.y < y0 + ny)]
        assert len(inside) >= 0.9 * len(src), kind
        ix = np.round(inside.x.to_numpy()).astype(int) - x0
        iy = np.round(inside.y.to_numpy()).astype(int) - y0
        img = exposure.image
        sky = np.nanmedian(img)
        sigma = 1.4826 * np.nanmedian(np.abs(img - sky))
        # the catalog's centroids are on peaks: well above the sky
        assert np.nanmedian(img[iy, ix]) > sky + 3 * sigma, kind


def test_histogram_of_the_default_kron_flux(state, manifest):
    hist = state.histogram()
    assert "KronFlux" in state.column or "kronFlux" in state.column
    total = manifest["rows"]["deepCoadd_forced_src"][f"{state.tract},{state.exposure_ref[1]['patch']},{state.band}"]
    assert hist.rows == total and 0 < hist.used <= total
    state.exclude_flags = [state.param.exclude_flags.objects[0]]
    assert state.histogram().rows <= total


def test_summary_inventory_counts_the_missing_file(state, manifest):
    from explorer.views.summary import dataset_table, repository_table

    inv = state.inventory()
    table = dataset_table(inv).set_index("dataset type")
    assert int(table.loc["calexp", "missing"]) == 1
    assert int(table.loc["calexp", "count"]) == manifest["datasets"]["calexp"]
    rows = dict(repository_table(inv).values)
    assert rows["Visits"] == str(len(manifest["visits"]))


def test_repository_objects_are_shared(sample_gen3):
    a = get_repository(str(sample_gen3))
    b = get_repository(str(sample_gen3) + "/")
    assert a is b
    s1, s2 = ExplorerState(repo=str(sample_gen3)), ExplorerState(repo=str(sample_gen3))
    assert s1.repo is s2.repo and s1.index is s2.index


def test_explorer_page_builds_without_a_browser(sample_gen3):
    """Every view renders to Bokeh models (what a browser session would receive)."""
    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    root = explorer.__panel__().get_root()
    assert root is not None
    explorer.state.tract = 3829
    explorer.state.image_kind = "calexp"
    assert explorer.state.error == "" or "not on disk" in explorer.state.error


def test_every_figure_of_the_page_is_drawn_on_a_2d_canvas(sample_gen3):
    """HoloViews asks Bokeh for WebGL by default; each repaint then copies the WebGL canvas (about
    40 ms a click without a GPU). The page's figures, the tools' included, are 2D canvas ones, and
    the global renderer is left as it was for the user's own plots."""
    import holoviews as hv
    from bokeh.document import Document
    from bokeh.models import Plot

    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3)).open_tools()
    explorer.state.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    doc.add_root(explorer.__panel__().get_root(doc))
    backends = [m.output_backend for m in doc.models if isinstance(m, Plot)]
    assert len(backends) >= 5 and set(backends) == {"canvas"}
    assert hv.renderer("bokeh").webgl


def test_holoviews_constant_parameters_change_one_thread_at_a_time():
    """HoloViews writes a constant parameter by making the class's constant flags writable and
    then restoring them; two sessions' threads interleaved so that one restored "constant" while
    the other was about to write ("Constant parameter 'callback' cannot be modified" under load).
    Here thread B is inside such a block when thread A starts one: A must wait until B is done,
    and then its write succeeds."""
    import threading

    import holoviews as hv
    from holoviews.core import util

    from explorer.app.figures import canvas_renderer

    canvas_renderer()  # (the page's figures are made with it: from then on the blocks take turns)
    a, b = hv.DynamicMap(lambda: hv.Curve([1, 2])), hv.DynamicMap(lambda: hv.Curve([2, 1]))
    b_inside, b_may_leave, a_inside, a_may_write = (threading.Event() for _ in range(4))
    failures: list[BaseException] = []

    def thread_b() -> None:
        with util.disable_constant(b):
            b_inside.set()
            b_may_leave.wait(10)

    def thread_a() -> None:
        b_inside.wait(10)
        try:
            with util.disable_constant(a):
                a_inside.set()
                a_may_write.wait(10)
                a.callback = a.callback.clone()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=thread_b), threading.Thread(target=thread_a)]
    for t in threads:
        t.start()
    b_inside.wait(10)
    assert not a_inside.wait(0.3), "thread A wrote constants while thread B had them writable"
    b_may_leave.set()
    threads[0].join(10)
    a_may_write.set()
    threads[1].join(10)
    assert a_inside.is_set() and not failures, failures
    assert hv.DynamicMap.param["callback"].constant  # constant again once both are done


def test_clicks_and_choices_are_acted_on_at_once_and_drags_are_gathered(sample_gen3):
    """Panel waits 50 ms after a change from the browser to gather a burst (a slider dragged); a
    click, a choice or a tick is one change and is acted on at once. Mask toggles too."""
    import panel as pn

    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    explorer.state.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    controls = explorer.controls
    layout = controls.__panel__()
    discrete = [w for w in layout.select(pn.widgets.Widget)
                if isinstance(w, (pn.widgets.Select, pn.widgets.RadioButtonGroup, pn.widgets.Checkbox,
                                  pn.widgets.CheckBoxGroup))]
    assert len(discrete) >= 20 and controls.mask_group.options
    assert {w._debounce for w in discrete} == {0}, [w for w in discrete if w._debounce]
    assert controls.alpha_slider._debounce == controls.bins_slider._debounce == pn.widgets.FloatSlider._debounce > 0


def teardown_module(_module):
    forget_repositories()


def test_a_new_origin_moves_the_axes_and_keeps_the_sources(sample_gen3):
    """Another patch (same shape, other xy0) redraws the live plot: the axes move to the new frame
    once, and neither the image nor the sources are cut to the previous frame's view."""
    import holoviews as hv

    from explorer.app import Explorer

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    pane = explorer.image.view()
    plot = hv.renderer("bokeh").get_plot(pane.object)
    x0_before, extent = plot.state.x_range.start, explorer.image.extent
    st.patch = "4,3"
    assert explorer.image.extent == extent  # same shape: the live plot is redrawn, not rebuilt
    info = st.exposure().info
    assert plot.state.x_range.start == pytest.approx(info.xy0[0] - 0.5) != x0_before
    assert plot.state.y_range.start == pytest.approx(info.xy0[1] - 0.5)
    # what the browser is sent: the Bokeh sources, set directly by the image panel
    image = plot.subplots[("RGB", "Image")].handles["source"].data
    assert image["x"][0] == pytest.approx(info.xy0[0] - 0.5)  # the whole new frame
    assert image["w"][0] == pytest.approx(info.shape[1])
    xs = np.asarray(plot.subplots[("Points", "Sources")].handles["source"].data["x"])
    assert len(xs) > 0  # the 4,3 sources, not an empty cut of the 3,3 view
    assert xs.min() >= info.xy0[0] - 1


def test_sky_outlines_follow_the_selection_in_place(sample_gen3):
    """The tract, patch and calexp outlines are one line source of the sky figure, set in place
    for each selection; patch and calexp changes do not refresh the sky map's layers."""
    import holoviews as hv
    from bokeh.document import Document

    from explorer.app import Explorer
    from explorer.views.sky import HIGHLIGHT_RENDERER

    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    doc.add_root(explorer.__panel__().get_root(doc))
    renderers = [m for m in doc.models if getattr(m, "name", None) == HIGHLIGHT_RENDERER]
    assert len(renderers) == 1
    source = renderers[0].data_source
    frame, idx = explorer.skymap.frame, st.index

    def ring(vertices):
        return list(frame.ra(vertices[:, 0]) % 360.0), list(vertices[:, 1])

    def shown():
        return {c: (np.array(x) % 360.0, np.array(y)) for c, x, y in
                zip(source.data["color"], source.data["xs"], source.data["ys"])}

    assert set(shown()) == {"#1d3557", "#d00000"}  # tract and patch; no calexp on a coadd
    # no sky layer listens to the patch or the calexp: those redraw only the outline source
    from holoviews.plotting.util import get_nested_streams

    watched = {p for stream in get_nested_streams(explorer.skymap.view().object)
               if isinstance(stream, hv.streams.Params) for p in stream.parameters}
    assert watched and not {p.name for p in watched} & {"patch", "visit", "detector", "calexp_shown"}
    before_patch = shown()["#d00000"]
    st.patch = "4,3"
    after = shown()["#d00000"]
    want_ra, want_dec = ring(idx.patch_regions(3828)["4,3"])
    assert np.allclose(after[0][:-1], want_ra) and np.allclose(after[1][:-1], want_dec)
    assert not np.allclose(after[0], before_patch[0])
    st.image_kind = "calexp"
    visit, detector = explorer.skymap.calexp_shown
    fp = idx.footprints()[(visit, detector)]
    got = shown()["#7b2cbf"]
    assert np.allclose(got[0][:-1], ring(fp)[0]) and np.allclose(got[1][:-1], ring(fp)[1])
    st.tract = 3829
    assert np.allclose(shown()["#1d3557"][0][:-1], ring(idx.tract_regions()[3829])[0])
    # still one renderer, the same source, redrawn in place
    assert [m for m in doc.models if getattr(m, "name", None) == HIGHLIGHT_RENDERER] == renderers
    assert renderers[0].data_source is source


def test_a_missing_file_blanks_the_plot_in_place_and_says_why(sample_gen3, manifest):
    """A calexp registered but not on disk, chosen after another of its shape: the live plot stays
    (blank frame), the title says the file is not on disk, and the next calexp redraws it in place."""
    import holoviews as hv

    from explorer.app import Explorer

    missing = manifest["missing"]["data_id"]
    present = next(c for c in manifest["calexps"] if c["visit"] == missing["visit"]
                   and c["detector"] != missing["detector"])
    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "calexp", "band": present["band"], "visit": str(present["visit"]),
                    "detector": str(present["detector"])})
    assert st.exposure() is not None
    pane, extent = explorer.image.view(), explorer.image.extent
    plot = hv.renderer("bokeh").get_plot(pane.object)
    st.detector = missing["detector"]
    assert st.exposure() is None and "not on disk" in st.error
    assert explorer.image.extent == extent  # not rebuilt
    image = plot.subplots[("RGB", "Image")]
    assert plot.state.title.text == "no image for this selection"
    title = explorer.image.title_pane.object
    assert "not on disk" in title and "image-missing" in title
    st.detector = present["detector"]
    assert st.exposure() is not None and explorer.image.extent == extent
    assert image.current_frame.encoded["ny"][0] > 2  # a rendered (encoded) frame again, in the same plot
    assert plot.state.title.text != "no image for this selection"
    st.detector = missing["detector"]
    st.detector = present["detector"]
    assert image.handles["source"].data["ny"][0] > 2
    assert plot.state.title.text != "no image for this selection"
    assert "image-missing" not in explorer.image.title_pane.object


def test_a_missing_file_first_shows_the_message_pane(sample_gen3, manifest):
    """With no plot yet, a selection without an image shows the reason in the image card."""
    from explorer.app import Explorer

    missing = manifest["missing"]["data_id"]
    band = next(c["band"] for c in manifest["calexps"] if c["visit"] == missing["visit"])
    explorer = Explorer(str(sample_gen3), query={"repo": str(sample_gen3), "kind": "calexp", "band": band,
                                                 "visit": str(missing["visit"]),
                                                 "detector": str(missing["detector"])})
    pane = explorer.image.view()
    assert "image-empty" in pane.object and "not on disk" in pane.object


def test_a_visit_switch_asks_whether_its_files_are_there_in_one_batch(sample_gen3, manifest):
    """The detector list marks absent files (issue 11 item 5): that is one batched question to the
    data layer per visit, not a registry query per detector (189 on LSSTCam, issue 13's switch)."""
    from explorer.state import ExplorerState

    missing = manifest["missing"]["data_id"]
    st = ExplorerState()
    st.open(str(sample_gen3))
    calls = {"locate": 0, "locate_all": 0}
    repo = st.repo
    locate, locate_all = repo.locate, repo.locate_all

    def counting_locate(dataset_type, *a, **k):
        calls["locate"] += dataset_type == st.index.calexp_type  # (catalogs are located too)
        return locate(dataset_type, *a, **k)

    def counting_locate_all(*a, **k):
        calls["locate_all"] += 1
        return locate_all(*a, **k)

    repo.locate, repo.locate_all = counting_locate, counting_locate_all
    try:
        other = next(c["visit"] for c in manifest["calexps"] if c["visit"] != missing["visit"])
        st.apply_query({"kind": "calexp", "visit": str(other)})
        calls.update(locate=0, locate_all=0)
        st.visit = missing["visit"]
        dets = list(st.param.detector.objects)
        assert len(dets) > 1 and calls["locate_all"] == 1 and calls["locate"] <= 1, calls
        labels = st.param.detector.names or {}
        assert f"{missing['detector']} (not on disk)" in labels  # the absent file still said
        where = {k: v for k, v in missing.items() if k != "detector"}
        found = {int(loc.data_id["detector"]): loc.on_disk for loc in locate_all(st.index.calexp_type, where)}
        assert found[int(missing["detector"])] is False and sum(found.values()) == len(found) - 1
        for d in dets:  # the batch agrees with asking one by one
            one = locate(st.index.calexp_type, {**where, "detector": d})
            assert one.on_disk == found[int(d)] and one.path == next(
                loc.path for loc in locate_all(st.index.calexp_type, where) if int(loc.data_id["detector"]) == int(d))
    finally:
        repo.locate, repo.locate_all = locate, locate_all


def test_mask_toggles_follow_the_exposure_in_one_group(state):
    """A coadd and a calexp have different mask planes: the toggles show the shown exposure's
    planes, in its order, ticked as the state says, each with its colour, and ticking one changes
    the state. They are one checkbox group given new names in place (a row of widgets per plane
    was 66 Bokeh models of each session, and relabelling them most of an image-kind switch)."""
    from explorer.app.controls import Controls
    from explorer.render.colors import hex_color

    controls = Controls(state=state)
    group = controls.mask_group
    seen = {}
    for kind in ("coadd", "calexp", "coadd"):
        state.image_kind = kind
        planes = list(state.param.mask_planes.objects)
        assert planes, kind
        assert controls.mask_group is group and group.visible
        assert group.options == planes
        assert set(group.value) == set(state.mask_planes)
        colors = state.mask_colors()
        assert group.styles == {f"--mask-{k}": hex_color(colors[n]) for k, n in enumerate(planes)}
        seen[kind] = planes
        first = planes[0]
        ticked = first in state.mask_planes
        group.value = [n for n in group.value if n != first] if ticked else [*group.value, first]
        assert (first in state.mask_planes) is (not ticked)
        group.value = [*group.value, first] if ticked else [n for n in group.value if n != first]
        assert (first in state.mask_planes) is ticked
    assert seen["coadd"] != seen["calexp"]  # (the test would not tell relabelling from nothing)
