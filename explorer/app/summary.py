"""The repository summary: headline numbers, the bands that have images, the dataset-type table,
the registered files missing on disk (the "missing files" card opens their data IDs) and the
backend's notes."""
from __future__ import annotations

import html
import threading
import weakref
from typing import Any, Optional

import panel as pn
import param

from ..bands import band_key
from ..errors import ExplorerError
from ..views.summary import dataset_table, summary_counts
from .base import Panel
from .style import NOTE_COLOR, SUMMARY_CSS, WARNING_COLOR, whole_table

MISSING_IDS_SHOWN = 200  # data IDs listed in the page (the CLI's --json lists them all)
TABLE_ROWS_SHOWN = 15  # dataset types shown whole; beyond, the table scrolls
# the columns share the table's width (none narrower than its title beside the sort arrow) and the
# text ones wrap: a notebook's output cut "dimensions" off at its edge
TABLE_COLUMNS = [{"field": "dataset type", "widthGrow": 3, "minWidth": 96},
                 {"field": "count", "widthGrow": 1, "minWidth": 72},
                 {"field": "missing", "widthGrow": 1, "minWidth": 88},
                 {"field": "storage class", "widthGrow": 2, "minWidth": 106},
                 {"field": "dimensions", "widthGrow": 4, "minWidth": 110}]
WRAPPED = ("dataset type", "storage class", "dimensions")


_BANDS_BY_KIND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per shared index (explorer.shared)
_BANDS_LOCK = threading.Lock()


def bands_by_kind(index: Any, bands: list[str]) -> dict[str, list[str]]:
    """``{"coadds": [...], "calexps": [...]}``: which of ``bands`` have images of each kind (one
    existence query per band and kind, bounded by the few bands a registry names), asked once
    per index: the index is shared by every session of the process, so a new session's summary
    asks the registry nothing (a dozen queries each session before)."""
    if index is None:
        return {}
    key = (getattr(index, "coadd_type", None), getattr(index, "calexp_type", None), tuple(bands))
    try:
        with _BANDS_LOCK:
            known = _BANDS_BY_KIND.setdefault(index, {})
            if key in known:
                return {k: list(v) for k, v in known[key].items()}
    except TypeError:  # (an index that cannot be weakly referenced: not remembered)
        known = {}
    out = _bands_by_kind(index, bands)
    with _BANDS_LOCK:
        known[key] = {k: list(v) for k, v in out.items()}
    return out


