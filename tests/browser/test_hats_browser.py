"""A HATS catalog in a real Chromium (issue 17): the sample's objectTable, which make-sample wrote as
a HATS catalog, is opened in the survey-catalog panel by typing its path; the catalog table then
pages through its rows within the view's cone and the scatter draws them, both computed on the
server's Dask cluster; a row clicked marks the source and the link keeps it (``mark``).

What the browser shows is compared with the catalog read here with pandas and the cone the
page's state gives (:func:`explorer.app.tools.hats_source.view_cone`). The tables are opened in a
browser slowed fourfold: no page error may come while they are built. The server, browser and
page opener are the fixtures of ``conftest.py``.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
from pagekit import Page, slow_cpu
from pagekit import int_attr as attr

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def truth(server):
    """(catalog path, rows inside the default view's cone) computed in this process."""
    from explorer.app.tools.hats_source import view_cone
    from explorer.compute.sources import _separation_deg
    from explorer.state import ExplorerState

    repo = server["repo"]
    manifest = json.loads((repo / "sample_manifest.json").read_text())
    frame = pd.concat([pd.read_parquet(repo / p) for p in manifest["paths"]["objectTable"].values()],
                      ignore_index=True)
    st = ExplorerState()
    st.open(str(repo))
    cone = view_cone(st)
    inside = _separation_deg(cone.ra, cone.dec, frame["coord_ra"].to_numpy(float),
                             frame["coord_dec"].to_numpy(float)) * 3600 <= cone.radius_arcsec
    return repo / manifest["hats"]["object"], frame[inside]


def show(p: Page, selector: str, tool: str) -> None:
    """Make sure the widget is on screen: open the card of its tool when it is closed."""
    loc = p.page.locator(selector)
    if loc.count() and loc.first.is_visible():
        loc.first.scroll_into_view_if_needed()
        return
    p.open_card(tool)
    p.wait_for(lambda: loc.count() and loc.first.is_visible(), f"the {tool} card to open")
    loc.first.scroll_into_view_if_needed()


def click_button(p: Page, group: str, label: str) -> None:
    p.page.locator(f".{group} button", has_text=label).first.click()


def hats_ids(p: Page) -> list[int]:
    cells = p.page.eval_on_selector_all('.catalog-table-hats .tabulator-row '
                                        '.tabulator-cell[tabulator-field="objectId"]',
                                        "els => els.map(e => e.textContent.trim().replace(/,/g, ''))")
    return [int(float(c)) for c in cells if c]


def test_the_hats_catalog_in_the_table_and_the_scatter(open_page, truth):
    path, inside = truth
    assert 15 < len(inside)  # more than a page: the pages are exercised
    p = open_page()
    show(p, ".hats-path input", "hats")
    p.page.locator(".hats-path input").first.fill(str(path))
    p.page.locator(".hats-path input").first.press("Enter")
    p.wait_for(lambda: attr(p, "hats-status", "data-total"), "the HATS histogram and density", timeout=300)

    # a slow browser builds the tables while their rows arrive: each table is built with the
    # columns it shows (explorer.app.tables), so Tabulator never fails on new columns meanwhile
    with slow_cpu(p, 4):
        show(p, ".catalog-table-source", "table")
        click_button(p, "catalog-table-source", "HATS")
        p.wait_for(lambda: attr(p, "hats-table-caption", "data-total") is not None, "the HATS rows", timeout=300)
        p.wait_for(lambda: len(hats_ids(p)) == 15, "the first page of HATS rows", timeout=60)
    assert not p.errors, p.errors
    assert attr(p, "hats-table-caption", "data-total") == len(inside)
    p.wait_for(lambda: len(hats_ids(p)) == 15, "the first page of HATS rows")
    first = hats_ids(p)
    assert set(first) <= set(inside["objectId"])
    p.page.locator(".hats-table-next button").first.click()
    p.wait_for(lambda: attr(p, "hats-table-caption", "data-start") == 15, "the second page")
    p.wait_for(lambda: hats_ids(p) and set(hats_ids(p)).isdisjoint(first), "the second page's rows")
    assert set(hats_ids(p)) <= set(inside["objectId"])

    # a row clicked marks the source on the image, and the link keeps it
    row = p.page.locator(".catalog-table-hats .tabulator-row").first
    clicked = hats_ids(p)[0]
    row.locator('.tabulator-cell[tabulator-field="objectId"]').click()
    p.wait_for(lambda: "mark" in parse_qs(urlparse(p.page.url).query), "the marked source in the URL")
    mark = parse_qs(urlparse(p.page.url).query)["mark"][0]
    assert int(mark.split(",")[0]) == clicked

    show(p, ".scatter-source", "scatter")
    click_button(p, "scatter-source", "HATS")
    p.wait_for(lambda: "HATS catalog" in p.text(".scatter-caption"), "the HATS scatter", timeout=300)
    assert attr(p, "scatter-caption", "data-rows") == len(inside)
    points = attr(p, "scatter-caption", "data-points")
    assert 0 < points <= len(inside)
    assert not [e for e in p.errors if "error" in e.lower() and "favicon" not in e], p.errors
    assert np.isfinite(points)
