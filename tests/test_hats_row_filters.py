"""The HATS table's header filters (:func:`explorer.compute.hats_rows.row_filters`): a condition
with one bound only - a typed ``> 20``, a minimum without a maximum, a maximum without a minimum,
in each form Tabulator may send it - keeps exactly the rows numpy keeps."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.compute.hats_rows import RowFilter, partition_where, row_filters
from explorer.errors import ExplorerError

FRAME = pd.DataFrame({"g_psfFlux": [5.0, 20.0, 25.0, np.nan, 40.0, -3.0], "objectId": [1, 2, 3, 4, 5, 6],
                      "band": ["g", "r", "i", "g", "z", "y"]})
G = FRAME["g_psfFlux"].to_numpy()


def kept(*filters) -> list[int]:
    return partition_where(FRAME, row_filters(filters))["objectId"].tolist()


def ids(mask) -> list[int]:
    return FRAME["objectId"][mask].tolist()


@pytest.mark.parametrize("op, value, want", [
    (">=", "> 20", G > 20), (">=", ">20", G > 20), ("=", ">= 20", G >= 20), (">=", "< 20", G < 20),
    (">=", "<=20", G <= 20), (">=", "!= 20", ~(G == 20)), (">=", "= 25", G == 25),
    (">=", "20..", G >= 20), (">=", "..20", G <= 20), (">=", "0..30", (G >= 0) & (G <= 30)),
    (">=", "-5..-1", (G >= -5) & (G <= -1)), (">=", " 20 ", G >= 20), (">=", 20, G >= 20),
    (">=", [20, None], G >= 20), (">=", [None, 20], G <= 20), (">=", ["", "20"], G <= 20),
    (">=", [20, ""], G >= 20), (">=", [5, 25], (G >= 5) & (G <= 25)), (">=", [20], G >= 20),
    (">=", {"start": 20, "end": ""}, G >= 20), (">=", {"start": None, "end": 20}, G <= 20),
    (">=", {"start": "", "end": None}, np.ones(len(G), bool)),
])
def test_one_bound_or_two(op, value, want):
    assert kept({"field": "g_psfFlux", "type": op, "value": value}) == ids(want)


def test_empty_filters_keep_every_row_and_text_stays_text():
    for value in (None, "", "  ", [], [None, None], ["", ""]):
        assert row_filters([{"field": "g_psfFlux", "type": ">=", "value": value}]) == ()
    # a "like" filter on a text column is the text itself, operators included
    assert row_filters([{"field": "band", "type": "like", "value": "> g"}]) == (RowFilter("band", "like", "> g"),)
    assert kept({"field": "band", "type": "like", "value": "G"}) == [1, 4]
    # one bound on two columns at once: both apply
    assert kept({"field": "g_psfFlux", "type": ">=", "value": "> 4"},
                {"field": "objectId", "type": "=", "value": "<= 3"}) == [1, 2, 3]


@pytest.mark.parametrize("value", ["> bright", "..x", "..", "20..y", [20, "x"], {"start": "a"}])
def test_a_bad_bound_is_one_line(value):
    with pytest.raises(ExplorerError) as info:
        row_filters([{"field": "g_psfFlux", "type": ">=", "value": value}])
    assert "g_psfFlux" in str(info.value) and "\n" not in str(info.value)
