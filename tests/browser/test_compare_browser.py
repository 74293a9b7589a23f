"""Blink and compare in a real Chromium: a visit overlapping the coadd patch drawn beside the coadd,
aligned through their WCSs (issue 16).

What the browser draws is checked, not only that it exists: the visit pane's pixels are read
from the Bokeh document, a bright star of the sample is located (brightness-weighted centroid) in
the coadd pane and in the visit pane, and must sit at the same place on screen (relative to each
plot's frame) within 2 px, before and after zooming the visit pane, whose zoom the coadd pane
follows. Screenshots go to ``<repo>/test-artifacts/browser/``.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from pagekit import ARTIFACTS, JS_PLOT_PANE, Page  # noqa: F401

pytestmark = pytest.mark.browser

XA, XB = "x (parent pixels) [A]", "x (parent pixels) [B]"

def _pane(p: Page, xlabel: str):
    s = p.page.evaluate(JS_PLOT_PANE, xlabel)
    if not s or len(s["shape"]) != 2:
        return None
    s["lum"] = np.asarray(s["lum"], float).reshape(s["shape"])  # rows bottom to top (Bokeh's image)
    return s


def _star_on_screen(p: Page, xlabel: str, pane, x: float, y: float, half: float = 6.0):
    """Brightness-weighted centroid of the star near parent pixel (x, y) in a pane, in screen
    pixels from the plot frame's top-left corner."""
    h, w = pane["lum"].shape
    cw, ch = pane["dw"] / w, pane["dh"] / h
    xs = pane["x"] + (np.arange(w) + 0.5) * cw
    ys = pane["y"] + (np.arange(h) + 0.5) * ch
    cols = np.flatnonzero(np.abs(xs - x) <= half)
    rows = np.flatnonzero(np.abs(ys - y) <= half)
    win = pane["lum"][np.ix_(rows, cols)]
    win = np.clip(win - np.median(pane["lum"]), 0, None)
    assert win.sum() > 0, f"no star near {x:.1f}, {y:.1f} in {xlabel}"
    wy, wx = win.sum(axis=1), win.sum(axis=0)
    sx = float((xs[cols] * wx).sum() / wx.sum())
    sy = float((ys[rows] * wy).sum() / wy.sum())
    g = p.plot(xlabel)
    return ((sx - g["x0"]) / (g["x1"] - g["x0"]) * g["width"],
            (g["y1"] - sy) / (g["y1"] - g["y0"]) * g["height"]), (sx, sy)


def _bright_star(coadd, calexp):
    """A bright, unsaturated, isolated star of the coadd that the visit also covers (parent pixels)."""
    from explorer.render.resample import resample_onto

    ny, nx = coadd.info.shape
    x0, y0 = coadd.info.xy0
    image = np.nan_to_num(np.asarray(coadd.image, float), nan=-np.inf)
    visit, _, _ = resample_onto(calexp, coadd.info, width=nx, height=ny)
    padded = np.pad(image, 7, constant_values=-np.inf)
    local_max = np.lib.stride_tricks.sliding_window_view(padded, (15, 15)).max(axis=(2, 3))
    yy, xx = np.mgrid[0:ny, 0:nx]
    covered = np.isfinite(visit)
    inner = (xx > 20) & (xx < nx - 20) & (yy > 20) & (yy < ny - 20)
    ok = inner & (image == local_max) & covered & (image < np.nanpercentile(coadd.image, 99.99))
    # the visit must cover the star's whole neighbourhood
    ok &= np.lib.stride_tricks.sliding_window_view(np.pad(covered, 10), (21, 21)).all(axis=(2, 3))
    k = np.argmax(np.where(ok, image, -np.inf))
    j, i = np.unravel_index(k, image.shape)
    return float(x0 + i), float(y0 + j)


def _open_compare(p: Page) -> None:
    p.open_card("compare")
    p.page.locator(".compare-plot").first.scroll_into_view_if_needed()


