"""The view layer without a server: rendering, stretches, mask colours, histograms, sky helpers."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.compute import catalog as cat
from explorer.render.colors import AFW_MASK_COLORS, CYCLE, hex_color, mask_plane_colors, rgb
from explorer.render.raster import (compose_rgba, downsample_or, full_range, output_size, render_plane)
from explorer.render.stretch import Limits, apply_stretch, compute_limits, zscale_limits


# ----- colours ------------------------------------------------------------------------------------
def test_afw_display_colours_for_the_standard_planes():
    colors = mask_plane_colors({"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5,
                                "DETECTED_NEGATIVE": 6, "SUSPECT": 7, "NO_DATA": 8})
    # afw's colours where they tell planes apart (INTRP and SUSPECT would repeat SAT's and EDGE's)
    assert {k: colors[k] for k in ("BAD", "SAT", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA")} == {
        "BAD": "red", "SAT": "green", "CR": "magenta", "EDGE": "yellow", "DETECTED": "blue",
        "DETECTED_NEGATIVE": "cyan", "NO_DATA": "orange"}
    assert len(set(colors.values())) == len(colors)
    assert AFW_MASK_COLORS["SATURATED"] == "green" and AFW_MASK_COLORS["INTERPOLATED"] == "green"


def test_no_two_planes_share_a_colour_and_meanings_keep_theirs():
    """Issue 11: CR and INEXACT_PSF were both magenta; SAT, INTRP and NOT_DEBLENDED green; BAD,
    CROSSTALK and SENSOR_EDGE red. Planes named by meaning take afw's colour for it."""
    sample = ["BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "SUSPECT", "NO_DATA",
              "CROSSTALK", "NOT_DEBLENDED", "UNMASKEDNAN", "CLIPPED", "INEXACT_PSF", "REJECTED", "SENSOR_EDGE"]
    colors = mask_plane_colors({n: i for i, n in enumerate(sample)})
    assert len(set(colors.values())) == len(sample)
    assert all(rgb(c) for c in colors.values())  # every colour drawable
    lsst_images = mask_plane_colors({"COSMIC_RAY": 0, "SATURATED": 1, "INTERPOLATED": 2, "BAD": 3})
    assert lsst_images == {"COSMIC_RAY": "magenta", "SATURATED": "green", "INTERPOLATED": "blue", "BAD": "red"}


def test_other_planes_take_colours_no_lower_plane_has():
    colors = mask_plane_colors({"CROSSTALK": 9, "BAD": 0, "CLIPPED": 12, "NOT_DEBLENDED": 10})
    assert colors["BAD"] == "red"
    assert [colors[n] for n in ("CROSSTALK", "NOT_DEBLENDED", "CLIPPED")] == list(CYCLE[1:4])


def test_swatches_are_given_the_colour_the_image_draws():
    """The sidebar said ``green`` to the browser, which CSS draws #008000; the image draws afw's
    green, #00ff00. Swatches are given the drawn colour as hex."""
    from explorer.app.style import swatch

    assert hex_color("green") == "#00ff00" and hex_color("#8a2be2") == "#8a2be2" and hex_color("#f00") == "#ff0000"
    assert "background:#00ff00" in swatch("green")


# ----- stretches ----------------------------------------------------------------------------------
def test_zscale_brackets_the_sky_not_the_stars():
    rng = np.random.default_rng(3)
    sky = rng.normal(1000.0, 10.0, size=(300, 300))
    sky[::17, ::13] = 60000.0  # saturated stars must not set the range
    z1, z2 = zscale_limits(sky.ravel())
    assert 900 < z1 < 1000 < z2 < 1100


def test_stretches_map_to_unit_interval_and_keep_order():
    lim = Limits(z_low=0.0, z_high=10.0, p_low=-1.0, p_high=20.0, top=100.0)
    vals = np.array([-5.0, 0.0, 5.0, 10.0, 50.0, 100.0, 1e6, np.nan], dtype=np.float32)
    for kind in ("zscale", "linear", "asinh", "log"):
        out = apply_stretch(vals, lim, kind)
        finite = out[:-1]
        assert np.all((finite >= 0) & (finite <= 1)), kind
        assert np.all(np.diff(finite) >= 0), kind
        assert np.isnan(out[-1])
    # asinh keeps the zscale range distinguishable while still showing bright structure
    asinh = apply_stretch(np.array([10.0, 50.0, 100.0], np.float32), lim, "asinh")
    assert asinh[0] < asinh[1] < asinh[2] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        apply_stretch(vals, lim, "sqrt-ish")


