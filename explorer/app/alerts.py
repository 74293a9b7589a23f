"""The error banner: the state's last problem as an alert above the views, and a toast."""
from __future__ import annotations

import panel as pn

from .base import Panel


class ErrorBanner(Panel):
    """Shows ``state.error`` in an alert (CSS hook ``explorer-error``) and as a notification."""

    def __init__(self, **params):
        super().__init__(**params)
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width",
                                   css_classes=["explorer-error"])
        self.state.param.watch(self._on_error, ["error_count"])
        if self.state.error:  # reported while the page was being built (a refused ?repo=, a missing default)
            self.alert.object = f"**Problem:** {self.state.error}"
            self.alert.visible = True

    @property
    def visible(self) -> bool:
        return bool(self.alert.visible)

    @property
    def text(self) -> str:
        return self.alert.object if self.alert.visible else ""

    def _on_error(self, _event=None) -> None:
        message = self.state.error
        self.alert.object = f"**Problem:** {message}"
        self.alert.visible = bool(message)
        notifications = getattr(pn.state, "notifications", None)
        if notifications is not None and message:
            try:
                notifications.error(message, duration=8000)
            except Exception:  # no notification area (e.g. a static export): the alert suffices
                pass

    def __panel__(self):
        return self.alert
