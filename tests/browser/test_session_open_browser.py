"""The image kind switched in a real browser: the one image figure is redrawn in place (issue 12:
a switch that built a new plot cost ~2 s of server CPU and a new set of models), its axes move to
the new frame, and nothing fails in the console."""
from __future__ import annotations

import re

import pytest
from pagekit import js_on_plot

pytestmark = pytest.mark.browser

# the id of the Bokeh figure drawing the image, and the frame its image glyph is placed at
JS_IMAGE_FIGURE = js_on_plot("""
    for (const rv of v.renderer_views.values()) {
      const g = rv.model.glyph, d = rv.model.data_source.data;
      if (g && (g.type || g.constructor.name) === "ImageURL" && d.x && d.x.length)
        return {id: m.id, x: d.x[0], w: d.w[0], h: d.h[0], x0: m.x_range.start, x1: m.x_range.end};
    }
    return null;
""")


def test_switching_the_image_kind_keeps_the_figure_and_moves_its_axes(open_page, server):
    from explorer.repo import open_repo

    p = open_page("?tract=3828&patch=3,3")
    p.wait_for(lambda: re.search(r"tract 3828 patch 3,3", p.text(".image-title")), "the coadd")
    coadd = p.wait_for(lambda: p.page.evaluate(JS_IMAGE_FIGURE, "x (parent pixels)"), "the coadd's image")
    kinds = [t.strip() for t in p.page.locator(".w-kind button").all_inner_texts()]
    assert "calexp" in kinds and len(kinds) == 2  # (the coadd's button is the repository's name for it)
    p.page.locator(".w-kind button").nth(kinds.index("calexp")).click()
    title = p.wait_for(lambda: re.search(r"calexp visit (\d+) detector (\d+)", p.text(".image-title")), "a calexp")
    info = open_repo(server["repo"]).get_exposure(
        "calexp", {"visit": int(title.group(1)), "detector": int(title.group(2))}).info

    def calexp_drawn():
        g = p.page.evaluate(JS_IMAGE_FIGURE, "x (parent pixels)")
        return g if g and abs(g["x"] - (info.xy0[0] - 0.5)) < 1 and abs(g["x0"] - (info.xy0[0] - 0.5)) < 1 else None

    calexp = p.wait_for(calexp_drawn, "the calexp's frame and axes")
    assert calexp["id"] == coadd["id"]  # the same figure, redrawn in place
    assert abs(calexp["w"] - info.shape[1]) < 1 and abs(calexp["h"] - info.shape[0]) < 1
    assert (calexp["w"], calexp["h"]) != (coadd["w"], coadd["h"])  # (another frame geometry)
    p.page.locator(".w-kind button").nth(1 - kinds.index("calexp")).click()
    back = p.wait_for(lambda: (lambda g: g if g and abs(g["x"] - coadd["x"]) < 1 and abs(g["x0"] - coadd["x0"]) < 1
                                else None)(p.page.evaluate(JS_IMAGE_FIGURE, "x (parent pixels)")),
                      "the coadd's frame and axes again")
    assert back["id"] == coadd["id"] and abs(back["w"] - coadd["w"]) < 1
    p.shot("session-open-kind-switch")
    assert p.errors == []
