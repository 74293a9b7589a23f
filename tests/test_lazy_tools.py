"""Tool panels work only while their card is open (explorer.app.base.Panel.active): a closed tool
neither builds nor recomputes on a state change, opening it shows the current state at once,
closing it stops the work again; what a link asks of a tool (grid=, limits=) still applies with
the card closed, and opens the card that shows it."""
from __future__ import annotations

import panel as pn
import pytest


@pytest.fixture
def page(sample_gen3):
    from explorer.app import Explorer

    return Explorer(str(sample_gen3))


def _limits_line(bar) -> str:
    return bar.caption.object or ""


def test_tools_start_closed_and_the_core_panels_open(page):
    from explorer.app import PANELS

    for spec in PANELS:
        assert page.panels[spec.name].active is not spec.tool, spec.name
    page.main()
    assert page.card("psf").collapsed and not page.card("image").collapsed


def test_a_closed_tool_does_no_work_and_opening_it_shows_the_current_state(page):
    st, bar, psf = page.state, page.colorbar, page.psf
    assert _limits_line(bar) == "" and bar.bar.object is None  # never shown: nothing built
    assert psf.caption.object == "" and psf.plot.object is None
    st.plane = "variance"
    st.stretch = "linear"
    assert _limits_line(bar) == "" and psf.caption.object == ""  # a click elsewhere costs them nothing
    content = bar.content()
    assert content.objects == []  # no widgets of a closed card in the page

    bar.active = True  # as a click on its header does
    assert len(content.objects) == 1  # its widgets and plots are on the page now
    assert "variance:" in _limits_line(bar) and "linear stretch" in _limits_line(bar)
    assert bar.bar.object is not None

    bar.active = False  # closed again: it stops following
    st.plane = "image"
    assert "variance:" in _limits_line(bar) and content.objects == []
    bar.active = True
    assert "image:" in _limits_line(bar)


def test_the_card_and_the_panel_open_together(page):
    page.main()
    card = page.card("colorbar")
    assert card.collapsed and not page.colorbar.active
    card.collapsed = False  # the header clicked
    assert page.colorbar.active and "colorbar-limits" in _limits_line(page.colorbar)
    page.colorbar.active = False
    assert card.collapsed


def test_catalog_tools_follow_only_while_open(page):
    table, st = page.table, page.state
    assert len(table.table.value) == 0
    page.open_tools("table")
    total = len(table.table.value)
    assert total > 0 and f'data-total="{total}"' in table.caption.object
    table.active = False
    other = next(c for c in st.param.catalog.objects if c != st.catalog)
    st.catalog = other
    assert f'data-total="{total}"' in table.caption.object  # closed: still the previous catalog's rows
    table.active = True
    assert st.catalog_ref.dataset_type in table.caption.object


def test_a_link_applies_tool_keys_with_the_card_closed_and_opens_the_card(sample_gen3):
    from bokeh.models import GlyphRenderer, Text

    from explorer.app import Explorer

    repo = str(sample_gen3)
    plain = Explorer(repo, query={"repo": repo, "limits": "manual", "vmin": "-5", "vmax": "250", "grid": "0"})
    assert plain.state.display_range() == (-5.0, 250.0)  # the image is drawn with the link's limits
    assert plain.colorbar.active and not plain.goto.active  # grid=0 asks nothing of the go-to card

    page = Explorer(repo, query={"repo": repo, "grid": "1"})
    assert page.goto.active and page.state.show_grid and not page.colorbar.active
    page.goto.active = False  # the card closed: the grid, an image overlay, still draws
    root = page.image.view().get_root()
    texts = [r.data_source.data.get("text", []) for r in root.select({"type": GlyphRenderer})
             if isinstance(r.glyph, Text)]
    assert any(len(t) and any("h" in str(v) for v in t) for t in texts), texts  # RA labels (..h..m..s)


def test_a_tool_is_made_when_its_card_is_first_opened(page):
    """A tool nobody opens costs the session nothing: it is made on the first opening of its card."""
    page.main()
    assert page.panels.made("psf") is None and page.panels.made("image") is not None
    card = page.card("psf")
    assert card.collapsed and card.objects == []
    card.collapsed = False  # the header clicked
    psf = page.panels.made("psf")
    assert psf is not None and psf.active
    assert card.objects == [psf.content()] and len(psf.content().objects) == 1  # its widgets
    psf.active = False
    assert card.collapsed
    assert page.psf is psf  # made once


def test_the_shelf_has_a_button_per_tool_and_a_card_only_for_tools_opened(page):
    """Closed tools cost a button each, not a card: a card is made when its tool is first opened
    (its button, a link or code), stays when the tool closes, and the button follows the card."""
    from explorer.app import PANELS

    view = page.main()
    shelf = page.shelves[-1]
    tools = [spec.name for spec in PANELS if spec.tool]
    assert list(shelf.bar.options.values()) == tools and shelf.bar.value == []
    assert shelf.cards.objects == [] and page.panels.made("rgb") is None
    assert not any("explorer-card-rgb" in (o.css_classes or []) for o in view.select(pn.Card))

    shelf.bar.value = ["rgb"]  # its button pressed
    rgb = page.panels.made("rgb")
    assert rgb is not None and rgb.active
    (card,) = shelf.cards.objects
    assert "explorer-card-rgb" in card.css_classes and not card.collapsed and card.objects == [rgb.content()]

    page.open_tools("psf")  # from code: the button follows, the cards keep the registry's order
    assert shelf.bar.value == ["psf", "rgb"]
    assert [c.css_classes[-1] for c in shelf.cards.objects] == ["explorer-card-psf", "explorer-card-rgb"]

    card.collapsed = True  # closed by its header: the tool stops, its button is released, the card stays
    assert not rgb.active and shelf.bar.value == ["psf"] and card in shelf.cards.objects
    shelf.bar.value = ["psf", "rgb"]  # opened again by its button: the same card, open
    assert rgb.active and not card.collapsed and len(shelf.cards.objects) == 2


def test_a_link_that_opens_a_tool_presses_its_button(sample_gen3):
    from explorer.app import Explorer

    repo = str(sample_gen3)
    page = Explorer(repo, query={"repo": repo, "grid": "1"})
    page.main()
    shelf = page.shelves[-1]
    assert shelf.bar.value == ["goto"] and shelf.carded() == ["goto"]
    assert not shelf.cards.objects[0].collapsed
