"""Image tools without a browser (explorer/app/tools, explorer/render/{display_limits,graticule,psf},
explorer/locate.py): limits and the colour bar, the RA/Dec grid and compass, go to, the PSF."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.errors import ExplorerError
from explorer.render.display_limits import colorbar_ticks, nice_values, with_range
from explorer.render.graticule import compass, format_dec, format_ra, graticule
from explorer.render.psf import gaussian_kernel, peak_offset, psf_at
from explorer.render.stretch import Limits, apply_stretch, stretch_range


def _calexp(repo_root, which=0):
    from explorer.repo import open_repo

    manifest = json.loads((repo_root / "sample_manifest.json").read_text())
    c = [c for c in manifest["calexps"] if c["on_disk"]][which]
    return open_repo(repo_root).get_exposure("calexp", {"visit": c["visit"], "detector": c["detector"]}), c


# ----- limits and colour bar --------------------------------------------------------------------
@pytest.mark.parametrize("stretch", ["zscale", "linear", "asinh", "log"])
def test_with_range_moves_the_stretch_ends_and_keeps_its_shape(stretch):
    base = Limits(z_low=10.0, z_high=50.0, p_low=5.0, p_high=80.0, top=500.0)
    lim = with_range(base, stretch, -3.0, 120.0)
    assert stretch_range(lim, stretch) == (-3.0, 120.0)
    level = apply_stretch(np.array([-3.0, 120.0, 1000.0, -50.0]), lim, stretch)
    assert level.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_colorbar_ticks_sit_where_the_stretch_puts_their_values():
    lim = Limits(z_low=0.0, z_high=20.0, p_low=0.0, p_high=100.0, top=1000.0)
    for stretch in ("zscale", "asinh", "log"):
        ticks = colorbar_ticks(lim, stretch)
        assert ticks[0] == (0.0, stretch_range(lim, stretch)[0]) and ticks[-1] == (1.0, stretch_range(lim, stretch)[1])
        assert len(ticks) >= 3
        for pos, value in ticks[1:-1]:
            assert pos == pytest.approx(float(apply_stretch(np.array([value]), lim, stretch)[0]), abs=1e-6)
    assert list(nice_values(0.0, 1.0, 6)) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_limits_choices_render_the_image_and_round_trip_the_url(sample_gen3):
    from explorer.render.limits import percentile_limits, zscale_limits
    from explorer.state import ExplorerState

    st = ExplorerState(repo=str(sample_gen3))
    image = st.exposure().image
    assert st.display_range() is None  # the stretch's own
    st.param.update(limits_choice="manual", vmin=0.0, vmax=100.0)
    frame = st.render_image(120, 120)
    assert frame.value_range == (0.0, 100.0)
    grey = frame.rgba[..., 0].astype(float)
    inside = np.isfinite(frame.values) & (frame.mask_bits == 0 if frame.mask_bits is not None else True)
    want = np.clip(frame.values / 100.0, 0, 1) * 255
    assert np.abs(grey[inside] - want[inside]).max() <= 1.0  # linear zscale stretch between the typed limits
    q = st.to_query()
    assert (q["limits"], q["vmin"], q["vmax"]) == ("manual", "0", "100")
    st.limits_choice = "95"
    assert st.vmin is None and st.vmax is None  # typed limits belong to "manual"
    assert st.display_range() == pytest.approx(percentile_limits(image, 95.0))
    st.param.update(limits_choice="zscale", contrast=0.1)
    assert st.display_range() == pytest.approx(zscale_limits(image, 0.1))
    wide = st.display_range()
    st.contrast = 0.5
    assert st.display_range()[1] - st.display_range()[0] < wide[1] - wide[0]  # more contrast, narrower
    other = ExplorerState(repo=str(sample_gen3))
    other.apply_query(st.to_query())
    assert (other.limits_choice, other.contrast) == ("zscale", 0.5)
    bad = ExplorerState(repo=str(sample_gen3))
    bad.apply_query({"limits": "manual", "vmin": "5", "vmax": "1"})
    assert bad.display_range() is None and bad.render_image(50, 50) is not None  # unusable: the stretch's own


def test_colorbar_panel_draws_the_limits_and_says_what_is_wrong(sample_gen3):
    from explorer.app import Explorer

    page = Explorer(str(sample_gen3))
    bar = page.open_tools("colorbar").colorbar
    page.state.param.update(limits_choice="manual", vmin=-5.0, vmax=250.0)
    fig = bar.bar.object
    labels = fig.xaxis.major_label_overrides
    assert labels[0.0] == "-5" and labels[1.0] == "250"
    assert 'data-low="-5.0" data-high="250.0"' in bar.caption.object
    page.state.param.update(vmin=300.0)
    assert "colorbar-error" in bar.caption.object and "below the high limit" in bar.caption.object


# ----- RA/Dec grid and compass ------------------------------------------------------------------
def test_format_sexagesimal():
    assert format_ra(56.65) == "03h46m36s"
    assert format_dec(-36.45) == "-36d27m00s"
    assert format_ra(359.99999) == "00h00m00s"
    assert format_dec(0.5 / 3600, 0.5) == "+00d00m00.5s"


def test_graticule_lines_and_labels_follow_the_wcs(sample_gen3):
    from explorer.goto import parse_target

    exposure, _c = _calexp(sample_gen3)
    info = exposure.info
    g = graticule(info)
    ras = [line for line in g.lines if line.kind == "ra"]
    decs = [line for line in g.lines if line.kind == "dec"]
    assert 2 <= len(ras) <= 6 and 2 <= len(decs) <= 6
    for line in g.lines:  # every traced point lies on its line's RA or Dec
        ok = np.isfinite(line.x)
        ra, dec = info.pixel_to_sky(line.x[ok], line.y[ok])
        got = np.asarray(ra if line.kind == "ra" else dec, float)
        assert np.abs(got - line.value).max() < 1e-6
    x0, y0 = info.xy0
    for label in g.labels:
        assert x0 - 0.5 <= label.x <= x0 + info.shape[1] - 0.5 and y0 - 0.5 <= label.y <= y0 + info.shape[0] - 0.5
        ra, dec = (float(v) for v in info.pixel_to_sky(label.x, label.y))
        if label.kind == "ra":
            target = parse_target(f"{label.text} 0d")
            assert target.ra == pytest.approx(ra, abs=1e-6)
        else:
            target = parse_target(f"0h {label.text}")
            assert target.dec == pytest.approx(dec, abs=1e-6)
    zoomed = graticule(info, (x0 + 100, x0 + 160), (y0 + 100, y0 + 160))
    assert zoomed.ra_step_deg < g.ra_step_deg  # finer spacing when zoomed in
    assert graticule(info, (-1e6, -9e5), (-1e6, -9e5)).lines == []  # a view off the image


def test_compass_points_north_and_east(sample_gen3):
    exposure, _ = _calexp(sample_gen3)
    info = exposure.info
    arrows = compass(info)
    ra0, dec0 = (float(v) for v in info.pixel_to_sky(arrows.x, arrows.y))
    ra_n, dec_n = (float(v) for v in info.pixel_to_sky(*arrows.north))
    ra_e, dec_e = (float(v) for v in info.pixel_to_sky(*arrows.east))
    assert dec_n > dec0 and abs(ra_n - ra0) * np.cos(np.radians(dec0)) < 0.02 * (dec_n - dec0)
    assert ra_e > ra0 and abs(dec_e - dec0) < 0.02 * (ra_e - ra0) * np.cos(np.radians(dec0))


# ----- go to ------------------------------------------------------------------------------------
def test_go_to_a_position_an_id_and_nowhere(sample_gen3):
    from explorer.app.tools.goto import go_to
    from explorer.state import ExplorerState

    st = ExplorerState(repo=str(sample_gen3))
    ids = st.repo.query_data_ids("objectTable")
    far = next(d for d in ids if d["tract"] != st.tract)
    obj = st.repo.get_catalog("objectTable", far, columns=["objectId", "coord_ra", "coord_dec"]).iloc[3]
    dest, pixel = go_to(st, f"{obj['coord_ra']:.7f} {obj['coord_dec']:.7f}")
    assert st.tract == far["tract"] and dest.tract == far["tract"]
    exposure = st.exposure()
    assert pixel is not None and st.marker == pytest.approx((obj["coord_ra"], obj["coord_dec"]), abs=1e-6)
    ra, dec = exposure.info.pixel_to_sky(*pixel)
    assert float(ra) == pytest.approx(obj["coord_ra"], abs=1e-6)
    assert float(dec) == pytest.approx(obj["coord_dec"], abs=1e-6)
    x0, y0 = exposure.info.xy0
    assert x0 <= pixel[0] < x0 + exposure.info.shape[1] and y0 <= pixel[1] < y0 + exposure.info.shape[0]
    # the same object by its id, from another patch of the tract
    dest2, pixel2 = go_to(st, f"id={int(obj['objectId'])}")
    assert pixel2 == pytest.approx(pixel, abs=1e-3) and "object" in dest2.note
    before = (st.tract, st.patch)
    with pytest.raises(ExplorerError, match="no tract of this repository covers"):
        go_to(st, "10 10")
    with pytest.raises(ExplorerError, match="not found"):
        go_to(st, "123")
    with pytest.raises(ExplorerError, match="outside"):
        go_to(st, "10 95")
    assert (st.tract, st.patch) == before  # a failed go-to changes nothing


def test_go_to_a_calexp_position(sample_gen3):
    from explorer.app.tools.goto import go_to
    from explorer.state import ExplorerState

    exposure, c = _calexp(sample_gen3, 3)
    x, y = c["xy0"][0] + 100, c["xy0"][1] + 200
    ra, dec = (float(v) for v in exposure.info.pixel_to_sky(x, y))
    st = ExplorerState(repo=str(sample_gen3))
    st.image_kind = "calexp"
    text = f"{ra:.7f}, {dec:.7f}"
    _dest, pixel = go_to(st, text)
    shown = st.exposure()
    assert pixel is not None
    back = shown.info.pixel_to_sky(*pixel)
    assert (float(back[0]), float(back[1])) == (pytest.approx(ra, abs=1e-6), pytest.approx(dec, abs=1e-6))
    sx0, sy0 = shown.info.xy0
    assert sx0 <= pixel[0] < sx0 + shown.info.shape[1] and sy0 <= pixel[1] < sy0 + shown.info.shape[0]
    if (st.visit, st.detector) == (c["visit"], c["detector"]):
        assert pixel == pytest.approx((x, y), abs=1e-3)


# ----- PSF --------------------------------------------------------------------------------------
def test_psf_of_an_afw_gaussian_model(sample_gen3):
    exposure, c = _calexp(sample_gen3)
    stamp = psf_at(exposure.info)
    assert stamp.kind == "GaussianPsf" and stamp.array.shape == (17, 17)
    assert peak_offset(stamp.array) == (0, 0) and stamp.array.sum() == pytest.approx(1.0)
    assert stamp.fwhm_pixels == pytest.approx(2.3548 * c["psf_sigma_px"], rel=0.03)
    assert np.allclose(gaussian_kernel(2.0, 9, 9), gaussian_kernel(2.0, 9, 9).T)


def test_psf_panel_shows_the_stamp_at_the_pointer(sample_gen3):
    from explorer.app import Explorer

    page = Explorer(str(sample_gen3))
    psf = page.open_tools("psf").psf
    assert 'data-peak-dx="0" data-peak-dy="0"' in psf.caption.object
    x0, y0 = page.state.exposure().info.xy0
    page.panels["image"].show_pixel(x0 + 70.0, y0 + 130.0)  # the pointer over the image
    assert psf.where == (round((x0 + 70) / 32) * 32, round((y0 + 130) / 32) * 32)
    assert f"x {psf.where[0]:.0f} y {psf.where[1]:.0f}" in psf.caption.object
