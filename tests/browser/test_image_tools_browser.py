"""The image tools in a real Chromium: what the colour bar, the RA/Dec grid and compass, Go to and
the PSF panel draw, read back from the page's Bokeh models and checked against the data layer.

The server, browser and page opener are the fixtures of ``conftest.py``.
Screenshots go to ``<repo>/test-artifacts/browser/tools-*.png``.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from pagekit import Page, coadd_data_id

pytestmark = pytest.mark.browser

# every ColumnDataSource of the page whose columns include all of ``wanted``: its data as plain arrays
JS_SOURCES = """
(wanted) => {
  const out = [];
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      if (!m.data || typeof m.data !== 'object') continue;
      const data = m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
      const keys = Object.keys(data);
      if (!wanted.every(k => keys.includes(k))) continue;
      const plain = {};
      for (const k of keys) {
        plain[k] = Array.from(data[k], v => (v && typeof v === 'object' && 'length' in v) ? Array.from(v) : v);
      }
      out.push(plain);
    }
  }
  return out;
}
"""

JS_FIGURE_AXIS = """
(name) => {
  for (const doc of Bokeh.documents) {
    const fig = doc.get_model_by_name(name);
    if (!fig) continue;
    const axis = fig.below[0];
    const over = axis.major_label_overrides instanceof Map ? Object.fromEntries(axis.major_label_overrides)
                                                           : axis.major_label_overrides;
    return {ticks: Array.from(axis.ticker.ticks), labels: over};
  }
  return null;
}
"""

JS_PSF_IMAGE = """
() => {
  for (const doc of Bokeh.documents) {
    const fig = doc.get_model_by_name('explorer-psf');
    if (!fig) continue;
    for (const r of fig.renderers) {
      const data = r.data_source && r.data_source.data;
      if (!data) continue;
      const d = data instanceof Map ? Object.fromEntries(data) : data;
      if (!d.image) continue;
      const img = d.image[0];
      const ny = img.length !== undefined && img[0] && img[0].length !== undefined ? img.length : null;
      let flat, w, h;
      if (ny !== null) { h = img.length; w = img[0].length; flat = [].concat(...img.map(r => Array.from(r))); }
      else {
        flat = Array.from(img);
        const s = img.shape || d._shape;
        h = s ? s[0] : null; w = s ? s[1] : null;
      }
      return {flat: flat, w: w, h: h, x: d.x, y: d.y, dw: d.dw, dh: d.dh, keys: Object.keys(d)};
    }
  }
  return null;
}
"""


def _sources(p: Page, *columns: str) -> list[dict]:
    return p.page.evaluate(JS_SOURCES, list(columns))


def _open_repo(server):
    from explorer.repo import open_repo

    return open_repo(server["repo"])


def _coadd(server, tract, patch_name, band):
    return _open_repo(server).get_exposure("deepCoadd_calexp", coadd_data_id(server["repo"], tract, patch_name, band))


def _title(p: Page) -> re.Match:
    return p.wait_for(lambda: re.search(r"tract (\d+) patch (\d+,\d+) band (\w)", p.text(".image-title")), "a coadd")


# ----- colour bar and limits --------------------------------------------------------------------
def _axis_from(p: Page, tick: str, accept) -> dict | None:
    """The colour bar's axis once the label at ``tick`` is one ``accept`` takes, else None."""
    axis = p.page.evaluate(JS_FIGURE_AXIS, "explorer-colorbar") or {}
    label = axis.get("labels", {}).get(tick)
    return axis if label is not None and accept(label) else None


