"""Issue 11's leftovers in a real Chromium: the "missing files" card, the summary table and
its bands.

Uses the shared served explorer (``conftest.py``); screenshots go to ``test-artifacts/browser/``.
"""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

def test_the_missing_files_card_lists_the_missing_data_ids(open_page, server):
    """Issue 11 item 10: the page's "missing files" card gave a count only; it now opens the list."""
    missing = json.loads((server["repo"] / "sample_manifest.json").read_text())["missing"]["data_id"]
    p = open_page()
    card = p.page.locator(".explorer-summary .missing-files summary")
    p.wait_for(lambda: card.count() == 1, "the missing files card")
    listed = p.page.locator(".explorer-summary .missing-ids")
    assert not listed.is_visible()
    card.click()
    p.wait_for(lambda: listed.is_visible(), "the list of missing data IDs")
    text = listed.inner_text()
    assert f"visit={missing['visit']}" in text and f"detector={missing['detector']}" in text and "calexp" in text
    p.shot("d02-missing-files")


def test_the_summary_shows_every_dataset_type_and_which_bands_have_what(open_page, server):
    """Issue 11 (friction): the table showed 6 1/2 rows with ``src`` cut off, and the summary
    listed the bands u..y while only g, r, i have images."""
    p = open_page()
    rows = p.page.locator(".dataset-table .tabulator-row")
    p.wait_for(lambda: rows.count() >= 7, "the dataset table's rows")
    holder = p.page.locator(".dataset-table .tabulator-tableholder").first.bounding_box()
    names = []
    for i in range(rows.count()):
        row = rows.nth(i)
        names.append(row.inner_text().split("\n")[0].strip())
        box = row.bounding_box()
        assert box["y"] >= holder["y"] - 1 and box["y"] + box["height"] <= holder["y"] + holder["height"] + 1, names
    assert "src" in names
    bands = p.text(".explorer-summary")
    assert "coadds in g, r, i" in bands and "calexps in g, r, i" in bands and "no images in u, z, y" in bands
    p.shot("d03-summary")

