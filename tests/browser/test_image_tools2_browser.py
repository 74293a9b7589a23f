"""The image tools of issue 16 (second half) in a real Chromium: FITS cutout and PNG downloads,
the RGB composite, DS9 regions imported onto and exported from the image.

The server, browser and page opener are the fixtures of ``conftest.py`` (the explorer served on
the ``sample_gen3`` repository). Screenshots go to ``<repo>/test-artifacts/browser/``.
"""
from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest
from pagekit import ARTIFACTS, JS_PLOT_IMAGE, JS_PLOT_LINES, Page  # noqa: F401

pytestmark = pytest.mark.browser

IMAGE_X = "x (parent pixels)"
RGB_X = "x (parent pixels) [rgb]"

def _exposure(repo, tract=3828, patch="3,3", band="g"):
    """The coadd the page shows first, read by the explorer's own reader (the source of truth)."""
    from explorer.state import ExplorerState

    st = ExplorerState(str(repo))
    st.param.update(tract=tract, patch=patch, band=band)
    return st.exposure()


def _download(p: Page, selector: str) -> bytes:
    with p.page.expect_download(timeout=120_000) as info:
        p.page.locator(f"{selector} button").first.click()
    path = info.value.path()
    with open(path, "rb") as fh:
        return fh.read()


def _view_box(g, info):
    """The pixels a view of parent-pixel edges shows (explorer.repo.cutout.view_box's rule)."""
    (iy, ix), (x0, y0) = info.shape, info.xy0
    i0, i1 = math.floor(min(g["x0"], g["x1"]) - 0.5) + 1, math.ceil(max(g["x0"], g["x1"]) + 0.5) - 1
    j0, j1 = math.floor(min(g["y0"], g["y1"]) - 0.5) + 1, math.ceil(max(g["y0"], g["y1"]) + 0.5) - 1
    i0, j0, i1, j1 = max(i0, x0), max(j0, y0), min(i1, x0 + ix - 1), min(j1, y0 + iy - 1)
    return i0, j0, i1 - i0 + 1, j1 - j0 + 1


def test_fits_cutout_of_the_view_and_of_a_centre_and_the_png(open_page, server):  # noqa: F811
    from astropy.io import fits
    from astropy.wcs import WCS
    from PIL import Image

    exposure = _exposure(server["repo"])
    info = exposure.info
    p = open_page()
    p.open_card("export")
    # zoom in on the image (wheel over its centre) and let the view reach the server
    g0 = p.plot(IMAGE_X)
    p.page.mouse.move(g0["left"] + g0["width"] * 0.4, g0["top"] + g0["height"] * 0.6)
    p.page.mouse.wheel(0, -600)
    def zoomed():
        g = p.plot(IMAGE_X)
        return g if g and (g["x1"] - g["x0"]) < 0.8 * (g0["x1"] - g0["x0"]) else None

    p.wait_for(zoomed, "the image to zoom in")
    p.page.wait_for_timeout(3000)
    g = p.plot(IMAGE_X)
    p.page.locator(".export-fits-view").first.scroll_into_view_if_needed()
    x0, y0, nx, ny = _view_box(g, info)
    assert nx < info.shape[1] and ny < info.shape[0]

    data = _download(p, ".export-fits-view")
    with fits.open(io.BytesIO(data)) as hdul:
        img = hdul["IMAGE"].data
        hdr = hdul["IMAGE"].header
        assert img.shape == (ny, nx)
        assert hdul["MASK"].data.shape == (ny, nx) and hdul["VARIANCE"].data.shape == (ny, nx)
        assert any(k.startswith("MP_") for k in hdul["MASK"].header)
        ix0, iy0 = info.xy0
        np.testing.assert_array_equal(img, exposure.image[y0 - iy0:y0 - iy0 + ny, x0 - ix0:x0 - ix0 + nx])
        assert (-hdr["LTV1"], -hdr["LTV2"]) == (x0, y0)
        # the cutout's WCS maps its centre where the source maps the view's centre
        cx, cy = 0.5 * (g["x0"] + g["x1"]), 0.5 * (g["y0"] + g["y1"])
        ra, dec = WCS(hdr).all_pix2world([[cx - x0, cy - y0]], 0)[0]
        want_ra, want_dec = (float(v) for v in info.pixel_to_sky(cx, cy))
        sep = math.hypot((ra - want_ra) * math.cos(math.radians(want_dec)), dec - want_dec) * 3600
        assert sep < 0.01, sep

    # a centre and a size: 21 x 21 pixels around the sky position of a chosen pixel
    px, py = info.xy0[0] + 150, info.xy0[1] + 210
    ra, dec = (float(v) for v in info.pixel_to_sky(px, py))
    for cls, value in ((".export-ra", f"{ra:.8f}"), (".export-dec", f"{dec:.8f}"), (".export-size", "21")):
        box = p.page.locator(f"{cls} input").first
        box.fill(value)
        box.press("Enter")
    p.page.wait_for_timeout(1500)
    data = _download(p, ".export-fits-sky")
    with fits.open(io.BytesIO(data)) as hdul:
        assert hdul["IMAGE"].data.shape == (21, 21)
        assert (-hdul["IMAGE"].header["LTV1"], -hdul["IMAGE"].header["LTV2"]) == (px - 10, py - 10)
        cra, cdec = WCS(hdul["IMAGE"].header).all_pix2world([[10, 10]], 0)[0]
        assert math.hypot((cra - ra) * math.cos(math.radians(dec)), cdec - dec) * 3600 < 0.01

    # the PNG is the frame as displayed: same size and colours as the plot's image
    shown = p.page.evaluate(JS_PLOT_IMAGE, IMAGE_X)
    png = Image.open(io.BytesIO(_download(p, ".export-png")))
    assert png.size == (shown["shape"][1], shown["shape"][0])
    means = np.asarray(png.convert("RGBA"))[..., :3].reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, shown["means"], atol=0.5)
    p.shot("tools2-01-export")
    assert p.errors == []


