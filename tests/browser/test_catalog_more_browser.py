"""More of issue 17 in a real Chromium: a lasso drawn on the image filters the catalog table and
a link keeps it (``slasso``); the HATS rows in the table sort by a header click and filter by a
header filter over every row of the view's cone (computed on the server's Dask cluster); a link
names the HATS catalog (``hats``) and reopens it.

What the browser shows is compared with the catalog read in this process. The server, browser
and page opener are the fixtures of ``conftest.py``; the JavaScript walkers and the HATS truth
are those of the two catalog browser modules.
"""
from __future__ import annotations

import os
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from pagekit import JS_ACTIVATE_TOOL, Page
from pagekit import int_attr as caption_attr
from test_catalog_tools_browser import cells, points_sources, reference_rows
from test_hats_browser import attr, click_button, hats_ids, show, truth  # noqa: F401 - truth: a fixture

pytestmark = pytest.mark.browser


def query_of(p: Page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(p.page.url).query).items()}


def test_lasso_on_the_image_filters_the_table_and_the_link_keeps_it(open_page, server):
    from explorer import urlstate
    from explorer.compute.selection import in_polygon

    _st, rows = reference_rows(server["repo"])
    x, y = rows["x"].to_numpy(float), rows["y"].to_numpy(float)
    p = open_page()
    p.open_card("table")
    p.wait_for(lambda: cells(p, "id"), "the catalog table")
    p.page.evaluate("() => window.scrollTo(0, 0)")  # the whole image on screen, clear of the header
    p.page.wait_for_timeout(500)
    g = p.plot("x (parent pixels)")
    cx, cy = 0.5 * (g["x0"] + g["x1"]), 0.5 * (g["y0"] + g["y1"])
    r = 0.3 * min(g["x1"] - g["x0"], abs(g["y1"] - g["y0"]))
    t = np.linspace(0, 2 * np.pi, 13)  # a 12-sided lasso around the middle of the view, closed
    hexagon = (cx + r * np.cos(t), cy + r * np.sin(t))
    assert 0 < in_polygon(x, y, *hexagon).sum() < np.isfinite(x).sum()
    assert p.page.evaluate(JS_ACTIVATE_TOOL, ["x (parent pixels)", "LassoSelectTool"])
    points = [p.to_page("x (parent pixels)", float(a), float(b)) for a, b in zip(*hexagon)]
    p.page.mouse.move(*points[0])
    p.page.mouse.down()
    for pt in points[1:]:
        p.page.mouse.move(*pt, steps=4)
    p.page.mouse.up()
    p.wait_for(lambda: "slasso" in query_of(p), "the lasso in the link")
    lasso = urlstate.decode(urlstate.BY_KEY["slasso"], query_of(p)["slasso"])  # as drawn, mouse steps and all
    inside = in_polygon(x, y, *lasso)
    assert abs(int(inside.sum()) - int(in_polygon(x, y, *hexagon).sum())) <= 3  # the shape drawn
    p.wait_for(lambda: caption_attr(p, "catalog-table-caption", "data-rows") == int(inside.sum()),
               f"the table to keep the {int(inside.sum())} sources in the lasso")
    want = set(rows["id"].to_numpy()[inside][:15].tolist())
    p.wait_for(lambda: {int(v.replace(",", "")) for v in cells(p, "id")} == want, "the table's rows to be those")
    xs = sorted(x[inside & np.isfinite(x)])
    p.wait_for(lambda: any(s["x"] is not None and sorted(s["x"]) == pytest.approx(xs) for s in points_sources(p)),
               "the selected sources drawn over the image")
    p.shot("more-01-lasso")
    assert p.errors == []
    # the link opens a page with the same rows in its table
    q = p.page.url.split("?", 1)[1]
    p2 = open_page("?" + q)
    p2.open_card("table")
    p2.wait_for(lambda: caption_attr(p2, "catalog-table-caption", "data-rows") == int(inside.sum()),
                "the linked page's table to keep the lasso's sources")
    assert p2.errors == []


