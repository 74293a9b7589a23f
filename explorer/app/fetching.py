"""A line saying how far a slow remote fetch got ("fetching calexp_...fits: 3.1 of 12.0 MB from
HOST"), shown under the image title while the planes of a remote exposure are fetched in the
background (:meth:`explorer.state.ExplorerState._fetch_in_background`), hidden otherwise.

CSS hook: ``fetch-progress`` on the element holding the text.
"""
from __future__ import annotations

import html
from typing import Callable

import panel as pn

from ..state import ExplorerState


def progress_html(text: str) -> str:
    return (f'<div class="fetch-progress" style="color:#555;font-size:90%">{html.escape(text)}</div>'
            if text else '<div class="fetch-progress"></div>')


def fetch_progress_line(state: ExplorerState) -> pn.pane.HTML:
    """The progress line of one state: follows ``state.fetch_progress``, visible only while it says something."""
    pane = pn.pane.HTML(progress_html(state.fetch_progress), visible=bool(state.fetch_progress),
                        sizing_mode="stretch_width", margin=(0, 10))

    def follow(*_events) -> None:
        pane.param.update(object=progress_html(state.fetch_progress), visible=bool(state.fetch_progress))

    state.param.watch(follow, ["fetch_progress"])
    return pane


def session_defer() -> "Callable[[Callable[[], None]], None] | None":
    """For a served session: a function that runs a callback on the session's event loop (from any
    thread), for :attr:`ExplorerState.defer`; None elsewhere (a notebook, a script: no background
    fetches there, reads stay in the foreground)."""
    doc = getattr(pn.state, "curdoc", None)
    if doc is None or getattr(doc, "session_context", None) is None:
        return None
    from panel.io.state import set_curdoc

    def defer(fn: Callable[[], None]) -> None:
        def run() -> None:
            with set_curdoc(doc):
                fn()

        try:
            doc.add_next_tick_callback(run)
        except Exception:  # the session is gone: nobody to tell
            pass

    return defer