def test_limits_ignore_excluded_pixels():
    img = np.full((200, 200), 5.0, np.float32) + np.random.default_rng(0).normal(0, 1, (200, 200)).astype(np.float32)
    img[:100] = 1e5  # e.g. NO_DATA or saturated junk
    junk = np.zeros(img.shape, bool)
    junk[:100] = True
    lim = compute_limits(img, exclude=junk)
    assert lim.z_high < 20 and lim.p_high < 20


# ----- rendering ----------------------------------------------------------------------------------
def test_output_never_exceeds_screen_or_visible_pixels():
    assert output_size((0, 4000), (0, 4000), 800, 600) == (800, 600)
    assert output_size((100, 150), (100, 130), 800, 800) == (50, 30)


def test_or_downsample_keeps_every_bit_of_every_cell():
    mask = np.zeros((8, 8), np.int32)
    mask[0, 0] = 1
    mask[1, 1] = 4
    mask[7, 7] = 2
    out = downsample_or(mask, (100, 200), (99.5, 107.5), (199.5, 207.5), 2, 2)
    assert out.tolist() == [[5, 0], [0, 2]]  # rows bottom to top
    assert out.dtype == np.uint8  # the narrowest type holding the bits set (a page keeps its last frame)


@pytest.mark.parametrize("bit,dtype", [(7, np.uint8), (8, np.uint16), (20, np.int32), (31, np.int32)])
def test_or_downsample_holds_the_bits_in_the_narrowest_type_without_losing_one(bit, dtype):
    mask = np.zeros((6, 6), np.int32)
    mask[2, 3] = np.int32(np.uint32(1 << bit).view(np.int32))  # bit 31 is the sign of an int32 mask
    mask[5, 5] = 1
    out = downsample_or(mask, (0, 0), (-0.5, 5.5), (-0.5, 5.5), 3, 3)
    assert out.dtype == dtype
    assert (int(out[1, 1]) & 0xFFFFFFFF) == 1 << bit and out[2, 2] == 1 and np.count_nonzero(out) == 2


def test_render_places_the_frame_at_xy0_and_colours_masks():
    img = np.zeros((40, 60), np.float32)
    img[:, 30:] = 100.0  # right half bright
    mask = np.zeros((40, 60), np.int32)
    mask[0:10, 0:10] = 1  # BAD, lower left
    planes = {"image": img, "mask": mask}
    lim = Limits(0.0, 100.0, 0.0, 100.0, 100.0)
    frame = render_plane(planes, (1000, 2000), "image", lim, "zscale", {"BAD": 0}, ["BAD"], alpha=1.0,
                         width=60, height=40)
    assert frame.x_range == (999.5, 1059.5) and frame.y_range == (1999.5, 2039.5)
    assert frame.rgba.shape == (40, 60, 4) and frame.rgba.dtype == np.uint8
    assert tuple(frame.rgba[2, 2, :3]) == rgb("red")  # BAD drawn opaque red at the lower left
    assert tuple(frame.rgba[20, 50, :3]) == (255, 255, 255)  # bright half is white
    assert tuple(frame.rgba[20, 20, :3]) == (0, 0, 0)  # dark half is black
    # hiding the plane shows the pixels again
    hidden = render_plane(planes, (1000, 2000), "image", lim, "zscale", {"BAD": 0}, [], width=60, height=40)
    assert tuple(hidden.rgba[2, 2, :3]) == (0, 0, 0)


def test_zoomed_render_uses_parent_coordinates():
    img = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    frame = render_plane({"image": img}, (50, 70), "image", Limits(0, 1e4, 0, 1e4, 1e4), "linear", {}, [],
                         x_range=(59.5, 69.5), y_range=(79.5, 89.5), width=800, height=800)
    assert frame.values.shape == (10, 10)  # never more cells than pixels in view
    # cell (0, 0) is parent pixel (60, 80) = array [10, 10]
    assert frame.values[0, 0] == pytest.approx(img[10, 10])


