"""One PATCH-DOC message per locked callback, not one per changed property.

Bokeh's server collects the document changes a locked callback makes (a next-tick callback, a
widget's ``on_change``) and sends each as its own PATCH-DOC message. The image's redraw changes the
image source, both ranges, the sources' source and the title: five messages. Each message costs the
server a walk over every model of the document (``synced_references``, about 560 models on this
page) and three or more websocket frames, and costs the browser a pass of its own over the
document. :func:`combine_patch_messages` makes the server send the consecutive changes that go to
the same connections as one message, in their order. That is what Panel itself does for the changes
it writes (``panel.io.document.write_events``): a PATCH-DOC message holds a list of events.
"""
from __future__ import annotations

from typing import Any

from .replacements import replace_once


def combined_patches(pending: list[Any]) -> list[tuple[Any, tuple]]:
    """The messages for Bokeh's pending patches: one per run of consecutive patches that share their
    document, protocol and connections (a patch made by a connection skips that connection, so
    its run ends there).

    Parameters
    ----------
    pending : list of ``bokeh.server.session._PendingPatch``
        The changes of one locked callback, in the order they were made.

    Returns
    -------
    list of (Message, tuple of ServerConnection)
        What Bokeh's ``_serialize_patches`` returns, with fewer messages.
    """
    from bokeh.io.doc import patch_curdoc  # (imported here: Bokeh loads only when a page is served)

    runs: list[list[Any]] = []
    for patch in pending:
        last = runs[-1][-1] if runs else None
        if (last is not None and last.connections == patch.connections and last.protocol is patch.protocol
                and last.event.document is patch.event.document):
            runs[-1].append(patch)
        else:
            runs.append([patch])
    messages = []
    for run in runs:
        first = run[0]
        with patch_curdoc(first.event.document):
            message = first.protocol.create("PATCH-DOC", [patch.event for patch in run])
            message.prepare()
        messages.append((message, first.connections))
    return messages


def combine_patch_messages() -> bool:
    """Make this process's Bokeh server send one PATCH-DOC message per run of changes
    (:func:`combined_patches`). Idempotent; returns False, changing nothing, when the installed
    Bokeh has no such step to replace (its messages are then as Bokeh makes them)."""
    try:
        from bokeh.server import session
    except ImportError:
        return False
    return replace_once(session, "_serialize_patches", lambda _bokehs: combined_patches)
