"""Loading the Panel extensions and the Bokeh backend the page uses (one small function)."""
from __future__ import annotations


def ensure_extensions() -> None:
    """Load the Bokeh backend and the Panel extensions the page uses (cheap to repeat)."""
    import holoviews as hv
    import panel as pn

    pn.extension("tabulator", notifications=True, loading_indicator=True)
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)


_ensure_extensions = ensure_extensions  # the former name
