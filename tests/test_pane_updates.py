"""A text pane's new object is sent as its new text alone (issue 12): the stylesheets a served page
was given (the server's own addresses) stay, rather than being replaced at each update by new
stylesheet models that point at the CDN."""
from __future__ import annotations

import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ImportedStyleSheet
from panel.io.resources import CDN_DIST

from explorer.app.pane_updates import keep_pane_stylesheets

SERVED = "static/extensions/panel/"


def _served(pane):
    """The pane's model in a document, with the stylesheet addresses Panel's server gives a page."""
    doc = Document()
    model = pane.get_root(doc)
    doc.add_root(model)
    model.stylesheets = [ImportedStyleSheet(url=s.url.replace(CDN_DIST, SERVED))
                         if isinstance(s, ImportedStyleSheet) else s for s in model.stylesheets]
    return doc, model


@pytest.mark.parametrize("kind", [pn.pane.HTML, pn.pane.Markdown])
def test_a_new_object_changes_the_text_and_leaves_the_stylesheets(kind):
    assert keep_pane_stylesheets() is True
    pane = kind("<p>band g</p>" if kind is pn.pane.HTML else "band g")
    doc, model = _served(pane)
    sheets = list(model.stylesheets)
    assert any(isinstance(s, ImportedStyleSheet) and s.url.startswith(SERVED) for s in sheets)
    changed = []
    doc.on_change(lambda event: changed.append(getattr(event, "attr", None)))
    pane.object = "<p>band r</p>" if kind is pn.pane.HTML else "band r"
    assert "band r" in model.text
    assert changed == ["text"]
    assert all(a is b for a, b in zip(model.stylesheets, sheets)) and len(model.stylesheets) == len(sheets)


def test_a_pane_is_still_built_with_its_stylesheets():
    keep_pane_stylesheets()
    pane = pn.pane.HTML("x", stylesheets=[":host { color: red; }"])
    model = pane.get_root(Document())
    assert ":host { color: red; }" in model.stylesheets
    assert sum(isinstance(s, ImportedStyleSheet) for s in model.stylesheets) >= 2  # Panel's own
