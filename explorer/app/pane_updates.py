"""A text pane's new text, sent without new stylesheets.

Panel's HTML and Markdown panes send a new ``object`` as every property of the pane's model, its
stylesheets included, freshly made from Panel's distribution address. In a served session the page
was built with the server's own stylesheet addresses (``static/extensions/panel/...``), and the
update's are the CDN's (``https://cdn.holoviz.org/...``). So each new image title, histogram caption,
visit note, mask legend or pixel readout also sent four to seven new ``ImportedStyleSheet`` models:
the server walks the document's models again for them, and the browser swaps the pane's style links
for ones it must fetch from the internet (which a site without internet access cannot reach).
:func:`keep_pane_stylesheets` makes a new object leave the stylesheets as they are; a change of the
pane's ``stylesheets`` parameter still goes through Panel's own update, which resolves addresses.
"""
from __future__ import annotations

from typing import Any

from .replacements import replace_once


def _without_stylesheets(update: Any) -> Any:
    def update_object_only(self: Any, ref: str, model: Any) -> None:
        properties = self._get_properties

        def object_properties(doc: Any) -> dict[str, Any]:
            props = properties(doc)
            props.pop("stylesheets", None)
            return props

        self._get_properties = object_properties  # (this pane, this call: a session's panes update one at a time)
        try:
            update(self, ref, model)
        finally:
            del self._get_properties

    return update_object_only


def keep_pane_stylesheets() -> bool:
    """Make the HTML, Markdown and Str panes of this process send a new object without new
    stylesheets. Idempotent; returns False, changing nothing, when Panel's panes have no such step."""
    try:
        from panel.pane.markup import HTMLBasePane
    except ImportError:
        return False
    return replace_once(HTMLBasePane, "_update", _without_stylesheets)