def test_rgb_composite_draws_three_bands_and_follows_the_band_choice(open_page):  # noqa: F811
    p = open_page()
    p.open_card("rgb")
    p.page.locator(".rgb-plot").first.scroll_into_view_if_needed()
    first = p.wait_for(lambda: p.page.evaluate(JS_PLOT_IMAGE, RGB_X), "the RGB composite", timeout=90)
    assert p.value("w-rgb-red") == "i" and p.value("w-rgb-green") == "r" and p.value("w-rgb-blue") == "g"
    r, gr, b = first["means"]
    assert min(r, gr, b) > 1 and len({round(r), round(gr), round(b)}) == 3  # three distinct channels
    assert first["shape"][0] > 100 and first["shape"][1] > 100
    p.shot("tools2-02-rgb")
    p.page.select_option(".w-rgb-red select", label="g")  # red channel: g instead of i
    def red_changed():
        s = p.page.evaluate(JS_PLOT_IMAGE, RGB_X)
        return s if s and abs(s["means"][0] - r) > 1 else None

    second = p.wait_for(red_changed, "the red channel to change", timeout=90)
    # red and blue now show one band: equal channels
    assert abs(second["means"][0] - second["means"][2]) < 0.5
    p.shot("tools2-03-rgb-red-g")
    assert p.errors == []


JS_DRAWN_BOXES = """
() => {
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (m.name === "drawn-boxes" && m.data_source) return m.data_source.data.x.length;
    }
  }
  return null;
}
"""


def _sep_arcsec(ra1, dec1, ra2, dec2) -> float:
    from astropy.coordinates import SkyCoord

    return float(SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).arcsec)


