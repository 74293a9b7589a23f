"""The page's look: accent colour, small CSS snippets and HTML helpers shared by the panels.

The CSS hooks other tools rely on (DESIGN.md: ``image-title``, ``hist-caption``,
``explorer-error``, ``sky-plot``) are set by the panels that show those things.
"""
from __future__ import annotations

import html

ACCENT = "#0b6e82"
CARD = dict(sizing_mode="stretch_width", header_background="#e8f1f3", margin=(5, 5))
HEADER = {"font-weight": "600", "color": ACCENT, "margin-top": "6px"}
MASK_TOGGLE_CSS = ":host { white-space: nowrap; font-size: 11px; overflow: hidden; }"
NOTE_COLOR, WARNING_COLOR = "#555", "#8a5a00"  # information and caveats: never the red of errors
ROW_PX = 36  # a Tabulator row (34 px in Chromium) and its header, for tables sized to show every row
SUMMARY_CSS = ("<style>.stats{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.stat{background:#f3f7f8;"
               "border-radius:6px;padding:6px 12px;min-width:90px}"
               ".stat .v{font-size:18px;font-weight:600;color:#0b3954}"
               ".stat .k{font-size:11px;color:#567}.repo-line{margin-bottom:6px;color:#333}"
               ".missing-files summary{cursor:pointer;list-style:none}.missing-files summary::-webkit-details-marker"
               "{display:none}.missing-files[open] .v{color:#a33}.missing-ids{margin:6px 0 0;padding-left:16px;"
               "font-size:12px;max-height:220px;overflow:auto}.band-line{margin-top:6px;font-size:12px;color:#456}"
               "</style>")


def swatch(color: str) -> str:
    """A small square of a colour (mask legend)."""
    return (f'<span style="display:inline-block;width:12px;height:12px;background:{color};'
            f'border:1px solid #555;margin-right:4px;vertical-align:middle"></span>')


def message_html(text: str, css_class: str = "panel-message", color: str = "#777", height: int = 0) -> str:
    """A short message shown in place of a view."""
    style = f"padding:30px;color:{color}" + (f";min-height:{height}px" if height else "")
    return f'<div class="{css_class}" style="{style}">{html.escape(text)}</div>'
