"""The page: the panels over one state, composed from a registry.

``Explorer("path/to/repo")`` displays inline in Jupyter; ``.show()`` opens it in its own browser
tab; ``.template()`` / ``.servable()`` serve it (:func:`create_app` does so per browser session,
with the selection in the URL). A panel is added by writing its module (a :class:`~.base.Panel`)
and one line in :data:`PANELS`.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import panel as pn
import param

from ..errors import ExplorerError
from ..state import ExplorerState, default_repository
from .alerts import ErrorBanner
from .base import Panel
from .controls import Controls
from .extensions import ensure_extensions
from .histogram import HistogramPanel
from .image import ImagePanel
from .info import InfoPanel
from .skymap import SkyMapPanel
from .style import ACCENT, CARD
from .summary import SummaryPanel
from .tools import graticule as _graticule  # noqa: F401 - registers the RA/Dec grid layers
from .tools.colorbar import ColorbarPanel
from .tools.compare import ComparePanel
from .tools.density import SkyDensityPanel
from .tools.export import ExportPanel
from .tools.goto import GotoPanel
from .tools.hats_source import HatsPanel
from .tools.psf import PsfPanel
from .tools.regions import RegionsPanel
from .tools.rgb import RGBPanel
from .tools.scatter import ScatterPanel
from .tools.table import CatalogTablePanel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PanelSpec:
    """Where a panel goes: its attribute on the page, its class, and its row (panels of one row
    sit side by side, in registry order)."""

    name: str
    cls: type
    row: int


PANELS: list[PanelSpec] = [
    PanelSpec("summary", SummaryPanel, 0),
    PanelSpec("skymap", SkyMapPanel, 1),
    PanelSpec("image", ImagePanel, 1),
    PanelSpec("histogram", HistogramPanel, 2),
    PanelSpec("info", InfoPanel, 2),
    PanelSpec("colorbar", ColorbarPanel, 3),
    PanelSpec("goto", GotoPanel, 3),
    PanelSpec("psf", PsfPanel, 3),
    PanelSpec("export", ExportPanel, 4),
    PanelSpec("regions", RegionsPanel, 4),
    PanelSpec("rgb", RGBPanel, 5),
    PanelSpec("compare", ComparePanel, 5),
    PanelSpec("table", CatalogTablePanel, 6),
    PanelSpec("scatter", ScatterPanel, 7),
    PanelSpec("density", SkyDensityPanel, 7),
    PanelSpec("hats", HatsPanel, 8),
]


class Explorer(pn.viewable.Viewer):
    """The explorer page (see module docstring).

    ``repo``: the repository to open (default: ``$REPO_EXPLORER_REPO`` or the sample);
    ``repo_roots``: confine the repository-path box to these directories; ``query``: a link's
    query arguments. The panels are attributes named as in :data:`PANELS` (``explorer.image``,
    ...), plus ``controls`` (the sidebar) and ``errors`` (the banner).
    """

    state = param.ClassSelector(class_=ExplorerState, doc="What the page shows")

    def __init__(self, repo: str | None = None, repo_roots: Sequence[str] = (),
                 state: ExplorerState | None = None, query: dict[str, Any] | None = None):
        from ..repo.auth import session_token  # this session's own token (X-Auth-Request-Token)

        ensure_extensions()
        if state is None:
            token = session_token(getattr(pn.state, "headers", None))
            state = ExplorerState(repo_roots=repo_roots, token=token)
        super().__init__(state=state)
        st = self.state
        if query and query.get("repo"):
            st.apply_query(query)
        else:
            if repo is None and st.index is None:
                try:
                    repo = default_repository()
                except ExplorerError as exc:
                    st.report(str(exc))
            if repo is not None and st.index is None:
                st.open(repo)
            if query:
                st.apply_query(query)
        st.hold = self._hold  # a cascade of selector changes reaches the browser as one update
        self.errors = ErrorBanner(state=st)
        self.controls = Controls(state=st)
        self.panels: dict[str, Panel] = {}
        for spec in PANELS:
            self.panels[spec.name] = spec.cls(state=st)
            setattr(self, spec.name, self.panels[spec.name])
        for panel in self.panels.values():
            panel.attach(self)

    def _hold(self):
        """Hold (and freeze) the Bokeh document while a cascade changes many things at once, so the
        browser gets one update and Bokeh walks its model graph once, not once per change."""
        from panel.io.document import hold

        doc = getattr(pn.state, "curdoc", None)
        return hold(doc, freeze=True) if doc is not None else nullcontext()

    def sidebar(self):
        """The controls."""
        return self.controls.__panel__()

    def main(self):
        """The banner and the panels, in cards, row by row as :data:`PANELS` places them."""
        rows: dict[int, list] = {}
        for spec in PANELS:
            panel = self.panels[spec.name]
            rows.setdefault(spec.row, []).append(pn.Card(panel, title=panel.title, **CARD))
        layout = [self.errors]
        for _row, cards in sorted(rows.items()):
            layout.append(cards[0] if len(cards) == 1 else pn.Row(*cards, sizing_mode="stretch_width"))
        return pn.Column(*layout, sizing_mode="stretch_width")

    def __panel__(self):
        from ..notebook import events_on_main_thread

        # in a notebook, the page's clicks are handled in the kernel's main thread, between cells
        return events_on_main_thread(
            pn.Row(pn.Column(self.sidebar(), width=330), self.main(), sizing_mode="stretch_width"))

    def template(self, title: str = "Repository explorer"):
        """The page in a template (for serving)."""
        # Bootstrap design: no web fonts, so a server without internet access loads nothing remote
        return pn.template.BootstrapTemplate(
            title=title, sidebar=[self.sidebar()], main=[self.main()], header_background=ACCENT,
            sidebar_width=360)

    def servable(self, title: str = "Repository explorer"):
        return self.template(title).servable(title=title)

    def show(self, port: int = 0, **kwargs):
        """Serve the page from this process and say where (see :func:`explorer.notebook.show`)."""
        from .. import notebook

        return notebook.show(lambda: self.template(), port=port, **kwargs)


# ----- serving ------------------------------------------------------------------------------------
def query_from_session() -> dict[str, Any]:
    """The session's query arguments (Bokeh hands them over as lists of bytes)."""
    args = getattr(pn.state, "session_args", None) or {}
    return {k: (v[-1].decode("utf-8", "replace") if isinstance(v, list) and v and isinstance(v[-1], bytes) else v)
            for k, v in args.items()}