def test_visit_beside_the_coadd_aligned_through_the_wcs(open_page, server):
    from explorer.state import ExplorerState

    p = open_page()
    _open_compare(p)
    p.wait_for(lambda: _pane(p, XA) and _pane(p, XB), "the two compare panes", timeout=90)
    p.page.select_option(".w-cmp-kind select", label="a visit (aligned)")
    b = p.wait_for(lambda: (s := _pane(p, XB)) and s["title"].startswith("visit ") and s, "the visit pane",
                   timeout=90)
    visit = int(re.match(r"\s*(\d+)", p.value("w-cmp-visit")).group(1))
    detector = int(p.value("w-cmp-detector").split()[0])
    assert b["title"].startswith(f"visit {visit} detector {detector}")
    a = _pane(p, XA)
    band = a["title"].split()[-1]
    # the visit pane is drawn: the visit's pixels (not the blank of a failure)
    assert b["lum"].std() > 5 and (a["x"], a["y"], a["dw"], a["dh"]) == (b["x"], b["y"], b["dw"], b["dh"])
    # the star, from the files: a bright one of the coadd that the visit covers
    st = ExplorerState(repo=str(server["repo"]))
    idx = st.index
    coadd = st.repo.get_exposure(idx.coadd_type, idx.coadd_id(st.tract, st.patch, band))
    calexp = st.repo.get_exposure(idx.calexp_type, {"visit": visit, "detector": detector})
    x, y = _bright_star(coadd, calexp)
    (sa, pa), (sb, _pb) = _star_on_screen(p, XA, a, x, y), _star_on_screen(p, XB, b, x, y)
    assert abs(pa[0] - x) < 1.5 and abs(pa[1] - y) < 1.5, (pa, x, y)  # the coadd pane's star is the file's
    assert abs(sa[0] - sb[0]) <= 2.0 and abs(sa[1] - sb[1]) <= 2.0, (sa, sb)
    p.shot("compare-01-visit-aligned")
    # zoom on the star in one pane: the other follows; the star stays together in both
    _ga0, gb0 = p.plot(XA), p.plot(XB)
    on_screen = gb0["left"] + gb0["width"] <= p.page.viewport_size["width"]
    xlabel, s0 = (XB, sb) if on_screen else (XA, sa)  # (the visit pane unless the page clips it)
    g0 = p.plot(xlabel)
    p.page.mouse.move(g0["left"] + s0[0], g0["top"] + s0[1])
    p.page.mouse.wheel(0, -900)

    def zoomed():
        ga, gb = p.plot(XA), p.plot(XB)
        if (gb["x1"] - gb["x0"]) > 0.5 * (gb0["x1"] - gb0["x0"]):
            return None
        if not all(abs(ga[k] - gb[k]) < 1e-6 for k in ("x0", "x1", "y0", "y1")):
            return None
        pa_, pb_ = _pane(p, XA), _pane(p, XB)  # both re-rendered for the zoomed window
        if not pa_ or not pb_ or pa_["dw"] > 0.6 * a["dw"] or pb_["dw"] > 0.6 * b["dw"]:
            return None
        return pa_, pb_

    za, zb = p.wait_for(zoomed, "the coadd pane to follow the visit pane's zoom", timeout=60)
    assert zb["title"].startswith(f"visit {visit}") and za["title"] == f"band {band}"
    (sa, pa), (sb, pb) = _star_on_screen(p, XA, za, x, y), _star_on_screen(p, XB, zb, x, y)
    # zoomed in, a screen pixel is a fraction of a coadd pixel: the star's centroids, measured on two
    # images of different PSF and noise, agree within a coadd pixel
    assert abs(pa[0] - pb[0]) <= 1.0 and abs(pa[1] - pb[1]) <= 1.0, (pa, pb, sa, sb)
    p.shot("compare-02-visit-zoomed")
    # another detector of the visit, or another visit: the pane follows the choice
    options = p.options("w-cmp-visit")
    if len(options) > 1:
        other = next(o for o in options if o != p.value("w-cmp-visit"))
        p.page.select_option(".w-cmp-visit select", label=other)
        v2 = int(re.match(r"\s*(\d+)", other).group(1))
        p.wait_for(lambda: (s := _pane(p, XB)) and s["title"].startswith(f"visit {v2} "), "the other visit")
    assert p.errors == []
