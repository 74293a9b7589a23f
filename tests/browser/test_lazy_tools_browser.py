"""Tools in a real Chromium: closed at first, a button each and no card; a click on the button
opens one and it shows the state as it is now; a click on its card's header closes it and its
button follows; a link with ``grid=1`` opens the go-to card (its sky-axes switch) and the grid is
drawn over the image, and it stays drawn when that card is closed again."""
from __future__ import annotations

from pagekit import JS_CARD_COLLAPSED, Page

JS_TEXTS = """
() => {
  const out = [];
  for (const m of Bokeh.documents[0].all_models) {
    if (!m.data || typeof m.data !== 'object') continue;
    const data = m.data instanceof Map ? Object.fromEntries(m.data) : m.data;
    if (data.text) out.push(...Array.from(data.text, String));
  }
  return out;
}
"""


def _collapsed(p: Page, name: str):
    return p.page.evaluate(JS_CARD_COLLAPSED, f"explorer-card-{name}")


def _pressed(p: Page, name: str) -> bool:
    return "active" in (p.tool_button(name).get_attribute("class") or "")


def test_a_closed_tool_is_empty_and_opening_it_shows_the_current_state(open_page):
    p = open_page()
    assert _collapsed(p, "colorbar") is None and _collapsed(p, "table") is None  # a button, no card
    assert _collapsed(p, "image") is False
    assert p.page.locator(".explorer-tools button").count() == 11 and not _pressed(p, "colorbar")
    assert p.page.locator(".colorbar-limits").count() == 0  # nothing of a closed tool on the page
    p.page.locator(".w-plane button", has_text="variance").first.click()
    p.wait_for(lambda: "variance" in p.text(".image-title") or p.page.url.find("plane=variance") >= 0,
               "the variance plane")
    p.open_card("colorbar")  # a click on its header
    p.wait_for(lambda: p.text(".colorbar-limits").startswith("variance:"), "the colour bar of the variance plane")
    p.page.locator(".w-plane button", has_text="image").first.click()  # open: it follows
    p.wait_for(lambda: p.text(".colorbar-limits").startswith("image:"), "the colour bar of the image plane")
    assert _pressed(p, "colorbar") and _collapsed(p, "table") is None  # the other tools: no card
    p.shot("lazy-01-colorbar-opened")
    p.page.locator(".explorer-card-colorbar .card-header").first.click()  # closed by its header
    p.wait_for(lambda: _collapsed(p, "colorbar") is True and not _pressed(p, "colorbar"),
               "the card to close and its button to follow")
    p.tool_button("colorbar").click()  # and opened again by its button
    p.wait_for(lambda: _collapsed(p, "colorbar") is False and _pressed(p, "colorbar"), "the card to open again")
    assert p.errors == []


def test_a_link_with_grid_opens_the_goto_card_and_the_grid_draws_even_when_it_is_closed(open_page):
    p = open_page("?grid=1")
    assert _collapsed(p, "goto") is False and _collapsed(p, "psf") is None and _pressed(p, "goto")
    p.wait_for(lambda: p.page.locator(".w-grid input").count() > 0, "the sky-axes switch")
    p.wait_for(lambda: any("h" in t for t in p.page.evaluate(JS_TEXTS)), "the grid's RA labels")
    p.page.locator(".explorer-card-goto .card-header").first.click()  # close the card
    p.wait_for(lambda: _collapsed(p, "goto") is True and not _pressed(p, "goto"),
               "the go-to card to close and its button to follow")
    p.wait_for(lambda: p.page.locator(".w-grid input").count() == 0, "the switch to leave the page")
    assert any("h" in t for t in p.page.evaluate(JS_TEXTS))  # the layer is the image's: still drawn
    assert "grid=1" in p.page.url
    p.shot("lazy-02-grid-card-closed")
    assert p.errors == []