def test_full_16_megapixel_frame_renders_to_screen_size():
    """Speed is measured by bench/run.py (image_switch_ms); here only the shape and payload bound."""
    rng = np.random.default_rng(1)
    img = rng.normal(100, 10, size=(4000, 4072)).astype(np.float32)
    mask = (rng.random((4000, 4072)) < 0.01).astype(np.int32) * 32
    lim = compute_limits(img)
    render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"DETECTED": 5}, ["DETECTED"],
                 width=100, height=100)  # compile
    frame = render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"DETECTED": 5},
                         ["DETECTED"], width=800, height=800)
    assert frame.shape == (800, 800)
    assert frame.nbytes <= 4 * 1024**2  # the payload goal: a 16-Mpix frame never travels whole


def test_mask_plane_view_is_colours_on_black():
    mask = np.zeros((4, 4), np.int32)
    mask[1, 1] = 2
    frame = render_plane({"image": np.zeros((4, 4), np.float32), "mask": mask}, (0, 0), "mask", None,
                         "zscale", {"BAD": 0, "SAT": 1}, [], width=4, height=4)
    assert tuple(frame.rgba[1, 1, :3]) == rgb("green") and tuple(frame.rgba[0, 0, :3]) == (0, 0, 0)


def test_compose_marks_nan_as_no_data():
    level = np.array([[np.nan, 0.5]], np.float32)
    out = compose_rgba(level, None, {}, [])
    assert tuple(out[0, 0, :3]) != tuple(out[0, 1, :3])
    assert out[0, 1, 0] == out[0, 1, 1] == out[0, 1, 2] == 128


def test_full_range_edges_are_half_a_pixel_out():
    assert full_range((10, 20), (5, 7)) == ((4.5, 24.5), (6.5, 16.5))


# ----- histograms ---------------------------------------------------------------------------------
def test_histogram_matches_numpy_and_reports_what_it_left_out():
    rng = np.random.default_rng(2)
    values = rng.lognormal(3, 1, 10_000)
    values[:5] = np.nan
    values[5:8] = -1.0
    h = cat.histogram(values, "flux", bins=30, log=True)
    good = values[np.isfinite(values) & (values > 0)]
    ref, edges = np.histogram(np.log10(good), bins=30)
    assert h.counts.tolist() == ref.tolist()
    assert np.allclose(h.edges, edges)
    assert (h.non_finite, h.non_positive, h.used, h.rows) == (5, 3, good.size, values.size)
    lin = cat.histogram(values, "flux", bins=30, log=False)
    assert lin.used == values.size - 5 and lin.non_positive == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint16])
def test_parallel_histogram_equals_serial_and_numpy(dtype):
    """The all-cores kernels (used for long columns) give the serial kernels' and numpy's counts,
    including what each leaves out: NaN/inf, and values <= 0 on a log axis."""
    rng = np.random.default_rng(5)
    values = (rng.lognormal(4, 2, 300_001) - 3.0).astype(dtype)
    if values.dtype.kind == "f":
        values[::97] = np.nan
        values[::101] = np.inf
    for log in (False, True):
        par = cat.histogram(values, "x", bins=37, log=log, parallel=True)
        ser = cat.histogram(values, "x", bins=37, log=log, parallel=False)
        assert par.counts.tolist() == ser.counts.tolist() and np.array_equal(par.edges, ser.edges)
        assert (par.used, par.non_finite, par.non_positive) == (ser.used, ser.non_finite, ser.non_positive)
        v = values.astype(np.float64)
        good = v[np.isfinite(v) & ((v > 0) if log else True)]
        ref, _ = np.histogram(np.log10(good) if log else good, bins=par.edges)
        assert par.counts.tolist() == ref.tolist()
        assert par.non_positive == (int(np.count_nonzero(np.isfinite(v) & (v <= 0))) if log else 0)


