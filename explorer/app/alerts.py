"""The error banner: the state's last problem as an alert over the top of the views, and a toast.

The alert floats (fixed, below the header) instead of taking a place in the page: appearing and
disappearing, it moves nothing, so a click aimed at the sky map lands where it was aimed. It
clears when the next selection works. Toasts go to the lower left, over the sidebar, not the image.
"""
from __future__ import annotations

import panel as pn

from .base import Panel

FLOATING = {"position": "fixed", "top": "62px", "right": "18px", "z-index": "1000", "max-width": "min(720px, 60vw)",
            "box-shadow": "0 2px 10px rgba(0,0,0,0.25)"}
TOAST_POSITION = "bottom-left"


class ErrorBanner(Panel):
    """Shows ``state.error`` in an alert (CSS hook ``explorer-error``) and as a notification."""

    def __init__(self, **params):
        super().__init__(**params)
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["explorer-error"],
                                   styles=FLOATING)
        self.state.param.watch(self._on_error, ["error_count"])
        self.state.param.watch(self._on_cleared, ["error"])
        if self.state.error:  # reported while the page was being built (a refused ?repo=, a missing default)
            self.alert.object = f"**Problem:** {self.state.error}"
            self.alert.visible = True

    @property
    def visible(self) -> bool:
        return bool(self.alert.visible)

    @property
    def text(self) -> str:
        return self.alert.object if self.alert.visible else ""

    def _on_cleared(self, _event=None) -> None:
        if not self.state.error and self.alert.visible:
            self.alert.visible = False

    def _on_error(self, _event=None) -> None:
        message = self.state.error
        self.alert.object = f"**Problem:** {message}"
        self.alert.visible = bool(message)
        notifications = getattr(pn.state, "notifications", None)
        if notifications is not None and message:
            try:
                if notifications.position != TOAST_POSITION:
                    notifications.position = TOAST_POSITION
                notifications.error(message, duration=8000)
            except Exception:  # no notification area (e.g. a static export): the alert suffices
                pass

    def __panel__(self):
        return self.alert
