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