def test_histogram_of_ten_million_rows_counts_every_row():
    """Speed is measured by bench/run.py (histogram_10m_ms); here the counts of a 10M-row column."""
    values = np.random.default_rng(4).normal(size=10_000_000)
    h = cat.histogram(values, bins=100)
    assert h.used == values.size


def test_histogram_refuses_text_columns():
    with pytest.raises(TypeError):
        cat.histogram(np.array(["a", "b"]), "name")


def test_flag_filters_and_default_column():
    import pandas as pd

    df = pd.DataFrame({"flux": [1.0, 2.0, 3.0], "detect_isPrimary": [True, False, True],
                       "flag_edge": [False, False, True]})
    keep = cat.filter_rows(df, require=["detect_isPrimary"], exclude=["flag_edge"])
    assert keep.tolist() == [True, False, False]
    assert cat.default_column(["x", "ext_photometryKron_KronFlux_instFlux", "base_PsfFlux_instFlux"]) == \
        "ext_photometryKron_KronFlux_instFlux"
    assert cat.default_column(["g_psFlux", "i_kronFlux", "r_kronFlux"], band="r") == "r_kronFlux"


def test_centroid_columns_follow_afw_aliases():
    cols = ["base_SdssCentroid_x", "base_SdssCentroid_y", "coord_ra"]
    assert cat.centroid_columns(cols, {"slot_Centroid": "base_SdssCentroid"}) == ("base_SdssCentroid_x",
                                                                                  "base_SdssCentroid_y")
    assert cat.centroid_columns(["coord_ra", "coord_dec"]) is None
    assert cat.sky_columns(["coord_ra", "coord_dec"]) == ("coord_ra", "coord_dec")
    assert cat.to_degrees(np.array([np.pi]), "rad")[0] == pytest.approx(180.0)


# ----- sky helpers --------------------------------------------------------------------------------
def test_ra_unwraps_around_the_reference():
    from explorer.views.sky import unwrap_ra

    assert unwrap_ra([359.0, 1.0], 0.0).tolist() == [-1.0, 1.0]
    assert unwrap_ra([359.0, 1.0], 180.0).tolist() == [359.0, 1.0]


def test_point_in_polygon_and_overlap_on_the_sphere():
    from explorer.sky.predicates import contains, find_containing, overlaps
    from explorer.views.sky import sky_frame

    square = np.array([[10.0, 10.0], [11.0, 10.0], [11.0, 11.0], [10.0, 11.0]])
    assert contains(square, 10.5, 10.5) and not contains(square, 12.0, 10.5)
    across_zero = np.array([[359.5, -0.5], [0.5, -0.5], [0.5, 0.5], [359.5, 0.5]])
    assert contains(across_zero, 0.0, 0.0) and contains(across_zero, 359.9, 0.1)
    assert find_containing({1: square, 2: across_zero}, 0.1, 0.0) == 2
    assert overlaps(square, square + 0.5) and not overlaps(square, across_zero)
    frame = sky_frame([across_zero])
    assert abs(((frame.ra_ref + 180) % 360) - 180) < 1e-6 and frame.aspect == pytest.approx(1.0, abs=1e-3)


def test_sky_elements_put_ra_on_a_left_increasing_axis():
    import holoviews as hv

    from explorer.views import sky

    hv.extension("bokeh", logo=False)
    regions = {3828: np.array([[56.0, -37.0], [58.0, -37.0], [58.0, -35.5], [56.0, -35.5]])}
    frame = sky.sky_frame(regions.values())
    poly = sky.tract_polygons(regions, frame, {3828: {"bands": ["g", "r"], "visits": 4}})
    plot = hv.renderer("bokeh").get_plot(sky.style_axes(poly, frame))
    fig = plot.state
    assert fig.x_range.start > fig.x_range.end  # inverted: RA grows to the left
    assert poly.data[0]["tract"] == 3828 if isinstance(poly.data, list) else True
    assert "tract" in [d.name for d in poly.vdims]


