"""The page's tools: one button each, and a card for each tool once it is opened.

A collapsed card costs a session about 85 KB of Panel and Bokeh objects: its header row, its
title pane and the row Panel wraps every pane in, each with a watcher on every synced parameter.
The eleven tools' closed cards were 0.9 MB of the 7.3 MB a page held (BENCHMARKS.md). The
shelf shows one button group instead (CSS hook ``explorer-tools``) and makes a tool's card the
first time the tool is opened: with its button, with a link that opens it, or from code that sets
its ``active``. The card then stays, collapsed while the tool is closed; the button and the card
header open and close the tool alike.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import panel as pn

from .style import ACCENT

# "Tools" before the buttons (drawn by CSS: a pane for it would cost a session a model and its
# watchers); the buttons wrap onto a second line in a narrow window instead of running off the page
SHELF_CSS = (f":host {{ display: flex; align-items: center; }}"
             f":host::before {{ content: 'Tools'; font-weight: 600; color: {ACCENT}; margin-right: 10px; }}"
             ":host .bk-btn-group { flex-wrap: wrap; row-gap: 4px; flex: 1 1 auto; }"
             ":host .bk-btn { flex: 0 0 auto; }")


class ToolShelf:
    """The tool buttons and the cards of the tools opened, in registry order.

    Parameters
    ----------
    labels : mapping
        ``tool name -> button label``, in the order the buttons and cards take.
    make_card : callable
        ``make_card(name) -> pn.Card``: the tool's card, open while the tool is (the page's
        :meth:`~explorer.app.page.Explorer.card`).
    set_active : callable
        ``set_active(name, active)``: open or close the tool (makes it on first opening).
    """

    def __init__(self, labels: Mapping[str, str], make_card: Callable[[str], pn.Card],
                 set_active: Callable[[str, bool], None]):
        self.order = list(labels)
        self._make_card, self._set_active = make_card, set_active
        self.bar = pn.widgets.CheckButtonGroup(
            options={label: name for name, label in labels.items()}, value=[], button_type="primary",
            button_style="outline", css_classes=["explorer-tools"], stylesheets=[SHELF_CSS],
            sizing_mode="stretch_width", margin=(8, 5, 4, 5))
        self.cards = pn.Column(sizing_mode="stretch_width", margin=0)
        self._carded: dict[str, pn.Card] = {}
        self._syncing = False
        self.bar.param.watch(self._on_buttons, "value")
        self.layout = pn.Column(self.bar, self.cards, sizing_mode="stretch_width", margin=0)

    def _on_buttons(self, event) -> None:
        if self._syncing:
            return
        for name in [n for n in event.new if n not in event.old]:
            self._set_active(name, True)
        for name in [n for n in event.old if n not in event.new]:
            self._set_active(name, False)

    def toggled(self, name: str, active: bool) -> None:
        """Tool ``name`` was opened or closed (by any means): its button follows, and a tool opened
        for the first time gets its card, in its place among the others."""
        if active and name not in self._carded:
            self._carded[name] = self._make_card(name)
            self.cards.objects = [self._carded[n] for n in self.order if n in self._carded]
        value = [n for n in self.order if (n in self.bar.value and n != name) or (n == name and active)]
        if value != list(self.bar.value):
            self._syncing = True
            try:
                self.bar.value = value
            finally:
                self._syncing = False

    def carded(self) -> Sequence[str]:
        """The tools that have a card on this shelf, in order."""
        return [n for n in self.order if n in self._carded]
