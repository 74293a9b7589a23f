"""The page's look: accent colour, small CSS snippets and HTML helpers shared by the panels.

The CSS hooks other tools rely on (DESIGN.md: ``image-title``, ``hist-caption``,
``explorer-error``, ``sky-plot``) are set by the panels that show those things.
"""
from __future__ import annotations

import html

from ..render.colors import hex_color

ACCENT = "#0b6e82"
CARD = dict(sizing_mode="stretch_width", header_background="#e8f1f3", margin=(5, 5))
HEADER = {"font-weight": "600", "color": ACCENT, "margin-top": "6px"}
MASK_SWATCHES = 32  # mask planes given a colour swatch in the sidebar (afw has about 20; a mask has at most 32)
# The mask planes' checkboxes: two columns, each name on one line (DETECTED_NEGATIVE), and before each
# name a swatch of the colour given as ``--mask-k`` on the widget (controls.mask_swatch_styles).
MASK_GROUP_CSS = (
    ":host .bk-input-group { display: grid; grid-template-columns: 1fr 1fr; column-gap: 6px; row-gap: 0; }"
    " :host .bk-input-group label { white-space: nowrap; font-size: 11px; overflow: hidden; margin: 0;"
    " display: flex; align-items: center; }"
    " :host .bk-input-group label span::before { content: ''; display: inline-block; width: 12px; height: 12px;"
    " border: 1px solid #555; margin-right: 4px; vertical-align: middle; background: transparent; }"
    + "".join(f" :host .bk-input-group label:nth-child({k + 1}) span::before"
              f" {{ background: var(--mask-{k}, transparent); }}" for k in range(MASK_SWATCHES)))
NOTE_COLOR, WARNING_COLOR = "#555", "#8a5a00"  # information and caveats: never the red of errors
ROW_PX = 36  # a Tabulator row (34 px in Chromium) and its header, for tables sized to show every row
# A table cell's text breaks anywhere when it has to: a file path or a dataset type name has no space
# to wrap at, and a cell cut it off at the column's edge; headers a little smaller than the values and
# only the sort arrow's own room beside them (12 px at 4 px from the edge; the theme keeps 25 px), so a
# narrow column's title fits (Tabulator's styles live in its shadow root).
WRAP_CELLS_CSS = (":host .tabulator-cell { overflow-wrap: anywhere; }"
                  " :host .tabulator-col-title { font-size: 0.85em; }"
                  " :host .tabulator-col.tabulator-sortable .tabulator-col-title { padding-right: 16px !important; }")


def whole_table(max_rows: int, columns: list[dict] | None = None) -> dict:
    """Tabulator options for a read-only table that shows every value whole, as tall as its rows
    up to about ``max_rows`` rows of two lines (then it scrolls).

    A fixed height hid the last rows once long values wrapped onto more lines (a wrapped row is
    taller than :data:`ROW_PX`; in a narrow notebook output more of them wrap). ``columns``:
    Tabulator column definitions (``field``, ``widthGrow``, ``minWidth``) sharing the width, which
    Tabulator shares again when the table is resized (percentage widths were kept from the first
    layout, so a table drawn wide then narrowed scrolled sideways). Panel's one-pixel filler
    column for editor pop-ups is left out: the table has no editor, and the column made it 9 px
    wider than its box."""
    options = {"layout": "fit_columns", "height": None, "max_height": ROW_PX * (2 * max_rows + 1) + 14,
               "stylesheets": [WRAP_CELLS_CSS], "container_popup": False}
    if columns:
        options["configuration"] = {"columns": columns, "columnDefaults": {"headerWordWrap": True}}
    return options
SUMMARY_CSS = ("<style>.stats{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}.stat{background:#f3f7f8;"
               "border-radius:6px;padding:6px 12px;min-width:90px}"
               ".stat .v{font-size:18px;font-weight:600;color:#0b3954}"
               ".stat .k{font-size:11px;color:#567}.repo-line{margin-bottom:6px;color:#333}"
               ".missing-files summary{cursor:pointer;list-style:none}.missing-files summary::-webkit-details-marker"
               "{display:none}.missing-files[open] .v{color:#a33}.missing-ids{margin:6px 0 0;padding-left:16px;"
               "font-size:12px;max-height:220px;overflow:auto}.band-line{margin-top:6px;font-size:12px;color:#456}"
               "</style>")


def swatch(color: str) -> str:
    """A small square of a colour (mask legend): a colour name as the image draws it (afw's
    ``green`` is #00ff00, CSS's #008000)."""
    return (f'<span style="display:inline-block;width:12px;height:12px;background:{hex_color(color)};'
            f'border:1px solid #555;margin-right:4px;vertical-align:middle"></span>')


def message_html(text: str, css_class: str = "panel-message", color: str = "#777", height: int = 0) -> str:
    """A short message shown in place of a view."""
    style = f"padding:30px;color:{color}" + (f";min-height:{height}px" if height else "")
    return f'<div class="{css_class}" style="{style}">{html.escape(text)}</div>'
