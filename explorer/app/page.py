"""The page: the panels over one state, composed from a registry.

``Explorer("path/to/repo")`` displays inline in Jupyter; ``.show()`` opens it in its own browser
tab; ``.template()`` / ``.servable()`` serve it (:func:`create_app` does so per browser session,
with the selection in the URL). A panel is added by writing its module (a :class:`~.base.Panel`)
and one line in :data:`PANELS`.

Tool panels (``tool=True`` in :data:`PANELS`) are closed at first: the page shows a button for
each (:class:`~.toolshelf.ToolShelf`), a tool is made when it is first opened
(:class:`~.registry.PanelSet`) and gets its card then, and it does no work while closed
(:attr:`~.base.Panel.active` follows its button and its card), so a session costs what its open
panels need. A link that sets a state parameter a tool names in its ``opened_by`` (``grid=1``:
the go-to panel's sky-axes switch) opens that tool.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import panel as pn
import param

from ..errors import ExplorerError
from ..notebook_comms import NotebookBatch
from ..state import ExplorerState, default_repository
from ..urlstate import BY_KEY, is_default
from .alerts import ErrorBanner
from .base import Panel
from .controls import Controls
from .extensions import ensure_extensions
from .fetching import session_defer
from .histogram import HistogramPanel
from .image import ImagePanel
from .registry import PanelSet
from .info import InfoPanel
from .skymap import SkyMapPanel
from .style import ACCENT, CARD
from .summary import SummaryPanel
from .toolshelf import ToolShelf
from .tools import graticule as _graticule  # noqa: F401 - registers the RA/Dec grid layers
from .tools import cells as _cells  # noqa: F401 - registers the cell grid layers
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
    sit side by side, in registry order); a tool goes on the tools' shelf instead, in registry
    order (:class:`~.toolshelf.ToolShelf`)."""

    name: str
    cls: type
    row: int = 0
    tool: bool = False  # a tool: closed at first (a button), and it works only while open
    label: str = ""  # a tool's button (default: its panel's title)


PANELS: list[PanelSpec] = [
    PanelSpec("summary", SummaryPanel, 0),
    PanelSpec("skymap", SkyMapPanel, 1),
    PanelSpec("image", ImagePanel, 1),
    PanelSpec("histogram", HistogramPanel, 2),
    PanelSpec("info", InfoPanel, 2),
    PanelSpec("colorbar", ColorbarPanel, tool=True, label="Colour bar"),
    PanelSpec("goto", GotoPanel, tool=True),
    PanelSpec("psf", PsfPanel, tool=True),
    PanelSpec("export", ExportPanel, tool=True, label="Cutout"),
    PanelSpec("regions", RegionsPanel, tool=True),
    PanelSpec("rgb", RGBPanel, tool=True, label="RGB"),
    PanelSpec("compare", ComparePanel, tool=True, label="Blink"),
    PanelSpec("table", CatalogTablePanel, tool=True, label="Table"),
    PanelSpec("scatter", ScatterPanel, tool=True, label="Scatter"),
    PanelSpec("density", SkyDensityPanel, tool=True, label="Sky density"),
    PanelSpec("hats", HatsPanel, tool=True, label="HATS catalog"),
]
SPECS: dict[str, PanelSpec] = {spec.name: spec for spec in PANELS}