def test_binned_planes_are_block_means_and_ors():
    from explorer.repo.binning import bin_plane, choose_factor

    rng = np.random.default_rng(3)
    img = rng.normal(size=(10, 13)).astype(">f4")  # big-endian, as FITS gives it; a partial edge block
    img[0, 0] = np.nan
    out = bin_plane(img, 4)
    assert out.shape == (3, 4) and out.dtype == np.float32
    native = img.astype(np.float32)
    assert out[0, 0] == pytest.approx(np.nanmean(native[0:4, 0:4]), rel=1e-6)
    assert out[2, 3] == pytest.approx(native[8:10, 12:13].mean(), rel=1e-6)  # partial block: pixels that exist
    assert np.isnan(bin_plane(np.full((4, 4), np.nan, np.float32), 4)[0, 0])
    mask = np.zeros((10, 13), np.int32)
    mask[9, 12] = 1 << 5
    mask[1, 2] = 1 << 0
    bits = bin_plane(mask, 4, is_mask=True)
    assert bits[2, 3] == 1 << 5 and bits[0, 0] == 1 and bits.sum() == (1 << 5) + 1
    assert choose_factor(4072, 4000, 800, 800) == 4 and choose_factor(900, 900, 800, 800) == 1
    assert choose_factor(20000, 20000, 800, 800) == 16


def test_wide_views_render_from_the_binned_level_like_full_resolution():
    """The whole-frame view from the binned copy matches the full-resolution render closely, and
    the mask bits of every cell survive (OR of blocks never loses a bit)."""
    from explorer.repo.binning import bin_plane

    rng = np.random.default_rng(5)
    img = rng.normal(100, 10, size=(1000, 1200)).astype(np.float32)
    img[200:260, 300:360] += 500  # a bright square
    mask = np.zeros(img.shape, np.int32)
    mask[503, 777] = 1 << 3  # one pixel of one plane
    planes = {"image": img, "mask": mask}
    lim = compute_limits(img)
    calls = []

    def binned(name, factor):
        calls.append((name, factor))
        return bin_plane(planes[name], factor, is_mask=(name == "mask"))

    full = render_plane(planes, (10, 20), "image", lim, "linear", {"CR": 3}, ["CR"], width=250, height=200)
    fast = render_plane(planes, (10, 20), "image", lim, "linear", {"CR": 3}, ["CR"], width=250, height=200,
                        binned=binned)
    assert ("image", 4) in calls and ("mask", 4) in calls
    assert fast.shape == full.shape and fast.x_range == full.x_range and fast.y_range == full.y_range
    # cell means agree within the noise of a cell's ~23 pixels (sigma 10 / sqrt(23) ~ 2)
    assert np.nanmedian(np.abs(fast.values - full.values)) < 2.0
    assert abs(float(np.nanmean(fast.values)) - float(np.nanmean(full.values))) < 0.1
    inside = full.values > 550  # the bright square's cells: bright in both
    assert inside.sum() > 100 and np.all(fast.values[inside] > 400)
    # no bit is lost; a block straddling a cell edge may also light the neighbouring cell
    set_full, set_fast = np.argwhere(full.mask_bits), np.argwhere(fast.mask_bits)
    assert len(set_full) == 1 and set_full.tolist()[0] in set_fast.tolist()
    assert np.abs(set_fast - set_full[0]).max() <= 1
    zoom = render_plane(planes, (10, 20), "image", lim, "linear", {}, [], x_range=(300.0, 400.0),
                        y_range=(300.0, 400.0), width=250, height=200, binned=binned)
    assert len(calls) == 2 and zoom.shape == (100, 100)  # a zoomed view uses full resolution


def test_default_column_prefers_a_measurement_to_an_identifier():
    assert cat.default_column(["id", "parent", "coord_ra", "coord_dec"]) == "coord_ra"
    assert cat.default_column(["objectId", "g_kronFlux"], "g") == "g_kronFlux"
    assert cat.default_column(["id"]) == "id"


def test_empty_image_title_keeps_braces():
    """A message naming a data ID ({instrument: ...}) is shown as written, not str.format-ted."""
    import holoviews as hv

    from explorer.views.image import empty_image

    hv.extension("bokeh")
    plot = hv.renderer("bokeh").get_plot(empty_image("calexp {instrument: 'X', detector: 1} missing"))
    assert plot.state.title.text == "calexp {instrument: 'X', detector: 1} missing"
