"""One session's work changes nothing on another session's page (issue 12): Panel's busy indicator
is one spinner for the whole process, turned on and off around every session's callbacks; the page
has none, so a click sends the other open pages nothing (with it, each click sent every open page
two messages, and every page's spinner turned for someone else's click)."""
from __future__ import annotations

from bokeh.document import Document
from panel.io.state import state


def _served_page(explorer):
    doc = Document()
    explorer.template().server_doc(doc)
    return doc


def test_a_callback_in_one_session_changes_nothing_in_another(sample_gen3):
    from explorer.app import Explorer

    mine, theirs = Explorer(str(sample_gen3)), Explorer(str(sample_gen3))
    _served_page(mine)
    their_doc = _served_page(theirs)
    changes = []
    their_doc.on_change(lambda event: changes.append(getattr(event, "attr", type(event).__name__)))
    # what Panel does around each of a session's widget callbacks (panel.reactive), here for "mine"
    state._add_busy_event("a click in my session")
    try:
        mine.state.band = next(b for b in mine.state.param.band.objects if b != mine.state.band)
    finally:
        state._remove_busy_event("a click in my session")
    assert changes == []
