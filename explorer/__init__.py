"""repo-explorer: see what is in a Rubin Observatory (LSST) data repository and where it is on the sky."""
from __future__ import annotations

__version__ = "0.1.0"


def __getattr__(name: str):
    # The app pulls in Panel/HoloViews; import it only when asked, so the data layer and the CLI
    # stay light and importable without a browser stack.
    if name == "Explorer":
        from .app import Explorer

        return Explorer
    raise AttributeError(name)
