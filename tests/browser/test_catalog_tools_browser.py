"""The catalog tools in a real Chromium: table, scatter, sky density map and the selections that link
them to the image and the histogram (issue 17). What the browser draws is compared with the
catalog read in this process through the same state the page uses.

The server, browser and page opener are the fixtures of ``conftest.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
from pagekit import JS_ACTIVATE_TOOL, JS_Y_LABELS, Page
from pagekit import int_attr as caption_attr

pytestmark = pytest.mark.browser
# every GlyphRenderer's data source, as {glyph type, x values, y values, image sums}
JS_SOURCES = """
() => {
  const out = [];
  for (const doc of Bokeh.documents) {
    const models = doc._all_models ? Array.from(doc._all_models.values()) : Array.from(doc.all_models);
    for (const m of models) {
      if (!m.glyph || !m.data_source || !m.data_source.data) continue;
      const d = m.data_source.data;
      const entry = {glyph: m.glyph.type || m.glyph.constructor.__name__, visible: m.visible,
                     x: d.x ? Array.from(d.x) : null, y: d.y ? Array.from(d.y) : null, image_sum: null};
      if (d.image) {
        let s = 0;
        for (const img of d.image) for (const v of (img.flat ? img.flat() : img)) if (Number.isFinite(v)) s += v;
        entry.image_sum = s;
      }
      out.push(entry);
    }
  }
  return out;
}
"""

def reference_rows(repo, query: dict | None = None):
    """The rows the page's table starts from, computed in this process by the same state."""
    from explorer.app.tools.rows import catalog_rows
    from explorer.state import ExplorerState

    st = ExplorerState()
    st.open(str(repo))
    if query:
        st.apply_query(query)
    return st, catalog_rows(st)


def cells(p: Page, field: str) -> list[str]:
    return p.page.eval_on_selector_all(f'.catalog-table .tabulator-row .tabulator-cell[tabulator-field="{field}"]',
                                       "els => els.map(e => e.textContent.trim())")


def _stayed(p: Page, element, ms: int = 500) -> bool:
    """Whether ``element`` is still in the page ``ms`` from now."""
    p.page.wait_for_timeout(ms)
    return bool(element.evaluate("e => e.isConnected"))


def points_sources(p: Page):
    return [s for s in p.page.evaluate(JS_SOURCES) if s["x"] is not None]


def test_table_rows_are_the_catalog_and_sort_on_the_server(open_page, server):
    _st, rows = reference_rows(server["repo"])
    p = open_page()
    p.open_card("table")
    p.wait_for(lambda: caption_attr(p, "catalog-table-caption", "data-total"), "the catalog table")
    assert caption_attr(p, "catalog-table-caption", "data-total") == len(rows) > 15
    assert caption_attr(p, "catalog-table-caption", "data-rows") == len(rows)
    first = p.wait_for(lambda: cells(p, "id"), "the table's first page")
    assert len(first) == 15  # one page in the browser, not the catalog
    assert [int(v.replace(",", "")) for v in first] == list(rows["id"].to_numpy()[:15])
    # sort by x on the server: the first page holds the smallest x
    p.page.locator('.catalog-table .tabulator-col[tabulator-field="x"] .tabulator-col-title').first.click()
    want = np.sort(rows["x"].to_numpy())[:5]
    p.wait_for(lambda: [float(v.replace(",", "")) for v in cells(p, "x")[:5]] == pytest.approx(want, abs=1e-2),
               "the rows sorted by x")
    p.page.locator(".catalog-table").first.scroll_into_view_if_needed()
    p.shot("tools-01-table-sorted")
    assert p.errors == []