URL_WATCHED = ["repo_path", "collection", "image_kind", "band", "tract", "patch", "visit", "detector",
               "plane", "stretch", "cmap", "mask_planes", "catalog", "column", "log_x", "log_y",
               "sky_color", "show_footprints", "zoom", "require_flags", "exclude_flags", "bins", "mask_alpha",
               "show_sources", "repo_root", "limits_choice", "contrast", "vmin", "vmax", "show_grid"]


def create_app(repo: str | None = None, repo_roots: Sequence[str] = (), title: str = "Repository explorer"):
    """The served page for one browser session: the query string chooses the selection, and the
    selection is written back to the URL so the view can be shared as a link."""
    explorer = Explorer(repo=repo, repo_roots=repo_roots, query=query_from_session())
    state = explorer.state
    location = getattr(pn.state, "location", None)
    if location is not None:
        def push(*_events):
            from urllib.parse import urlencode

            try:
                location.search = "?" + urlencode(state.to_query())
            except Exception:  # the URL is a convenience; never break the page over it
                log.debug("could not update the URL", exc_info=True)

        state.param.watch(push, URL_WATCHED)
        # after the browser has connected: a search set before then is overwritten by the address
        # the browser reports, and a stale link's values would stay in the address bar
        pn.state.onload(push)
    return explorer.template(title)