class Explorer(pn.viewable.Viewer):
    """The explorer page (see module docstring).

    ``repo``: the repository to open (default: ``$REPO_EXPLORER_REPO`` or the sample);
    ``repo_roots``: confine the repository-path box to these directories; ``query``: a link's
    query arguments. The panels are in ``panels`` and are attributes named as in :data:`PANELS`
    (``explorer.image``, ...; a tool asked for so is made then), plus ``controls`` (the sidebar),
    ``errors`` (the banner) and ``shelves`` (the tools' buttons and cards of each view made).
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
        self._notebook_batch = NotebookBatch()  # the same in a notebook's output (explorer.notebook_comms)
        self.address: AddressBar | None = None  # the browser's address bar (a served page: create_app)
        st.open = self._open_as_one_update(st.open)
        st.defer = session_defer()  # remote planes fetched in the background, progress shown (issue 14)
        self.errors = ErrorBanner(state=st)
        self.controls = Controls(state=st)
        self._cards: dict[str, list[pn.Card]] = {}  # name -> the cards made for it
        self.shelves: list[ToolShelf] = []  # the tools' shelf of each view of the page (main())
        linked = self._linked_params(query)
        opened = [spec.name for spec in PANELS if not spec.tool or self._opened(spec.cls, linked)]
        self.panels = PanelSet([spec.name for spec in PANELS],
                               lambda name: SPECS[name].cls(state=st, active=name in opened), self._made)
        for name in opened:  # the others when first needed (a tool nobody opens is never made)
            self.panels.make(name)

    def __getattr__(self, name: str) -> Any:
        """A panel as an attribute (``explorer.image``, ``explorer.colorbar``: made if it was not)."""
        panels = self.__dict__.get("panels")
        if panels is not None and name in panels:
            return panels[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _made(self, name: str, panel: Panel) -> None:
        """A panel was just made: it finds the panels it works with, and the cards made before it
        now hold it."""
        panel.attach(self)
        for card in self._cards.get(name, []):
            self._hold_in(card, panel)
        if SPECS[name].tool:
            panel.param.watch(lambda e: self._tool_toggled(name, e.new), "active")
            if panel.active:
                self._tool_toggled(name, True)

    def _tool_toggled(self, name: str, active: bool) -> None:
        for shelf in self.shelves:
            shelf.toggled(name, active)

    def _set_tool_active(self, name: str, active: bool) -> None:
        self.panels[name].active = active

    def _linked_params(self, query: dict[str, Any] | None) -> set[str]:
        """State parameters a link set to something other than their default."""
        fields = [BY_KEY[k] for k in (query or {}) if k in BY_KEY]
        return {f.param for f in fields if not is_default(f, getattr(self.state, f.param))}

    @staticmethod
    def _opened(panel_class: type, linked: set[str]) -> bool:
        return bool(linked.intersection(getattr(panel_class, "opened_by", ())))

    def open_tools(self, *names: str) -> Explorer:
        """Open the cards of the tools ``names`` (none given: every tool), as a click on their
        headers does; returns the page."""
        tools = [spec.name for spec in PANELS if spec.tool]
        for name in names or tools:
            self.panels[name].active = True
        return self

    def card(self, name: str) -> pn.Card:
        """The card of panel ``name`` (CSS hook ``explorer-card-<name>``): open while the panel is
        active (either one opens the other). A tool's panel is made when its card is first opened."""
        panel = self.panels.made(name)
        card = pn.Card(title=SPECS[name].cls.title, collapsed=panel is None or not panel.active,
                       css_classes=["explorer-card", f"explorer-card-{name}"], **CARD)
        card.param.watch(lambda e: setattr(self.panels[name], "active", not e.new), "collapsed")
        self._cards.setdefault(name, []).append(card)
        if panel is not None:
            self._hold_in(card, panel)
        return card

    @staticmethod
    def _hold_in(card: pn.Card, panel: Panel) -> None:
        """The card holds the panel, and opens and closes with it (a card made before its panel is
        closed, or being opened: the panel's ``active`` is set by the card's watcher)."""
        card.objects = [panel.content()]
        panel.param.watch(lambda e: setattr(card, "collapsed", not e.new), "active")

    def _open_as_one_update(self, opener):
        """``state.open`` that changes the page as one update, with the address bar first.

        Opening a repository rebuilds the summary and the sky map, then chooses the new selection
        and draws its image: tens of seconds on a busy server. Unheld, the new summary reached the
        browser first and the address bar kept the old ``repo=`` until the image was drawn (the
        URL was written among the held changes of the cascade). Held as one update, with the
        address written out of the hold once the new selection is chosen, the address bar never
        lags the page (issue 11 item 8)."""
        def open_repository(path: str, typed: bool = False) -> bool:
            address = self.address
            with self._hold(), (address.batch() if address is not None else nullcontext()):
                return opener(path, typed=typed)

        return open_repository

    def _hold(self):
        """Hold the Bokeh document while a cascade changes many things at once, so the browser gets
        one update, not one per change; in a notebook, block Panel's comm pushes and push once
        (:class:`explorer.notebook_comms.NotebookBatch`)."""
        from panel.io.document import hold

        if self._notebook_batch.views:  # shown in a notebook: one comm message per cascade
            return self._notebook_batch()
        doc = getattr(pn.state, "curdoc", None)
        return hold(doc) if doc is not None else nullcontext()

    def sidebar(self):
        """The controls."""
        return self.controls.__panel__()

    def main(self, side_by_side: bool = True):
        """The banner, the panels in cards, row by row as :data:`PANELS` places them, then the
        tools' shelf: a button for each tool, and the card of each tool opened, a row of its own.
        ``side_by_side=False``: one card per row, each the full width (a notebook's output, where
        two side by side are too narrow)."""
        rows: dict[int, list] = {}
        for spec in PANELS:
            if not spec.tool:
                rows.setdefault(spec.row, []).append(self.card(spec.name))
        layout = [self.errors]
        for _row, cards in sorted(rows.items()):
            if len(cards) == 1 or not side_by_side:
                layout.extend(cards)
            else:
                layout.append(pn.Row(*cards, sizing_mode="stretch_width"))
        shelf = ToolShelf({s.name: s.label or s.cls.title for s in PANELS if s.tool}, self.card, self._set_tool_active)
        self.shelves.append(shelf)
        for name in shelf.order:  # the tools a link opened
            panel = self.panels.made(name)
            if panel is not None and panel.active:
                shelf.toggled(name, True)
        layout.append(shelf.layout)
        return pn.Column(*layout, sizing_mode="stretch_width")

    def __panel__(self):
        from ..notebook import in_notebook_kernel
        from ..notebook_comms import comm_watchdog, events_on_main_thread, updates_when_shown

        # in a notebook, the page's clicks are handled in the kernel's main thread, between cells;
        # its output is narrower than a browser window (about 1,070 px in JupyterLab on a 1,500 px
        # screen): side by side, the sky map's patch labels ran into each other, the readout's third
        # line and the histogram's title were cut, so each panel there has the full width
        view = pn.Row(pn.Column(self.sidebar(), width=330), self.main(side_by_side=False), sizing_mode="stretch_width")
        if in_notebook_kernel():
            self._notebook_batch.add(view)
            watchdog = comm_watchdog()  # (a lost acknowledgement no longer holds a click back)
            view.append(watchdog)
            updates_when_shown(view, watchdog)  # (what a cell sets while the page draws is not lost)
        return events_on_main_thread(view)

    def template(self, title: str = "Repository explorer"):
        """The page in a template (for serving)."""
        # Bootstrap design: no web fonts, so a server without internet access loads nothing remote.
        # No busy indicator: Panel's is one spinner for the whole process, turned on and off by any
        # session's callback, so it spun on every open page when anyone clicked, and each click
        # sent every open page two messages (the load harness's sessions got 8 per click at 5 sessions).
        return pn.template.BootstrapTemplate(
            title=title, sidebar=[self.sidebar()], main=[self.main()], header_background=ACCENT,
            sidebar_width=360, busy_indicator=None)

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
               "plane", "stretch", "cmap", "mask_planes", "catalog", "column", "log_x", "log_y", "hist_mag",
               "sky_color", "show_footprints", "zoom", "require_flags", "exclude_flags", "bins", "mask_alpha",
               "show_sources", "repo_root", "limits_choice", "contrast", "vmin", "vmax", "show_grid",
               "show_cells"]