def hats_cells(p: Page, field: str) -> list[float]:
    selector = f'.catalog-table-hats .tabulator-row .tabulator-cell[tabulator-field="{field}"]'
    texts = p.page.eval_on_selector_all(selector, "els => els.map(e => e.textContent.trim().replace(/,/g, ''))")
    return [float(t) for t in texts if t]


def caption_text(p: Page, name: str) -> str | None:
    loc = p.page.locator(".hats-table-caption")
    return loc.first.get_attribute(f"data-{name}") if loc.count() else None


def test_hats_rows_sort_and_filter_on_the_workers_and_the_link_reopens_the_catalog(open_page, server,
                                                                                  truth):  # noqa: F811
    path, inside = truth
    p = open_page()
    show(p, ".hats-path input", "hats")
    p.page.locator(".hats-path input").first.fill(str(path))
    p.page.locator(".hats-path input").first.press("Enter")
    p.wait_for(lambda: attr(p, "hats-status", "data-total"), "the HATS histogram and density", timeout=300)
    # the link names the catalog as the repository box names paths: relative to the --repo-root
    p.wait_for(lambda: "hats" in query_of(p), "the HATS catalog in the link")
    root = os.path.realpath(server["repo"].parent)
    assert query_of(p)["hats"] == os.path.relpath(os.path.realpath(path), root)

    show(p, ".catalog-table-source", "table")
    click_button(p, "catalog-table-source", "HATS")
    p.wait_for(lambda: attr(p, "hats-table-caption", "data-total") == len(inside), "the HATS rows", timeout=300)
    p.wait_for(lambda: len(hats_ids(p)) == 15, "the first page of HATS rows")
    # a click on a header sorts every row of the cone, not the page: the first page holds the
    # 15 smallest of the cone
    p.page.locator('.catalog-table-hats .tabulator-col[tabulator-field="g_psfFlux"] .tabulator-col-title').first.click()
    p.wait_for(lambda: caption_text(p, "sort") == "g_psfFlux:asc", "the rows sorted on the workers", timeout=300)
    want = inside.sort_values("g_psfFlux", kind="stable", na_position="last")
    p.wait_for(lambda: hats_ids(p) == want["objectId"].tolist()[:15], "the cone's 15 smallest g_psfFlux")
    p.page.locator(".hats-table-next button").first.click()
    p.wait_for(lambda: hats_ids(p) == want["objectId"].tolist()[15:30], "the next 15, still sorted")
    # a header filter keeps the rows of the whole cone that pass (>= for a float column)
    cut = float(np.round(inside["g_psfFlux"].median(), 1))
    kept = want[want["g_psfFlux"] >= cut]
    assert 15 < len(kept) < len(inside)
    box = p.page.locator('.catalog-table-hats .tabulator-col[tabulator-field="g_psfFlux"] '
                         '.tabulator-header-filter input').first
    box.fill(str(cut))
    box.press("Enter")
    p.wait_for(lambda: attr(p, "hats-table-caption", "data-total") == len(kept), "the filtered count", timeout=300)
    p.wait_for(lambda: hats_ids(p) == kept["objectId"].tolist()[:15], "the filtered rows, sorted")
    assert min(hats_cells(p, "g_psfFlux")) >= cut - 0.5  # (as the page formats them)
    p.shot("more-02-hats-sorted-filtered")
    assert not [e for e in p.errors if "error" in e.lower() and "favicon" not in e], p.errors

    # the link reopens the catalog: the survey card opens and computes without typing
    p2 = open_page("?" + p.page.url.split("?", 1)[1])
    p2.wait_for(lambda: attr(p2, "hats-status", "data-total"), "the linked HATS catalog's figures", timeout=300)
    assert attr(p2, "hats-status", "data-total") == attr(p, "hats-status", "data-total")
    assert p2.page.locator(".hats-path input").first.input_value() == query_of(p)["hats"]