def test_row_click_centres_the_image_and_marks_the_source(open_page, server):
    _st, rows = reference_rows(server["repo"])
    p = open_page()
    p.open_card("table")
    p.wait_for(lambda: cells(p, "id"), "the catalog table")
    before = p.plot("x (parent pixels)")
    # a row whose source is away from the view's centre
    cx, cy = (before["x0"] + before["x1"]) / 2, (before["y0"] + before["y1"]) / 2
    k = int(np.argmax(np.hypot(rows["x"].to_numpy()[:15] - cx, rows["y"].to_numpy()[:15] - cy)))
    x, y = float(rows["x"].iloc[k]), float(rows["y"].iloc[k])
    cell = p.page.locator('.catalog-table .tabulator-row').nth(k).locator('.tabulator-cell[tabulator-field="id"]')
    # (Panel has Tabulator redraw once after the table's first layout: a click on a row about to be
    # replaced may be lost, so click a row that stayed in the page for half a second)
    p.wait_for(lambda: _stayed(p, cell.element_handle()), "the table's rows to stay drawn")
    cell.click()

    def centred():
        g = p.plot("x (parent pixels)")
        return abs((g["x0"] + g["x1"]) / 2 - x) < 0.5 and abs((g["y0"] + g["y1"]) / 2 - y) < 0.5

    p.wait_for(centred, "the image to centre on the clicked source")
    g = p.plot("x (parent pixels)")
    assert g["x1"] - g["x0"] == pytest.approx(before["x1"] - before["x0"], rel=1e-6)  # the zoom is kept
    p.wait_for(lambda: any(s["x"] == [pytest.approx(x)] and s["y"] == [pytest.approx(y)]
                           for s in points_sources(p)), "the marked source's ring")
    p.page.wait_for_timeout(500)
    p.shot("tools-02-row-clicked")
    assert p.errors == []


def _gap_edges(values: np.ndarray, lo_q: float, hi_q: float, min_gap: float) -> tuple[float, float]:
    """Two cut values between sources (mid-gaps of at least ``min_gap``) near two quantiles."""
    v = np.sort(values[np.isfinite(values)])
    mids = (v[1:] + v[:-1]) / 2
    gaps = v[1:] - v[:-1]
    ok = gaps >= min_gap
    qs = np.quantile(v, [lo_q, hi_q])
    a = mids[ok][np.argmin(np.abs(mids[ok] - qs[0]))]
    b = mids[ok][np.argmin(np.abs(mids[ok] - qs[1]))]
    return float(a), float(b)


def test_box_selection_on_the_image_filters_the_table(open_page, server):
    from explorer.compute.selection import in_box

    _st, rows = reference_rows(server["repo"])
    p = open_page()
    p.open_card("table")
    p.wait_for(lambda: cells(p, "id"), "the catalog table")
    g = p.plot("x (parent pixels)")
    per_px = (g["x1"] - g["x0"]) / g["width"]  # data pixels per screen pixel
    x0, x1 = _gap_edges(rows["x"].to_numpy(), 0.2, 0.7, 6 * per_px)
    y0, y1 = _gap_edges(rows["y"].to_numpy(), 0.1, 0.8, 6 * per_px)
    inside = in_box(rows["x"].to_numpy(), rows["y"].to_numpy(), (x0, y0, x1, y1))
    assert 0 < inside.sum() < len(rows)
    assert p.page.evaluate(JS_ACTIVATE_TOOL, ["x (parent pixels)", "BoxSelectTool"])
    a, b = p.to_page("x (parent pixels)", x0, y0), p.to_page("x (parent pixels)", x1, y1)
    p.page.mouse.move(*a)
    p.page.mouse.down()
    p.page.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, steps=5)
    p.page.mouse.move(*b, steps=5)
    p.page.mouse.up()
    p.wait_for(lambda: caption_attr(p, "catalog-table-caption", "data-rows") == int(inside.sum()),
               f"the table to keep the {int(inside.sum())} sources in the box")
    want = set(rows["id"].to_numpy()[inside][:15].tolist())
    p.wait_for(lambda: {int(v.replace(",", "")) for v in cells(p, "id")} == want, "the table's rows to be those")
    # the sources in the box are highlighted on the image
    xs = sorted(rows["x"].to_numpy()[inside])
    p.wait_for(lambda: any(s["x"] is not None and sorted(s["x"]) == pytest.approx(xs) for s in points_sources(p)),
               "the selected sources drawn over the image")
    p.shot("tools-03-box-selected")
    # clearing the selection brings every row back
    p.page.locator(".catalog-table-clear button").click()
    p.wait_for(lambda: caption_attr(p, "catalog-table-caption", "data-rows") == len(rows), "every row again")
    assert p.errors == []


