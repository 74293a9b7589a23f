"""What every panel shares: the state it views, and an error boundary.

A panel is a :class:`Panel`: a Panel ``Viewer`` over the one
:class:`~explorer.state.ExplorerState`. Its callbacks run inside :meth:`Panel.guard` (or build
their elements through :meth:`Panel.safe`), so a failure shows a message in that panel and is
reported once; the rest of the page keeps working (DEVELOPERS.md: a failure in one view never
takes the page down).

A panel works only while it is shown (:attr:`Panel.active`; the page ties it to the panel's card
being open): it follows the state through :meth:`Panel.subscribe` rather than ``state.param.watch``,
so a closed tool neither builds its content nor recomputes on a click elsewhere, and opening it
brings it up to date at once. What must work with the card closed (URL keys, image overlays)
lives in the state and in the image panel, never in a tool panel.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import panel as pn
import param

from ..errors import ExplorerError
from ..state import ExplorerState
from .style import message_html

log = logging.getLogger(__name__)


def answer_at_once(*widgets: Any) -> None:
    """Have the server act on these widgets' changes from the browser at once.

    Panel waits 50 ms (``Syncable._debounce``) after a change from the browser before it acts,
    to gather a burst of changes into one: a slider dragged, keys typed. A click on a button, a
    choice in a list or a tick in a box is one change, for which the wait was only latency: a
    fifth of a click's time to pixels in the browser (BENCHMARKS.md). Changes the browser sends in
    one message are still applied together.
    """
    for widget in widgets:
        widget._debounce = 0


def describe_failure(exc: BaseException) -> str:
    """One line for a failure: an ExplorerError's own message, else the exception's type and text."""
    if isinstance(exc, ExplorerError):
        return " ".join(str(exc).split())
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300]


class Panel(pn.viewable.Viewer):
    """A view of the page over the shared state (subclasses build their widgets in ``__init__``)."""

    state = param.ClassSelector(class_=ExplorerState, doc="What the page shows")
    title: str = ""  # the card's title on the page
    failure = param.String(default="", doc="What failed the last time this panel built, or ''")
    active = param.Boolean(default=True, doc="Whether the panel is shown and follows the state (a tool's "
                           "card open); while False it does no work, and becoming True brings it up to date")
    opened_by: tuple[str, ...] = ()  # state parameters whose value in a link opens this panel's card

    def __init__(self, **params):
        super().__init__(**params)
        self._follows: list[tuple[Callable[..., Any], tuple[str, ...], Any, bool]] = []
        self._watchers: list[tuple[Any, Any]] = []
        self._content: pn.Column | None = None
        self.param.watch(self._on_active, "active")

    # ----- working only while shown -------------------------------------------------------------
    def subscribe(self, callback: Callable[..., Any], names: Sequence[str], source: Any = None,
               on_open: bool = True) -> None:
        """Call ``callback(*events)`` when any of ``names`` of ``source`` (default: the state)
        changes, while the panel is active; and ``callback()`` now (active) or on becoming active
        (``on_open=False``: not then, when another subscribed callback already brings it up to date).

        Use this instead of ``state.param.watch`` in a panel that can be hidden: the watcher exists
        only while the panel is active."""
        entry = (callback, tuple(names), self.state if source is None else source, on_open)
        self._follows.append(entry)
        if self.active:
            self._subscribe(entry)
            if on_open:
                callback()

    def _subscribe(self, entry) -> None:
        callback, names, source, _on_open = entry
        self._watchers.append((source, source.param.watch(callback, list(names))))

    def _on_active(self, event) -> None:
        if event.new:
            for entry in self._follows:
                self._subscribe(entry)
            if self._content is not None and not self._content.objects:
                self._content.objects = [self]  # shown: its widgets and plots are built now
            for callback, _names, _source, on_open in list(self._follows):
                if on_open:
                    callback()
        else:
            watchers, self._watchers = self._watchers, []
            for source, watcher in watchers:
                source.param.unwatch(watcher)
            if self._content is not None:
                self._content.objects = []  # hidden: its plots leave the page (and stop following)

    def content(self) -> pn.Column:
        """What a card holds: the panel while it is active, else an empty column (it receives the
        panel when the panel becomes active), so a closed tool has no models in the browser."""
        if self._content is None:
            self._content = pn.Column(*([self] if self.active else []), sizing_mode="stretch_width")
        return self._content


    def attach(self, page: Any) -> None:
        """Called once the page has built every panel: a panel that works with another (a tool
        that centres the image, say) finds it here as ``page.panels[name]``. Default: nothing."""

    def safe(self, what: str, build: Callable[[], Any], fallback: Callable[[str], Any], report: bool = True) -> Any:
        """``build()``, or on any exception ``fallback(message)``: the failure is logged, said in
        place (the fallback shows it) and, with ``report``, reported to the page's banner."""
        try:
            result = build()
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            if not isinstance(exc, ExplorerError):
                log.exception("%s", what)
            message = f"{what} failed: {describe_failure(exc)}"
            self.failure = message
            if report:
                self.state.report(message)
            return fallback(message)
        if self.failure.startswith(f"{what} failed:"):  # (another part's failure stays said)
            self.failure = ""
        return result

    def guard(self, what: str, build: Callable[[], Any], height: int = 120) -> Any:
        """``build()``, or a message pane naming what failed (the panel's error boundary)."""
        return self.safe(what, build, lambda message: pn.pane.HTML(
            message_html(message, "panel-error", "#a33", height), sizing_mode="stretch_width"))