def test_colour_bar_shows_the_limits_from_the_link_and_the_presets(open_page, server):
    p = open_page("?limits=manual&vmin=-5&vmax=250")
    p.wait_for(lambda: "-5" in p.text(".colorbar-limits") and "250" in p.text(".colorbar-limits"),
               "the manual limits in the colour bar caption")
    axis = p.wait_for(lambda: p.page.evaluate(JS_FIGURE_AXIS, "explorer-colorbar"), "the colour bar")
    assert axis["ticks"][0] == 0 and axis["ticks"][-1] == 1
    assert axis["labels"]["0"] == "-5" and axis["labels"]["1"] == "250"
    inner = [float(axis["labels"][str(t) if str(t) in axis["labels"] else repr(t)]) for t in axis["ticks"][1:-1]]
    assert inner == sorted(inner) and all(-5 < v < 250 for v in inner)
    for t, v in zip(axis["ticks"][1:-1], inner):  # zscale stretch: linear between the limits
        assert t == pytest.approx((v + 5) / 255, abs=0.002)
    canvas = p.page.locator(".image-plot canvas").first
    p.page.wait_for_timeout(800)
    manual = canvas.screenshot()
    p.shot("tools-01-colorbar-manual")
    # a preset: the central 99% of the pixels (the sample's coadd is small: every pixel is sampled)
    m = _title(p)
    exposure = _coadd(server, int(m.group(1)), m.group(2), m.group(3))
    lo, hi = np.nanpercentile(exposure.image.astype(float), [0.5, 99.5])
    p.page.select_option(".w-limits select", label="99%")
    p.wait_for(lambda: "limits=99" in p.page.url and "vmin" not in p.page.url, "the URL to hold the preset")
    p.wait_for(lambda: "99%" in p.text(".colorbar-limits"), "the 99% caption")
    # (the bar's ticker and formatter are changes of their own; wait for them rather than the caption)
    axis = p.wait_for(lambda: _axis_from(p, "0", lambda v: v != "-5"), "the colour bar to leave -5")
    assert float(axis["labels"]["0"]) == pytest.approx(lo, rel=2e-3, abs=0.01)
    assert float(axis["labels"]["1"]) == pytest.approx(hi, rel=2e-3, abs=0.01)
    p.redrawn(".image-plot canvas", manual, "the image drawn with the new limits")
    p.shot("tools-02-colorbar-99")
    # typed limits switch to manual and go into the URL
    box = p.page.locator(".w-vmax input")
    box.fill("40")
    box.press("Enter")
    p.wait_for(lambda: "limits=manual" in p.page.url and "vmax=40" in p.page.url, "the typed limit in the URL")
    p.wait_for(lambda: _axis_from(p, "1", lambda v: v == "40"), "the colour bar to end at 40")
    assert p.errors == []


# ----- RA/Dec grid and compass ------------------------------------------------------------------
def _paths(p: Page) -> list[list[np.ndarray]]:
    """The image layers drawn as plain paths (sources with only ``xs`` and ``ys``, one flat list of
    numbers per path): each a list of (n, 2) arrays of parent-pixel points."""
    out = []
    for s in _sources(p, "xs", "ys"):
        # (the sky map's tract and patch shapes are multi-polygons: lists of lists per shape)
        if set(s) == {"xs", "ys"} and s["xs"] and not any(isinstance(v, list) for v in s["xs"][0]):
            paths = [np.array([(a, b) for a, b in zip(xs, ys) if a is not None and b is not None], float)
                     for xs, ys in zip(s["xs"], s["ys"])]
            out.append([q[np.isfinite(q).all(axis=1)] for q in paths])
    return out


def _grid_labels(p: Page) -> list[dict]:
    """The sources of text labels with some text, except the sky map's (tract ids, patch names)."""
    return [s for s in _sources(p, "x", "y", "text")
            if s["text"] and not all(re.fullmatch(r"\d+(,\d+)?", str(t)) for t in s["text"])]


