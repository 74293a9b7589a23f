"""The server sends one PATCH-DOC message per run of changes (issue 12): the changes a locked
callback makes reach the same connections in one message, in order, and a browser that applies it
ends with the same document; changes that go to other connections start a message of their own."""
from __future__ import annotations

from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div, Range1d
from bokeh.protocol import Protocol
from bokeh.server.session import _PendingPatch

from explorer.app.patch_messages import combine_patch_messages, combined_patches


def _page():
    doc = Document()
    div, rng, source = Div(text="before"), Range1d(start=0, end=1), ColumnDataSource(data={"x": [1, 2]})
    for model in (div, rng, source):
        doc.add_root(model)
    return doc, div, rng, source


def _changes(doc, change):
    """The patch events ``change()`` makes on ``doc`` (what Bokeh's server collects while a locked
    callback runs)."""
    events = []
    doc.on_change(events.append)
    change()
    doc.remove_on_change(events.append)
    return events


def test_the_changes_of_one_callback_go_as_one_message_a_browser_applies_in_order():
    doc, div, rng, source = _page()
    browser = Document.from_json(doc.to_json())  # what a browser holds before the callback

    def redraw():
        rng.start, rng.end = 10, 20
        div.text = "first"
        source.data = {"x": [5, 6, 7]}
        div.text = "after"  # a later change of the same property: the last one must win

    events = _changes(doc, redraw)
    protocol, everyone = Protocol(), ("connection 1", "connection 2")
    messages = combined_patches([_PendingPatch(e, protocol, everyone) for e in events])

    assert len(events) == 5 and len(messages) == 1
    message, connections = messages[0]
    assert connections == everyone and message.msgtype == "PATCH-DOC"
    assert len(message.content["events"]) == 5
    message.apply_to_document(browser)
    assert browser.get_model_by_id(div.id).text == "after"
    assert (browser.get_model_by_id(rng.id).start, browser.get_model_by_id(rng.id).end) == (10, 20)
    assert list(browser.get_model_by_id(source.id).data["x"]) == [5, 6, 7]


def test_a_change_for_other_connections_starts_a_new_message():
    doc, div, rng, _source = _page()
    events = _changes(doc, lambda: (setattr(rng, "start", 3), setattr(div, "text", "x"), setattr(rng, "end", 9)))
    protocol = Protocol()
    everyone, others = ("a", "b"), ("b",)  # the second change came from connection "a": not echoed to it
    pending = [_PendingPatch(events[0], protocol, everyone), _PendingPatch(events[1], protocol, others),
               _PendingPatch(events[2], protocol, everyone)]
    messages = combined_patches(pending)
    assert [connections for _m, connections in messages] == [everyone, others, everyone]
    assert [len(m.content["events"]) for m, _c in messages] == [1, 1, 1]


def test_the_page_installs_it_in_the_server():
    import bokeh.server.session as session

    from explorer.app.extensions import ensure_extensions

    ensure_extensions()
    assert session._serialize_patches is combined_patches
    assert combine_patch_messages() is True  # again: nothing changes


def test_the_redraws_a_batch_asks_for_run_once_each_in_one_callback_of_a_served_session():
    """``redraw_on_next_tick`` in a real served session (Panel's server on 127.0.0.1): however
    often the image and the histogram ask during a batch, the session gets one next-tick callback,
    which runs each flush once, in the order first asked; the next batch asks anew."""
    import threading

    import panel as pn
    from serve_helpers import free_port, http_get

    from explorer.app.redraws import redraw_on_next_tick

    ran: list[str] = []
    callbacks_added: list[int] = []
    second_batch_done = threading.Event()

    def page():
        doc = pn.state.curdoc
        image, histogram = object(), object()
        before = len(doc.session_callbacks)

        def second_batch():
            redraw_on_next_tick(image, lambda: (ran.append("image again"), second_batch_done.set()))

        for _ in range(3):
            redraw_on_next_tick(image, lambda: ran.append("image"))
            redraw_on_next_tick(histogram, lambda: (ran.append("histogram"), second_batch()))
        callbacks_added.append(len(doc.session_callbacks) - before)
        ran.append("batch asked")
        return pn.pane.Markdown("page")

    port = free_port()
    server = pn.serve({"page": page}, port=port, address="127.0.0.1", show=False, threaded=True,
                      websocket_origin=[f"127.0.0.1:{port}"])
    try:
        for _ in range(100):  # the server thread starts listening
            try:
                status, _h, _b = http_get(port, "/page", timeout=10)
                break
            except OSError:
                second_batch_done.wait(0.1)
        assert status == 200
        assert second_batch_done.wait(20), ran
    finally:
        server.stop()
    assert callbacks_added == [1]
    assert ran == ["batch asked", "image", "histogram", "image again"]
