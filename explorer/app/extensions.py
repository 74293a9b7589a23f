"""Loading the Panel extensions and the Bokeh backend the page uses (one small function), with text
panes that keep their stylesheets (:mod:`explorer.app.pane_updates`), HoloViews' option trees
cleaned up safely (:mod:`explorer.app.option_trees`) and its stream registry used by one thread at
a time (:mod:`explorer.app.stream_registry`)."""
from __future__ import annotations


def ensure_extensions() -> None:
    """Load the Bokeh backend and the Panel extensions the page uses (cheap to repeat)."""
    import holoviews as hv
    import panel as pn

    from .. import notebook
    from .option_trees import install as safe_option_tree_cleanup
    from .pane_updates import keep_pane_stylesheets
    from .stream_registry import install as stream_registry_one_thread_at_a_time

    safe_option_tree_cleanup()  # before the page makes any element
    stream_registry_one_thread_at_a_time()  # pages are built on several threads at once

    # in a notebook, the resources come from this server, not a CDN (see explorer.notebook)
    pn.extension("tabulator", notifications=True, loading_indicator=True, **notebook.extension_kwargs())
    if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
        hv.extension("bokeh", logo=False)
    keep_pane_stylesheets()


_ensure_extensions = ensure_extensions  # the former name
