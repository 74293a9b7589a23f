"""A link restores the catalog selections: the histogram's range (``hrange``), the box drawn on the
image (``sbox``) and the source marked from the table (``mark``), on the real sample repository,
through the state's URL codec and the page built from the query (issue 17)."""
from __future__ import annotations

import numpy as np
import pytest

from explorer import urlstate


@pytest.fixture(scope="module")
def state(sample_gen3):
    from explorer.app.extensions import ensure_extensions
    from explorer.state import ExplorerState

    ensure_extensions()
    st = ExplorerState()
    st.open(str(sample_gen3))
    return st


def test_codecs_round_trip_and_refuse_bad_text():
    rng, rect, mark = urlstate.BY_KEY["hrange"], urlstate.BY_KEY["sbox"], urlstate.BY_KEY["mark"]
    assert urlstate.decode(rng, urlstate.encode(rng, (2.5, 3.25))) == (2.5, 3.25)
    assert urlstate.decode(rng, "4,1") == (1.0, 4.0)  # (either order)
    assert urlstate.decode(rect, "10,20,5,8") == (5.0, 8.0, 10.0, 20.0)
    marked = (123456789012, 2901.25, 2650.5)
    assert urlstate.decode(mark, urlstate.encode(mark, marked)) == marked
    assert urlstate.decode(mark, "star-7,1,2") == ("star-7", 1.0, 2.0)
    for field, text in ((rng, "1"), (rng, "2,2"), (rng, "a,b"), (rect, "1,2,3"), (rect, "1,1,1,5"),
                        (mark, "7,1"), (mark, ",1,2"), (mark, "7,x,2")):
        with pytest.raises(ValueError, match=field.key):
            urlstate.decode(field, text)


def test_a_link_restores_the_selections(state, sample_gen3):
    from explorer.app.page import Explorer
    from explorer.app.tools.rows import catalog_rows, selected_rows
    from explorer.state import ExplorerState

    hist = state.histogram()
    lo, hi = float(hist.edges[10]), float(hist.edges[30])
    rows = catalog_rows(state)
    x0, y0 = (float(v) for v in np.nanpercentile(rows[["x", "y"]].to_numpy(float), 20, axis=0))
    x1, y1 = (float(v) for v in np.nanpercentile(rows[["x", "y"]].to_numpy(float), 80, axis=0))
    state.param.update(selection_range=(lo, hi), selection_box=(x0, y0, x1, y1),
                       marked_source=(int(rows["id"].iloc[3]), float(rows["x"].iloc[3]), float(rows["y"].iloc[3])))
    query = state.to_query()
    assert {"hrange", "sbox", "mark"} <= set(query)
    again = ExplorerState()
    assert again.apply_query(query) == []
    assert again.selection_range == pytest.approx((lo, hi))
    assert again.selection_box == pytest.approx((x0, y0, x1, y1))
    assert again.marked_source[0] == int(rows["id"].iloc[3])
    assert again.marked_source[1:] == pytest.approx((rows["x"].iloc[3], rows["y"].iloc[3]), abs=0.01)
    # the page built from that link shows the same selection in its table
    page = Explorer(query=query)
    want = rows[selected_rows(state, rows)]
    got = page.table.frame()
    assert 0 < len(got) == len(want) < len(rows)
    assert sorted(got["id"]) == sorted(want["id"])
    state.param.update(selection_range=None, selection_box=None, marked_source=None)
    assert not {"hrange", "sbox", "mark"} & set(state.to_query())  # nothing selected: not in the link


def test_a_bad_selection_in_a_link_is_named_and_the_rest_applies(sample_gen3):
    from explorer.state import ExplorerState

    st = ExplorerState()
    problems = st.apply_query({"repo": str(sample_gen3), "hrange": "3", "mark": "12,40.5,60.25"})
    assert len(problems) == 1 and "hrange" in problems[0]
    assert st.selection_range is None and st.marked_source == (12, 40.5, 60.25)


def test_lasso_codec_round_trips_thins_and_refuses_bad_text():
    poly = urlstate.BY_KEY["slasso"]
    lasso = ([10.0, 200.5, 120.25], [5.0, 7.5, 300.0])
    assert urlstate.decode(poly, urlstate.encode(poly, lasso)) == lasso
    t = np.linspace(0, 2 * np.pi, 1000, endpoint=False)  # a lasso drawn by hand has many vertices
    xs, ys = list(100 + 50 * np.cos(t)), list(100 + 50 * np.sin(t))
    text = urlstate.encode(poly, (xs, ys))
    back = urlstate.decode(poly, text)
    assert len(back[0]) == urlstate.MAX_POLY_VERTICES and back[0][0] == pytest.approx(xs[0], abs=0.01)
    assert len(text) < 4000  # short enough for a link
    for bad in ("1,2,3,4", "1,2,3,4,5", "a,b,c,d,e,f", ",".join(["1"] * (2 * urlstate.MAX_POLY_VERTICES + 2))):
        with pytest.raises(ValueError, match="slasso"):
            urlstate.decode(poly, bad)


def test_a_link_restores_the_lasso(state):
    from explorer.app.page import Explorer
    from explorer.app.tools.rows import catalog_rows, selected_rows
    from explorer.compute.selection import in_polygon
    from explorer.state import ExplorerState

    rows = catalog_rows(state)
    cx, cy = (float(v) for v in np.nanmedian(rows[["x", "y"]].to_numpy(float), axis=0))
    r = 0.3 * float(np.nanstd(rows["x"].to_numpy(float)))
    t = np.linspace(0, 2 * np.pi, 7, endpoint=False)  # a hexagon around the middle of the sources
    lasso = ([float(v) for v in cx + r * np.cos(t)], [float(v) for v in cy + r * np.sin(t)])
    state.selection_lasso = lasso
    try:
        query = state.to_query()
        assert "slasso" in query and "sbox" not in query
        again = ExplorerState()
        assert again.apply_query(query) == []
        assert again.selection_lasso[0] == pytest.approx(lasso[0], abs=0.01)
        page = Explorer(query=query)
        want = in_polygon(rows["x"].to_numpy(float), rows["y"].to_numpy(float), *lasso)
        assert 0 < want.sum() < len(rows)
        assert sorted(page.table.frame()["id"]) == sorted(rows["id"][want])
        assert selected_rows(state, rows).sum() == want.sum()
    finally:
        state.selection_lasso = None
    assert "slasso" not in state.to_query()