def _bands_by_kind(index: Any, bands: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label, dataset_type in (("coadds", getattr(index, "coadd_type", None)),
                                ("calexps", getattr(index, "calexp_type", None))):
        if not dataset_type:
            continue
        out[label] = sorted((b for b in bands if index.repo.has_datasets(
            dataset_type, collections=index.collection, where={"band": b})), key=band_key)
    return out


def bands_html(registry_bands: list[str], by_kind: dict[str, list[str]]) -> str:
    """One line saying which bands have what (the registry's filters may name more)."""
    parts = [f"{kind} in {', '.join(bands)}" if bands else f"no {kind}" for kind, bands in by_kind.items()]
    with_images = sorted({b for bands in by_kind.values() for b in bands}, key=band_key)
    others = [b for b in registry_bands if b not in with_images]
    if others and by_kind:
        parts.append(f"no images in {', '.join(others)}")
    return f'<div class="band-line">{html.escape(" · ".join(parts))}</div>' if parts else ""


def missing_html(inv: Any, missing: Optional[int]) -> str:
    """The "missing files" card; when files are missing, a disclosure that opens their data IDs."""
    if missing is None:
        return '<div class="stat"><div class="v">not checked</div><div class="k">missing files</div></div>'
    if not missing:
        return '<div class="stat"><div class="v">0</div><div class="k">missing files</div></div>'
    items, shown = [], 0
    for d in inv.dataset_types:
        for data_id in (d.missing_ids or []):
            if shown >= MISSING_IDS_SHOWN:
                break
            text = ", ".join(f"{k}={v}" for k, v in data_id.items())
            items.append(f"<li><code>{html.escape(d.name)}</code> {html.escape(text)}</li>")
            shown += 1
    more = missing - shown
    tail = (f"<li>... and {more:,} more (<code>repo-explorer inventory --check-files --json</code> lists them all)"
            "</li>" if more > 0 else "")
    return (f'<details class="stat missing-files"><summary title="show the data IDs of the registered files '
            f'that are not on disk"><div class="v">{missing:,} ▸</div><div class="k">missing files</div></summary>'
            f'<ul class="missing-ids">{"".join(items)}{tail}</ul></details>')


def note_html(notes: list[str]) -> str:
    """The backend's notes: information in grey, what could not be read in amber (not error red)."""
    rows = []
    for note in notes:
        color = WARNING_COLOR if "cannot" in note.lower() else NOTE_COLOR
        rows.append(f'<li style="color:{color}">{html.escape(note)}</li>')
    return f'<ul class="summary-notes">{"".join(rows)}</ul>'


class SummaryPanel(Panel):
    """What the repository holds (rebuilt when the repository or the collection changes)."""

    title = "Repository summary"

    def __init__(self, **params):
        super().__init__(**params)
        self.pane = pn.param.ParamMethod(self.view, loading_indicator=True, sizing_mode="stretch_width")

    @param.depends("state.repo_root", "state.collection")
    def view(self):
        """The summary for the current repository and collection (a message when none is open)."""
        return self.guard("the repository summary", self._build)

    def _build(self):
        inv = self.state.inventory()
        if inv is None:
            return pn.pane.Markdown("*No repository open.*")
        counts = summary_counts(inv)
        try:
            by_kind = bands_by_kind(self.state.index, list(inv.bands))
        except ExplorerError:
            by_kind = {}
        with_images = sorted({b for bands in by_kind.values() for b in bands}, key=band_key)
        band_cell = ((" ".join(with_images) or "-", "bands with images") if by_kind
                     else (" ".join(inv.bands) or "-", "bands"))
        cells = [("visits", f"{counts['visits']:,}"), ("detectors", f"{counts['detectors']:,}"),
                 (band_cell[1], band_cell[0]), ("tracts", f"{counts['tracts']:,}"),
                 ("patches", f"{counts['patches']:,}"),
                 ("sources", "-" if counts["sources"] is None else f"{counts['sources']:,}"),
                 ("sky area", f"{counts['sky_area_deg2']:,.2f} deg²"),
                 ("datasets", f"{counts['datasets']:,}")]
        stat = "".join(f'<div class="stat"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cells)
        stat += missing_html(inv, counts["missing"])
        head = (f'<div class="repo-line"><b>{inv.instrument or "?"}</b> · {inv.kind} repository '
                f'<code>{inv.root}</code>' + (f' · skymap {inv.skymap}' if inv.skymap else "") + "</div>")
        stats = pn.pane.HTML(SUMMARY_CSS + head + f'<div class="stats">{stat}</div>'
                             + bands_html(list(inv.bands), by_kind), sizing_mode="stretch_width",
                             css_classes=["explorer-summary"])
        # every dataset type in view (a cut-off last row hid one), every value whole; a long list scrolls
        table = pn.widgets.Tabulator(dataset_table(inv), show_index=False, disabled=True,
                                     formatters={c: {"type": "textarea"} for c in WRAPPED},
                                     sizing_mode="stretch_width", css_classes=["dataset-table"],
                                     **whole_table(TABLE_ROWS_SHOWN, TABLE_COLUMNS))
        notes = [pn.pane.HTML(note_html(inv.notes), sizing_mode="stretch_width")] if inv.notes else []
        return pn.Column(stats, table, *notes, sizing_mode="stretch_width")

    def __panel__(self):
        return self.pane