def test_histogram_range_filters_the_table(open_page, server):
    from explorer.compute.selection import in_range

    st, rows = reference_rows(server["repo"])
    column = st.column
    values = np.log10(np.where(rows[column] > 0, rows[column], np.nan))
    p = open_page()
    p.open_card("table")
    p.wait_for(lambda: cells(p, "id"), "the catalog table")
    label = f"log10({column})"
    p.wait_for(lambda: p.plot(label), "the histogram")
    lo, hi = _gap_edges(np.asarray(values), 0.3, 0.9, 0.01)
    inside = in_range(rows[column].to_numpy(), (lo, hi), log=True)
    assert p.page.evaluate(JS_ACTIVATE_TOOL, [label, "BoxSelectTool"])
    g = p.plot(label)
    a = p.to_page(label, lo, g["y0"] + 0.3 * (g["y1"] - g["y0"]))
    b = p.to_page(label, hi, g["y0"] + 0.6 * (g["y1"] - g["y0"]))
    p.page.mouse.move(*a)
    p.page.mouse.down()
    p.page.mouse.move(*b, steps=8)
    p.page.mouse.up()
    p.wait_for(lambda: caption_attr(p, "catalog-table-caption", "data-rows") == int(inside.sum()),
               f"the table to keep the {int(inside.sum())} rows in the range")
    p.shot("tools-04-histogram-range")
    assert p.errors == []


def test_colour_magnitude_diagram_in_two_clicks(open_page, server):
    from explorer.compute.axes import axis_data

    st, _rows = reference_rows(server["repo"], {"catalog": "objectTable"})
    names = list(st.param.column.objects)
    df = st.catalog_frame(["g_psfFlux", "r_psfFlux"])
    colour = axis_data(df, "g - r", names).values
    mag = axis_data(df, "r_psfFlux", names, magnitudes=True).values
    n = int((np.isfinite(colour) & np.isfinite(mag)).sum())
    p = open_page("?catalog=objectTable")
    p.open_card("scatter")
    p.wait_for(lambda: caption_attr(p, "scatter-caption", "data-points"), "the scatter")
    p.page.locator(".scatter-cmd button").click()
    g = p.wait_for(lambda: p.plot("g - r (AB mag)"), "the colour-magnitude diagram")
    assert g["y0"] > g["y1"]  # magnitudes: brighter up
    ylabel = p.page.evaluate(JS_Y_LABELS)
    assert "r_psfFlux (AB mag)" in ylabel
    assert caption_attr(p, "scatter-caption", "data-points") == n
    want = sorted(colour[np.isfinite(colour) & np.isfinite(mag)])
    assert any(s["x"] is not None and len(s["x"]) == n and sorted(s["x"]) == pytest.approx(want)
               for s in points_sources(p))
    p.page.wait_for_timeout(500)
    p.shot("tools-05-cmd")
    assert p.errors == []


def test_sky_density_map_total_is_the_row_count(open_page, server):
    _st, rows = reference_rows(server["repo"])
    p = open_page()
    p.open_card("density")
    p.wait_for(lambda: caption_attr(p, "density-caption", "data-total"), "the density map")
    assert caption_attr(p, "density-caption", "data-total") == len(rows)
    sums = p.wait_for(lambda: [s["image_sum"] for s in p.page.evaluate(JS_SOURCES) if s["image_sum"]],
                      "the density grid")
    assert len(rows) in [round(s) for s in sums]  # the grid in the browser holds every row once
    p.page.locator(".density-map").first.scroll_into_view_if_needed()
    p.page.wait_for_timeout(500)
    p.shot("tools-06-density")
    assert p.errors == []
