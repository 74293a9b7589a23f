"""What a new user saw cut off on the page, measured in a real Chromium at two widths: the served
page in a 1,400 px window, and in a narrower one whose panels are as wide as in a JupyterLab
notebook's output (about 900 px, the sidebar beside the panels; :data:`WIDTHS`).

Every check reads the browser's own layout: a cell's text is whole when its ``scrollWidth`` is no
more than its ``clientWidth``; a row is in view when its box is inside the table's visible box; a
widget is inside its card when its box is. Screenshots go to ``test-artifacts/browser/``.
"""
from __future__ import annotations

import pytest
from pagekit import js_on_plot

pytestmark = pytest.mark.browser

# a browser window; a window whose main column is as wide as a notebook's: JupyterLab gives an
# output about 900 px, of which the page's sidebar takes 330 px (explorer.app.page.Explorer.__panel__),
# leaving the panels about 560 px; the served page's sidebar takes 360 px and its margins
WIDTHS = [1400, 960]

# the texts of the elements matched by the locator whose content is wider than their box (cut off)
JS_CUT = """els => els.filter(e => e.offsetParent !== null && e.clientWidth > 0 && !e.classList.contains('empty')
                                 && e.scrollWidth > e.clientWidth + 1)
                      .map(e => (e.textContent || '').trim() + ` (${e.scrollWidth} > ${e.clientWidth})`)"""

# the elements inside a card (shadow roots too) that reach past its right edge: [what, right, card right]
JS_PAST_CARD = """
(card) => {
  const edge = card.getBoundingClientRect().right;
  const out = [];
  (function walk(root) {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && r.right > edge + 1 && getComputedStyle(el).visibility !== 'hidden')
        out.push([el.tagName + '.' + String(el.className).slice(0, 40) + ' '
                  + (el.textContent || '').trim().slice(0, 30), Math.round(r.right), Math.round(edge)]);
    }
  })(card.shadowRoot || card);
  return out;
}
"""

# the widths a <select>'s longest option needs (its text and the box's padding) and has
JS_SELECT_FITS = """
(sel) => {
  const cs = getComputedStyle(sel);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = cs.font;
  const text = Math.max(...Array.from(sel.options).map(o => ctx.measureText(o.textContent).width));
  return {needs: Math.ceil(text + parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight)),
          has: sel.clientWidth};
}
"""


def at_width(p, width: int) -> None:
    """Resize the page's window to ``width`` (the page lays itself out again)."""
    p.page.set_viewport_size({"width": width, "height": 1500})


def cut_texts(p, selector: str) -> list[str]:
    return p.page.locator(selector).evaluate_all(JS_CUT)


def scrolls_sideways(p, table: str) -> bool:
    """Whether the first table matching ``table`` is wider than its visible box (some columns
    are shown only after a sideways scroll)."""
    holder = p.page.locator(f"{table} .tabulator-tableholder")
    return bool(holder.count()) and holder.first.evaluate("h => h.scrollWidth > h.clientWidth + 1")


