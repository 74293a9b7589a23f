"""What every panel shares: the state it views, and an error boundary.

A panel is a :class:`Panel`: a Panel ``Viewer`` over the one
:class:`~explorer.state.ExplorerState`. Its callbacks run inside :meth:`Panel.guard` (or build
their elements through :meth:`Panel.safe`), so a failure shows a message in that panel and is
reported once; the rest of the page keeps working (DEVELOPERS.md: a failure in one view never
takes the page down).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import panel as pn
import param

from ..errors import ExplorerError
from ..state import ExplorerState
from .style import message_html

log = logging.getLogger(__name__)


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