def test_grid_labels_are_the_wcs_values_at_their_pixels_and_the_compass_points_north(open_page, server):
    from explorer.goto import parse_target

    p = open_page("?grid=1")
    m = _title(p)
    exposure = _coadd(server, int(m.group(1)), m.group(2), m.group(3))
    info = exposure.info
    p.wait_for(lambda: any("h" in t for s in _grid_labels(p) for t in s["text"]), "the grid labels")
    labels = _grid_labels(p)
    layers = p.wait_for(lambda: [ls for ls in _paths(p) if any(len(q) for q in ls)], "the grid lines")
    p.page.wait_for_timeout(800)
    p.shot("tools-03-grid")
    checked = {"ra": 0, "dec": 0}
    texts = []
    for s in labels:
        for x, y, text in zip(s["x"], s["y"], s["text"]):
            texts.append(text)
            ra, dec = (float(v) for v in info.pixel_to_sky(x, y))
            if "h" in text:  # an RA line's label, on its line
                assert parse_target(f"{text} 0d").ra == pytest.approx(ra, abs=2e-6), text
                checked["ra"] += 1
            elif text not in ("N", "E"):
                assert parse_target(f"0h {text}").dec == pytest.approx(dec, abs=2e-6), text
                checked["dec"] += 1
    assert checked["ra"] >= 2 and checked["dec"] >= 2 and {"N", "E"} <= set(texts)
    compass = [ls for ls in layers if len(ls) == 2 and all(len(q) == 2 for q in ls)]
    grid = [ls for ls in layers if ls not in compass]
    assert len(compass) == 1 and len(grid) == 1
    on_ra = on_dec = 0
    for q in grid[0]:  # every drawn line lies on one RA or one Dec, as the exposure's WCS says
        ra, dec = (np.asarray(v, float) for v in info.pixel_to_sky(q[:, 0], q[:, 1]))
        assert len(q) >= 2 and (np.ptp(ra) < 1e-6 or np.ptp(dec) < 1e-6)
        on_ra += np.ptp(ra) < 1e-6
        on_dec += np.ptp(dec) < 1e-6
    assert on_ra >= 2 and on_dec >= 2
    kinds = set()
    for q in compass[0]:
        ra, dec = (np.asarray(v, float) for v in info.pixel_to_sky(q[:, 0], q[:, 1]))
        dra, ddec = (ra[1] - ra[0]) * np.cos(np.radians(dec[0])), dec[1] - dec[0]
        if ddec > 0 and abs(dra) < 0.02 * ddec:
            kinds.add("north")
        elif dra > 0 and abs(ddec) < 0.02 * dra:
            kinds.add("east")
    assert kinds == {"north", "east"}
    # turning it off removes it
    p.page.locator(".w-grid input").first.click()
    p.wait_for(lambda: not _grid_labels(p), "the grid to go")
    assert not any(len(q) for ls in _paths(p) for q in ls)
    assert "grid=1" not in p.page.url
    assert p.errors == []