def rows_out_of_view(p, table: str) -> list[str]:
    """The rows of the first table matching ``table`` (a CSS selector) not wholly inside its
    visible box (the table holder, which scrolls), or ["no rows"] before it has any."""
    rows = p.page.locator(f"{table} .tabulator-row")
    if not rows.count():
        return ["no rows"]
    holder = p.page.locator(f"{table} .tabulator-tableholder").first.bounding_box()
    out = []
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        if box is None or box["y"] < holder["y"] - 1 or box["y"] + box["height"] > holder["y"] + holder["height"] + 1:
            out.append(rows.nth(i).inner_text().split("\n")[0].strip())
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_the_summary_table_shows_every_value_whole(open_page, width):
    """In a notebook the "dimensions" column was cut at the output's edge (its text hidden, no
    wrap, no scroll); in a narrow window the table scrolled sideways to show the storage class
    and dimensions; at 1,400 px a calexp's dimensions lost their end. Long values now wrap, and the
    table grows with its wrapped rows: every dataset type stays in view."""
    p = open_page()
    at_width(p, width)
    cells = ".dataset-table .tabulator-cell, .dataset-table .tabulator-col-title"
    p.wait_for(lambda: p.page.locator(".dataset-table .tabulator-row").count() >= 7, "the dataset table's rows")
    try:
        p.wait_for(lambda: not cut_texts(p, cells) and not rows_out_of_view(p, ".dataset-table")
                   and not scrolls_sideways(p, ".dataset-table"),
                   "every cell whole, every column and every row in view", timeout=15)
    finally:
        p.shot(f"polish-summary-{width}")
    text = p.text(".dataset-table")
    assert "physical_filter, visit" in text and "deepCoadd_forced_src" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_the_exposure_table_shows_every_row_and_the_whole_file_path(open_page, width):
    """The overview table was 330 px tall for 11 rows: the last ("file") was behind a scroll,
    and its path, which has no space to wrap at, was cut at the column's edge."""
    p = open_page()
    at_width(p, width)
    table = ".explorer-card-info"
    p.wait_for(lambda: p.page.locator(f"{table} .tabulator-row").count() >= 10, "the overview's rows")
    try:
        p.wait_for(lambda: not rows_out_of_view(p, table) and not cut_texts(p, f"{table} .tabulator-cell"),
                   "every overview row in view and every value whole", timeout=15)
    finally:
        p.shot(f"polish-info-{width}")
    rows = " ".join(p.page.locator(f"{table} .tabulator-row").all_inner_texts())
    assert "file" in rows and ".fits" in rows


@pytest.mark.parametrize("tool", ["rgb", "export", "compare"])
def test_the_tool_controls_stay_inside_their_card_at_notebook_width(open_page, tool):
    """At notebook width the RGB tool's Q slider and the export tool's "FITS cutout at RA/Dec"
    button were laid out in one row past the card's right edge (the page scrolled sideways)."""
    p = open_page()
    at_width(p, 900)
    p.open_card(tool)
    card = p.page.locator(f".explorer-card-{tool}").first
    p.wait_for(lambda: p.page.locator(f".explorer-card-{tool} select, .explorer-card-{tool} input").count() > 0,
               f"the {tool} tool's controls")
    try:
        p.wait_for(lambda: not card.evaluate(JS_PAST_CARD), f"the {tool} tool's controls inside its card", timeout=15)
    finally:
        p.shot(f"polish-{tool}-900")


def test_the_compare_tool_says_what_b_shows_whole(open_page):
    """The "B shows" select showed "a band of the coad": 160 px for its longest option."""
    p = open_page()
    p.open_card("compare")
    sel = p.page.locator(".w-cmp-kind select")
    p.wait_for(lambda: sel.count() == 1, "the B shows select")
    fit = sel.evaluate(JS_SELECT_FITS)
    assert fit["needs"] <= fit["has"], fit


# the x-axis tick labels of the plot with a given x label: their centres on the screen and widths
JS_X_TICK_LABELS = js_on_plot("""
    for (const av of v.renderer_views.values()) {
      if (typeof av.compute_labels !== "function" || av.dimension !== 0) continue;
      const labels = av.compute_labels(av.tick_coords.major[0]);
      const [sxs] = av.scoords(av.tick_coords.major);
      const font = av.visuals.major_label_text.values();  // (the axis measures its labels so)
      const widths = labels.items.map(l => { l.visuals = font; return l.size().width; });
      return {sx: Array.from(sxs), width: widths, text: labels.items.map(l => l.text)};
    }
    return null;
""")


def test_the_compare_tool_pixel_labels_do_not_run_into_each_other_at_notebook_width(open_page):
    """At notebook width each of the two compare plots is about 200 px wide, and its six
    five-digit x labels ("13800", "13850", ...) overlapped into one unreadable line."""
    p = open_page()
    at_width(p, WIDTHS[-1])
    p.open_card("compare")
    ticks = p.wait_for(lambda: p.page.evaluate(JS_X_TICK_LABELS, "x (parent pixels) [A]"),
                       "the compare plot's axis", 60)
    p.shot("polish-compare-ticks")
    assert len(ticks["sx"]) >= 2, ticks
    for i in range(len(ticks["sx"]) - 1):
        gap = ticks["sx"][i + 1] - ticks["sx"][i]
        assert gap >= (ticks["width"][i] + ticks["width"][i + 1]) / 2 + 2, ticks