URL_WATCHED += ["selection_range", "selection_box", "marked_source"]  # the catalog selections (urlstate)
URL_WATCHED += ["selection_lasso", "hats_catalog"]  # the image's lasso, the HATS catalog open (urlstate)


class AddressBar:
    """The browser's address bar (``pn.state.location`` of a served session) kept on the state's
    selection, so the view can be shared as a link (keys and values: :mod:`explorer.urlstate`).

    Each change of a watched parameter writes the address at once, out of any document hold:
    the page's changes are held while a cascade runs and go out when it ends, so the address
    arrives before them, never after. :meth:`batch` writes it once at the end of a block (an
    open's intermediate selections are not links anyone should copy).
    """

    def __init__(self, state: ExplorerState, location: Any):
        self.state, self.location = state, location
        self._paused = 0
        state.param.watch(self.push, URL_WATCHED)

    def search(self) -> str:
        """The address's query string for the current selection."""
        from urllib.parse import urlencode

        return "?" + urlencode(self.state.to_query())

    def push(self, *_events: Any) -> None:
        """Write the selection to the address bar now (never raises: the URL is a convenience)."""
        if self._paused:
            return
        try:
            search = self.search()
            if self.location.search == search:
                return
            from panel.io.document import immediate_dispatch

            doc = getattr(pn.state, "curdoc", None)
            with immediate_dispatch(doc) if doc is not None else nullcontext():
                self.location.search = search
        except Exception:  # noqa: BLE001 - never break the page over the URL
            log.debug("could not update the URL", exc_info=True)

    @contextmanager
    def batch(self):
        """Write the address once, when the block ends (also when it fails)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            self.push()


def create_app(repo: str | None = None, repo_roots: Sequence[str] = (), title: str = "Repository explorer"):
    """The served page for one browser session: the query string chooses the selection, and the
    selection is written back to the URL so the view can be shared as a link."""
    explorer = Explorer(repo=repo, repo_roots=repo_roots, query=query_from_session())
    location = getattr(pn.state, "location", None)
    if location is not None:
        explorer.address = AddressBar(explorer.state, location)
        # after the browser has connected: a search set before then is overwritten by the address
        # the browser reports, and a stale link's values would stay in the address bar
        pn.state.onload(explorer.address.push)
    return explorer.template(title)
