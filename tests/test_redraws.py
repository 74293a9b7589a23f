"""The image's and the histogram's redraws run once per batch of state changes (issue 12): however
often the panels ask during a batch, a served session gets one next-tick callback."""
from __future__ import annotations


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
