"""The catalog histogram follows the state by setting its Bokeh models in place (issue 12): a
change of catalog, column, bins or flags sets the bars' data source, the axes' ranges, the axis
label and the title of the one drawn figure, and nothing else; the log count axis keeps its bars."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def page(sample_gen3):
    """An Explorer on a Bokeh Document (as a served session holds it), on the 3828 3,3 coadd."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from explorer.app import Explorer

    doc = Document()
    with set_curdoc(doc):
        explorer = Explorer(str(sample_gen3), query={"tract": "3828", "patch": "3,3"})
        doc.add_root(explorer.__panel__().get_root(doc))
    return explorer, doc


def bars(doc):
    """The histogram's figure and its bars' renderer (the one Quad glyph of the page)."""
    from bokeh.models import GlyphRenderer, Quad
    from bokeh.plotting import figure

    renderers = [m for m in doc.models if isinstance(m, GlyphRenderer) and isinstance(m.glyph, Quad)]
    assert len(renderers) == 1
    fig = next(m for m in doc.models if isinstance(m, figure) and renderers[0] in m.renderers)
    return fig, renderers[0]


def changed_models(doc, change):
    """The ids of the models whose properties ``change()`` set (the events a server would send)."""
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        doc.hold("combine")
        try:
            change()
            events = list(doc.callbacks._held_events)
        finally:
            doc.callbacks._held_events = []
            doc.unhold()
    return {getattr(e, "model", None) for e in events}


def assert_shows(fig, renderer, hist, title):
    data = renderer.data_source.data
    np.testing.assert_allclose(np.asarray(data["left"], float), hist.edges[:-1])
    np.testing.assert_allclose(np.asarray(data["right"], float), hist.edges[1:])
    tops = np.asarray(data["top"], float)
    assert np.nansum(tops) == hist.counts.sum()
    assert fig.xaxis[0].axis_label == hist.label
    assert fig.title.text == title
    assert fig.x_range.start <= hist.edges[0] and fig.x_range.end >= hist.edges[-1]
    assert fig.y_range.end >= hist.counts.max()


def test_a_column_change_sets_the_histogram_models_in_place(page):
    from explorer.views.catalog import histogram_title

    explorer, doc = page
    st = explorer.state
    fig, renderer = bars(doc)
    source = renderer.data_source
    assert_shows(fig, renderer, st.histogram(), histogram_title(st.histogram()))
    other = next(c for c in st.param.column.objects if c and c != st.column and "Flux" not in c)
    models = changed_models(doc, lambda: setattr(st, "column", other))
    hist = st.histogram()
    assert hist is not None and hist.label != "log10(ext_photometryKron_KronFlux_instFlux)"
    # the same figure and data source, now showing the new column
    fig2, renderer2 = bars(doc)
    assert fig2 is fig and renderer2 is renderer and renderer2.data_source is source
    assert_shows(fig, renderer, hist, histogram_title(hist))
    # of the histogram's models, only those that show the change were set: bars, ranges, axis
    # label, title (not the figure, its tools or glyphs, as a HoloViews refresh sets them)
    allowed = {source, fig.x_range, fig.y_range, fig.xaxis[0], fig.title}
    mine = fig.references()
    assert source in models and fig.title in models
    assert models & mine <= allowed, sorted(type(m).__name__ for m in (models & mine) - allowed)
    # another number of bins
    models = changed_models(doc, lambda: st.param.update(bins=17))
    assert len(source.data["top"]) == 17 and models & mine <= allowed
    assert_shows(fig, renderer, st.histogram(), histogram_title(st.histogram()))


def test_a_band_change_redraws_the_histogram_for_the_new_catalog(page):
    from explorer.views.catalog import histogram_title

    explorer, doc = page
    st = explorer.state
    fig, renderer = bars(doc)
    other = next(b for b in st.param.band.objects if b != st.band)
    st.band = other
    hist = st.histogram()
    assert st.catalog_ref.get("band") == other
    assert bars(doc) == (fig, renderer)
    assert_shows(fig, renderer, hist, histogram_title(hist))
    assert f"band={other}" in explorer.histogram.caption.object


def test_the_log_count_axis_keeps_its_bars_through_changes(page):
    explorer, doc = page
    st = explorer.state
    st.log_y = True  # the one change that builds a new figure (a Bokeh axis type is fixed)
    fig, renderer = bars(doc)
    assert type(fig.y_scale).__name__ == "LogScale"

    def check():
        hist = st.histogram()
        data = renderer.data_source.data
        tops = np.asarray(data["top"], float)
        bottoms = np.asarray(data["bottom"], float)
        assert len(bottoms) == len(tops) == len(hist.counts)
        # empty bins are left out (NaN), the others drawn from the axis' start upwards
        assert np.array_equal(np.isfinite(tops), hist.counts > 0)
        assert fig.y_range.start > 0 and np.all(bottoms == fig.y_range.start)
        assert np.all(tops[np.isfinite(tops)] > fig.y_range.start)
        assert fig.y_range.end >= hist.counts.max()

    check()
    st.bins = 25
    check()
    st.column = next(c for c in st.param.column.objects if c and c != st.column and "Flux" not in c)
    check()
    assert bars(doc)[1] is renderer
