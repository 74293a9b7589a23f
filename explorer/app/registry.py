"""The page's panels by name, each made when first needed.

A tool that nobody opens is never made: its widgets, plots and parameter watchers cost a session
about a third of a page's Python memory (BENCHMARKS.md, issue 12 at stop 27). :class:`PanelSet`
makes a panel the first time it is asked for (its button pressed, a link that opens it, another
panel or code that looks it up) and then keeps it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from .base import Panel


class PanelSet(Mapping[str, Panel]):
    """``name -> Panel`` over a fixed list of names.

    ``build(name)`` makes a panel; ``on_made(name, panel)`` is called once it is stored (so a panel
    that looks others up while it is being attached finds itself, not a second copy). Iterating
    gives the names; ``panels[name]``, ``get`` and :meth:`make` make the panel if it was not."""

    def __init__(self, names: Sequence[str], build: Callable[[str], Panel],
                 on_made: Callable[[str, Panel], None]):
        self._names = list(names)
        self._build, self._on_made = build, on_made
        self._panels: dict[str, Panel] = {}

    def __getitem__(self, name: str) -> Panel:
        panel = self._panels.get(name)
        if panel is None:
            if name not in self._names:
                raise KeyError(name)
            panel = self._panels[name] = self._build(name)
            self._on_made(name, panel)
        return panel

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def make(self, name: str) -> Panel:
        """The panel ``name``, made now if it was not."""
        return self[name]

    def made(self, name: str) -> Panel | None:
        """The panel ``name`` if it has been made, else None (without making it)."""
        return self._panels.get(name)