def test_regions_imported_onto_the_image_and_drawn_ones_exported(open_page, server, tmp_path):  # noqa: F811
    from regions import Regions

    exposure = _exposure(server["repo"])
    info = exposure.info
    px, py = info.xy0[0] + 120.0, info.xy0[1] + 260.0
    ra, dec = (float(v) for v in info.pixel_to_sky(px, py))
    reg = tmp_path / "one.reg"
    reg.write_text(f"# Region file format: DS9\nfk5\ncircle({ra:.8f},{dec:.8f},3\")\n")
    p = open_page()
    p.open_card("regions")
    p.page.locator(".regions-import input[type=file]").first.set_input_files(str(reg))
    lines = p.wait_for(lambda: p.page.evaluate(JS_PLOT_LINES, [IMAGE_X, "#ff3fd2"]), "the imported circle", timeout=90)
    assert len(lines) == 1
    xs, ys = np.asarray(lines[0][0]), np.asarray(lines[0][1])
    # drawn where its sky centre maps on this image, with its sky radius
    assert abs(xs.mean() - px) < 0.5 and abs(ys.mean() - py) < 0.5
    rra, rdec = info.pixel_to_sky(xs, ys)
    seps = [_sep_arcsec(ra, dec, a, d) for a, d in zip(rra, rdec)]
    assert min(seps) > 2.9 and max(seps) < 3.1
    p.shot("tools2-04-regions-imported")

    # draw a box with the box-edit tool (shift + drag) and export it
    p.page.locator('[title^="Draw boxes"]').first.click()
    g = p.plot(IMAGE_X)
    a = (g["left"] + 0.30 * g["width"], g["top"] + 0.30 * g["height"])
    b = (g["left"] + 0.55 * g["width"], g["top"] + 0.45 * g["height"])
    p.page.keyboard.down("Shift")
    p.page.mouse.move(*a)
    p.page.mouse.down()
    p.page.mouse.move(*b, steps=8)
    p.page.mouse.up()
    p.page.keyboard.up("Shift")
    p.wait_for(lambda: p.page.evaluate(JS_DRAWN_BOXES) == 1, "the box to be drawn")
    p.page.wait_for_timeout(2000)

    def data(pt):
        return (g["x0"] + (pt[0] - g["left"]) / g["width"] * (g["x1"] - g["x0"]),
                g["y1"] - (pt[1] - g["top"]) / g["height"] * (g["y1"] - g["y0"]))

    (xa, ya), (xb, yb) = data(a), data(b)
    p.page.locator(".regions-export").first.scroll_into_view_if_needed()
    text = _download(p, ".regions-export").decode()
    p.shot("tools2-05-regions-drawn")
    exported = Regions.parse(text, format="ds9")
    assert len(exported) == 1 and type(exported[0]).__name__ == "RectangleSkyRegion"
    box = exported[0]
    # the sky box lands back on the pixels drawn (parent pixels through the image's WCS)
    cx, cy = (float(v) for v in info.sky_to_pixel(box.center.ra.deg, box.center.dec.deg))
    assert abs(cx - 0.5 * (xa + xb)) < 1.0 and abs(cy - 0.5 * (ya + yb)) < 1.0
    scale = _sep_arcsec(*info.pixel_to_sky(px, py), *info.pixel_to_sky(px + 100, py)) / 100  # arcsec/pixel
    assert abs(box.width.to_value("arcsec") / scale - abs(xb - xa)) < 1.0
    assert abs(box.height.to_value("arcsec") / scale - abs(yb - ya)) < 1.0
    assert p.errors == []


def test_compare_two_bands_with_linked_zoom_and_blink(open_page):  # noqa: F811
    xa, xb = "x (parent pixels) [A]", "x (parent pixels) [B]"
    p = open_page()
    p.open_card("compare")
    p.page.locator(".compare-plot").first.scroll_into_view_if_needed()
    a = p.wait_for(lambda: p.page.evaluate(JS_PLOT_IMAGE, xa), "band A", timeout=90)
    b = p.wait_for(lambda: p.page.evaluate(JS_PLOT_IMAGE, xb), "band B", timeout=90)
    assert (p.value("w-cmp-a"), p.value("w-cmp-b")) == ("g", "r")
    assert a["means"] != b["means"]  # two bands, two images
    # zoom band A: band B follows (linked pan and zoom)
    ga0 = p.plot(xa)
    p.page.mouse.move(ga0["left"] + 0.5 * ga0["width"], ga0["top"] + 0.5 * ga0["height"])
    p.page.mouse.wheel(0, -600)

    def linked():
        ga, gb = p.plot(xa), p.plot(xb)
        narrower = (ga["x1"] - ga["x0"]) < 0.8 * (ga0["x1"] - ga0["x0"])
        same = all(abs(ga[k] - gb[k]) < 1e-6 for k in ("x0", "x1", "y0", "y1"))
        return narrower and same

    p.wait_for(linked, "band B to follow band A's zoom")
    p.shot("tools2-06-compare")
    # blink: the first plot shows band A and band B in turn
    p.page.locator(".w-cmp-blink input[type=checkbox]").first.click()
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline and len(seen) < 2:
        s = p.page.evaluate(JS_PLOT_IMAGE, xa)
        if s:
            seen.add(tuple(round(m, 3) for m in s["means"]))
        p.page.wait_for_timeout(150)
    assert len(seen) >= 2, seen
    p.shot("tools2-07-blink")
    assert p.errors == []