# ----- go to ------------------------------------------------------------------------------------
def test_go_to_a_position_selects_the_patch_centres_and_marks_it(open_page, server):
    repo = _open_repo(server)
    p = open_page()
    p.open_card("goto")
    m = _title(p)
    far = next(d for d in repo.query_data_ids("objectTable") if d["tract"] != int(m.group(1)))
    obj = repo.get_catalog("objectTable", far, columns=["objectId", "coord_ra", "coord_dec"]).iloc[7]
    ra, dec = float(obj["coord_ra"]), float(obj["coord_dec"])
    from explorer.goto import parse_target
    from explorer.render.graticule import format_dec, format_ra

    box = p.page.locator(".goto-input input")
    text = (f"{format_ra(ra, 0.1).replace('h', ':').replace('m', ':').rstrip('s')} "
            f"{format_dec(dec, 0.1).replace('d', ':').replace('m', ':').rstrip('s')}")  # sexagesimal
    target = parse_target(text)
    assert abs(target.ra - ra) < 1e-3 and abs(target.dec - dec) < 1e-3
    ra, dec = target.ra, target.dec
    box.fill(text)
    box.press("Enter")
    p.wait_for(lambda: f"tract {far['tract']} " in p.text(".image-title"), "the object's tract")
    m = _title(p)
    exposure = _coadd(server, int(m.group(1)), m.group(2), m.group(3))
    x, y = (float(v) for v in exposure.info.sky_to_pixel(ra, dec))
    assert 0 <= x - exposure.info.xy0[0] < exposure.info.shape[1]

    def centred():
        g = p.plot("x (parent pixels)")
        return g and abs((g["x0"] + g["x1"]) / 2 - x) < 3 and abs((g["y0"] + g["y1"]) / 2 - y) < 3

    p.wait_for(centred, "the view to centre on the object")
    p.wait_for(lambda: "goto-error" not in p.page.content() and f"tract {far['tract']}" in p.text(".goto-message"),
               "the go-to message")
    markers = p.wait_for(lambda: [s for s in _sources(p, "x", "y") if len(s["x"]) == 1 and "text" not in s
                                  and "id" not in s and abs(s["x"][0] - x) < 0.01 and abs(s["y"][0] - y) < 0.01],
                         "the marker on the object")
    assert markers
    p.page.wait_for_timeout(800)
    p.shot("tools-04-goto")
    # by id: the same object
    box.fill(str(int(obj["objectId"])))
    box.press("Enter")
    p.wait_for(lambda: f"object {int(obj['objectId'])}" in p.text(".goto-message"), "the id found")
    # nowhere: a clear message, the selection stays
    shown = p.text(".image-title")
    box.fill("10 10")
    box.press("Enter")
    p.wait_for(lambda: "no tract of this repository covers RA 10.00000 Dec 10.00000" in p.text(".goto-message"),
               "the no-coverage message")
    box.fill("not a place")
    box.press("Enter")
    p.wait_for(lambda: "cannot read" in p.text(".goto-message"), "the parse error")
    assert p.text(".image-title") == shown
    p.shot("tools-05-goto-nowhere")
    assert p.errors == []


# ----- PSF --------------------------------------------------------------------------------------
def test_psf_panel_shows_the_model_image_peaked_at_its_centre_and_follows_the_pointer(open_page, server):
    p = open_page()
    p.open_card("psf")
    p.wait_for(lambda: "GaussianPsf" in p.text(".psf-caption"), "the PSF caption")
    img = p.wait_for(lambda: p.page.evaluate(JS_PSF_IMAGE), "the PSF image")
    flat = np.array(img["flat"], float)
    side = int(round(np.sqrt(flat.size)))
    assert side * side == flat.size and side >= 9
    arr = flat.reshape(side, side)
    j, i = np.unravel_index(int(np.argmax(arr)), arr.shape)
    assert (i, j) == (side // 2, side // 2)  # the peak at the centre
    assert arr.sum() == pytest.approx(1.0, rel=1e-3)
    assert arr[side // 2, 0] < 0.05 * arr.max()  # and falls off to the edges
    caption = p.page.locator(".psf-caption").first
    assert caption.get_attribute("data-peak-dx") == "0" and caption.get_attribute("data-peak-dy") == "0"
    m = _title(p)
    exposure = _coadd(server, int(m.group(1)), m.group(2), m.group(3))
    fwhm = float(re.search(r"FWHM ([\d.]+) px", p.text(".psf-caption")).group(1))
    assert fwhm == pytest.approx(exposure.info.psf.sigma_pixels * 2.3548, rel=0.03)
    p.page.wait_for_timeout(500)
    p.shot("tools-06-psf")
    first = p.text(".psf-caption")
    g = p.plot("x (parent pixels)")

    def hover():
        for dx in (0, 4, 8):
            p.page.mouse.move(g["left"] + g["width"] * 0.3 + dx, g["top"] + g["height"] * 0.3 + dx)
        return re.search(r"x (\d+) y (\d+)", p.text(".explorer-readout"))

    readout = p.wait_for(hover, "the pixel readout")
    p.wait_for(lambda: p.text(".psf-caption") != first, "the PSF to follow the pointer")
    where = re.search(r"at x (\d+) y (\d+)", p.text(".psf-caption"))
    assert where and abs(int(where.group(1)) - int(readout.group(1))) <= 16
    assert abs(int(where.group(2)) - int(readout.group(2))) <= 16
    assert p.errors == []
