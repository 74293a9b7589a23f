"""The DP1 and DP2 samples (``make-sample --release dp1|dp2``) in a real browser: the image kinds
named as the repository names them, a picture on the default page, a difference image, the cell
grid of a cell coadd with its missing cell crossed out, and the readout saying when a sky
position is the FITS approximation ("approx.") and what the mask planes mean.

Each release gets its own sample and its own explorer server (tests/serve_helpers.py), one at a
time: the shared ``server`` fixture serves the DC2 sample. Screenshots: test-artifacts/browser/
release-*.png.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from pagekit import ARTIFACTS, Page, chromium, page_opener, require_browser
from serve_helpers import running_server

from explorer.app.tools.cells import GRID_COLOR, MISSING_COLOR

KIND_COLORS = {GRID_COLOR: "cell_grid", MISSING_COLOR: "missing_cell"}

# the lines of the cell layers, found by their colours (HoloViews sends no unused value columns)
JS_KIND_PATHS = """
(colors) => {
  const out = {};
  for (const doc of Bokeh.documents) {
    for (const m of doc.all_models) {
      const g = m.glyph, src = m.data_source;
      if (!g || !src || g.line_color === undefined) continue;
      const c = g.line_color;
      const color = (c && typeof c === 'object' && 'value' in c) ? c.value : c;
      const kind = colors[color];
      if (!kind) continue;
      const d = src.data instanceof Map ? Object.fromEntries(src.data) : src.data;
      if (!d.xs || !d.ys) continue;
      for (let i = 0; i < d.xs.length; i++) {
        const xs = Array.from(d.xs[i]), ys = Array.from(d.ys[i]);
        if (xs.every(v => v === null || Number.isNaN(v))) continue;  // the empty layer's placeholder
        (out[kind] = out[kind] || []).push([xs, ys]);
      }
    }
  }
  return out;
}
"""


class _Patient:
    """A browser whose pages wait longer for navigation (a fresh server on a busy machine)."""

    def __init__(self, browser):
        self._browser = browser

    def new_page(self, **kwargs):
        page = self._browser.new_page(**kwargs)
        page.set_default_navigation_timeout(180_000)
        page.set_default_timeout(60_000)
        return page


class ReleasePage(Page):
    """:class:`pagekit.Page` with longer waits (its constructor waits for the plots too)."""

    def wait_for(self, predicate, what: str, timeout: float = 120.0):
        return super().wait_for(predicate, what, timeout)


@pytest.fixture(scope="module", params=["dp1", "dp2"])
def release(request, tmp_path_factory):
    """``{"name", "repo", "manifest", "url"}``: a release sample served by its own explorer."""
    require_browser()
    from explorer.sample import make_sample

    name = request.param
    repo = tmp_path_factory.mktemp(f"release-{name}") / name
    make_sample(repo, release=name, seed=3)
    manifest = json.loads((repo / "sample_manifest.json").read_text())
    with running_server(str(repo), ARTIFACTS / f"release-{name}-server.log",
                        repo_roots=[str(repo.parent)]) as server:
        yield {"name": name, "repo": repo, "manifest": manifest, "url": server.url}


@pytest.fixture(scope="module")
def own_chromium():
    """Debian's Chromium for this module (its own: the shared ``browser`` fixture would start the
    DC2 server this module does not use)."""
    require_browser()
    with chromium() as browser:
        yield browser


@pytest.fixture
def open_release(own_chromium, release):
    with page_opener(_Patient(own_chromium), release["url"], ReleasePage) as opener:
        yield opener


def _kind_labels(p: Page) -> list[str]:
    return [t.strip() for t in p.page.locator(".w-kind button").all_inner_texts()]


def _hover(p: Page, pattern: str, fractions=((0.5, 0.5), (0.52, 0.48), (0.47, 0.53))) -> re.Match:
    g = p.plot("x (parent pixels)")

    def readout():
        for fx, fy in fractions:
            p.page.mouse.move(g["left"] + g["width"] * fx, g["top"] + g["height"] * fy)
            p.page.wait_for_timeout(150)
        return re.search(pattern, p.text(".explorer-readout"), re.S)

    return p.wait_for(readout, "the pixel readout")


def _open_repo(release):
    from explorer.repo import open_repo

    return open_repo(str(release["repo"]))


def _visit_exposure(release, kind: str, visit: int, detector: int):
    """The ``kind`` image of a visit's detector, read by the explorer's own reader."""
    repo = _open_repo(release)
    try:
        return repo.get_exposure(kind, {"instrument": release["manifest"]["instrument"],
                                        "visit": visit, "detector": detector})
    finally:
        repo.close()


def test_default_page_names_the_kinds_as_the_release_does(open_release, release):
    p = open_release()
    title = p.wait_for(lambda: re.search(r"deep_coadd tract (\d+) patch (\d+,\d+) band (\w)", p.text(".image-title")),
                       "a deep_coadd in the title")
    assert _kind_labels(p) == ["deep_coadd", "visit_image", "difference_image", "template_coadd"]
    # a picture: the rendered coadd is not one flat colour
    from io import BytesIO

    from PIL import Image

    def contrast() -> float:
        png = p.page.locator(".image-plot canvas").first.screenshot()
        return float(np.asarray(Image.open(BytesIO(png)).convert("L"), float).std())

    p.wait_for(lambda: contrast() > 10, "the default page's image to show a picture (not one flat colour)")
    p.shot(f"release-{release['name']}-01-default")
    tract, patch, band = int(title.group(1)), title.group(2), title.group(3)
    assert tract in release["manifest"]["tracts"]
    assert any(c["band"] == band and "%d,%d" % tuple(c["patch_xy"]) == patch for c in release["manifest"]["coadds"])
    assert p.errors == []


def test_difference_image_is_selectable_and_read(open_release, release):
    p = open_release()
    p.page.locator(".w-kind button", has_text="difference_image").first.click()
    m = p.wait_for(lambda: re.search(r"difference_image visit (\d+) detector (\d+)", p.text(".image-title")),
                   "a difference_image in the title")
    visit, detector = int(m.group(1)), int(m.group(2))
    p.wait_for(lambda: "kind=difference" in p.page.url, "the kind in the URL")
    exposure = _visit_exposure(release, "difference_image", visit, detector)
    x0, y0 = exposure.info.xy0
    p.wait_for(lambda: abs(p.plot("x (parent pixels)")["x0"] - x0) < exposure.info.shape[1], "the axes on it")
    r = _hover(p, r"x (\d+) y (\d+) · value (\S+)")
    x, y, value = int(r.group(1)), int(r.group(2)), float(r.group(3))
    assert value == pytest.approx(float(exposure.image[y - y0, x - x0]), rel=1e-5, abs=1e-6)
    p.shot(f"release-{release['name']}-02-difference")
    # a link naming the kind as the repository does opens it too
    q = open_release("?kind=difference_image")
    q.wait_for(lambda: "difference_image visit" in q.text(".image-title"), "the linked difference_image")
    assert p.errors == [] and q.errors == []


def test_readout_says_approx_only_for_the_fits_approximation(open_release, release):
    """dp1's afw files carry only a FITS WCS (approximate); dp2's lsst.images files the exact mapping.
    The readout also gives each mask plane's description as its tooltip, and the legend lists them."""
    p = open_release("?kind=visit_image")
    m = p.wait_for(lambda: re.search(r"visit_image visit (\d+) detector (\d+)", p.text(".image-title")),
                   "a visit_image")
    visit, detector = int(m.group(1)), int(m.group(2))
    exposure = _visit_exposure(release, "visit_image", visit, detector)
    info = exposure.info
    if release["name"] == "dp2":  # lsst.images files carry the exact mapping
        assert info.sky_exact
    p.wait_for(lambda: abs(p.plot("x (parent pixels)")["x0"] - info.xy0[0]) < info.shape[1], "the axes on it")
    r = _hover(p, r"x (\d+) y (\d+) .*RA (\d+\.\d+) Dec (-?\d+\.\d+)")
    x, y, ra, dec = int(r.group(1)), int(r.group(2)), float(r.group(3)), float(r.group(4))
    want = info.pixel_to_sky(x, y)
    assert (ra, dec) == (pytest.approx(float(want[0]), abs=2e-6), pytest.approx(float(want[1]), abs=2e-6))
    text = p.text(".explorer-readout")
    assert ("approx." in text) == (not info.sky_exact)
    p.shot(f"release-{release['name']}-03-readout")
    # mask plane descriptions: the legend, and the readout's tooltips for the planes set
    described = info.mask_descriptions()
    assert described
    legend = p.page.locator(".mask-legend")
    legend.locator("summary").click()
    for name, what in described.items():
        assert what in legend.inner_text(), name
    x0, y0 = info.xy0
    mask = exposure.mask
    ys, xs = np.nonzero(mask & (1 << info.mask_planes["DETECTED"]))
    assert len(xs)
    # hover a DETECTED pixel: its planes come with their descriptions as tooltips
    g = p.plot("x (parent pixels)")
    px, py = p.to_page("x (parent pixels)", xs[len(xs) // 2] + x0, ys[len(ys) // 2] + y0)
    assert g["left"] <= px <= g["left"] + g["width"]
    titles = p.wait_for(lambda: (p.page.mouse.move(px, py), p.page.wait_for_timeout(200),
                                 p.page.locator(".explorer-readout .mask-plane").evaluate_all(
                                     "els => els.map(e => [e.textContent, e.title])"))[-1], "the mask planes")
    shown = dict(titles)
    assert "DETECTED" in shown and shown["DETECTED"] == described["DETECTED"]
    assert p.errors == []


def test_cell_grid_and_missing_cell_of_a_cell_coadd(open_release, release):
    """dp2's deep_coadd is a CellCoadd: its cell grid is drawn, the missing cell crossed out, and
    the switch hides both. dp1's afw coadd has no cells: nothing is drawn."""
    manifest = release["manifest"]
    coadd = next(c for c in manifest["coadds"] if c["missing_cells"])
    patch = "%d,%d" % tuple(coadd["patch_xy"])
    p = open_release(f"?patch={patch}&band={coadd['band']}")
    p.wait_for(lambda: f"patch {patch} band {coadd['band']}" in p.text(".image-title"), "the coadd with a missing cell")
    if release["name"] == "dp1":
        p.page.wait_for_timeout(1500)
        assert not p.page.evaluate(JS_KIND_PATHS, KIND_COLORS)
        assert p.errors == []
        return
    repo = _open_repo(release)
    try:
        info = repo.get_exposure("deep_coadd", {"skymap": manifest["skymap"], "tract": coadd["tract"],
                                                "patch": coadd["patch"], "band": coadd["band"]}).info
    finally:
        repo.close()
    cells = info.cells
    assert [list(c) for c in cells.missing] == coadd["missing_cells"]
    drawn = p.wait_for(lambda: (lambda d: d if d.get("cell_grid") and d.get("missing_cell") else None)(
        p.page.evaluate(JS_KIND_PATHS, KIND_COLORS)), "the cell grid")
    ch, cw = cells.cell_shape
    (ni, nj), (i0, j0) = cells.num_cells, cells.first_cell
    xs = {round(line[0][0], 3) for line in drawn["cell_grid"] if line[0][0] == line[0][1]}
    ys = {round(line[1][0], 3) for line in drawn["cell_grid"] if line[1][0] == line[1][1]}
    assert xs == {cells.grid_origin[0] + (j0 + k) * cw - 0.5 for k in range(nj + 1)}
    assert ys == {cells.grid_origin[1] + (i0 + k) * ch - 0.5 for k in range(ni + 1)}
    (mi, mj), = cells.missing
    bx, by, bw, bh = cells.cell_bbox(mi, mj)
    assert len(drawn["missing_cell"]) == 2
    for lx, ly in drawn["missing_cell"]:  # the diagonals of exactly that cell
        assert sorted(lx) == [bx - 0.5, bx + bw - 0.5] and sorted(ly) == [by - 0.5, by + bh - 0.5]
    # the readout names the cell under the pointer, and says a missing one is missing
    cx, cy = p.to_page("x (parent pixels)", bx + bw / 2, by + bh / 2)
    p.wait_for(lambda: (p.page.mouse.move(cx, cy), p.page.wait_for_timeout(200),
                        f"cell {mi},{mj} (missing" in p.text(".explorer-readout"))[-1],
               "the missing cell in the readout")
    p.shot("release-dp2-04-cells")
    # the per-cell PSF: the PSF panel (a tool: its card opened) follows the pointer into a present cell
    p.open_card("psf")
    present = next(c for c in cells.cells() if c not in set(map(tuple, cells.missing)))
    qx, qy, qw, qh = cells.cell_bbox(*present)
    px, py = p.to_page("x (parent pixels)", qx + qw / 2, qy + qh / 2)
    p.wait_for(lambda: (p.page.mouse.move(px, py), p.page.wait_for_timeout(300),
                        f"cell ({present[0]}, {present[1]})" in p.text(".psf-caption"))[-1], "the cell's PSF")
    # switched off: gone, and the link says so
    p.page.locator(".w-cells input").first.click()
    p.wait_for(lambda: not p.page.evaluate(JS_KIND_PATHS, KIND_COLORS), "the cell grid to go")
    p.wait_for(lambda: "cells=0" in p.page.url, "cells=0 in the URL")
    assert p.errors == []
