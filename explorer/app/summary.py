"""The repository summary: headline numbers, the dataset-type table and the backend's notes."""
from __future__ import annotations

import panel as pn
import param

from ..views.summary import dataset_table, summary_counts
from .base import Panel
from .style import SUMMARY_CSS


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
        cells = [("visits", f"{counts['visits']:,}"), ("detectors", f"{counts['detectors']:,}"),
                 ("bands", " ".join(inv.bands) or "-"), ("tracts", f"{counts['tracts']:,}"),
                 ("patches", f"{counts['patches']:,}"),
                 ("sources", "-" if counts["sources"] is None else f"{counts['sources']:,}"),
                 ("sky area", f"{counts['sky_area_deg2']:,.2f} deg²"),
                 ("datasets", f"{counts['datasets']:,}"),
                 ("missing files", "not checked" if counts["missing"] is None else f"{counts['missing']:,}")]
        stat = "".join(f'<div class="stat"><div class="v">{v}</div><div class="k">{k}</div></div>' for k, v in cells)
        head = (f'<div class="repo-line"><b>{inv.instrument or "?"}</b> · {inv.kind} repository '
                f'<code>{inv.root}</code>' + (f' · skymap {inv.skymap}' if inv.skymap else "") + "</div>")
        stats = pn.pane.HTML(SUMMARY_CSS + head + f'<div class="stats">{stat}</div>', sizing_mode="stretch_width",
                             css_classes=["explorer-summary"])
        table = pn.widgets.Tabulator(dataset_table(inv), show_index=False, disabled=True, layout="fit_data_stretch",
                                     sizing_mode="stretch_width", height=min(40 + 30 * len(inv.dataset_types), 260),
                                     css_classes=["dataset-table"])
        notes = [pn.pane.Markdown("\n".join(f"- {n}" for n in inv.notes), styles={"color": "#a45"})] if inv.notes else []
        return pn.Column(stats, table, *notes, sizing_mode="stretch_width")

    def __panel__(self):
        return self.pane
