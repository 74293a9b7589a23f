"""The compare panel without a browser: a visit overlapping the patch beside the coadd, aligned."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def page(sample_gen3):
    from explorer.app.page import Explorer

    return Explorer(str(sample_gen3)).open_tools("compare")  # a tool works while its card is open


def _title(element) -> str:
    return element.opts.get().kwargs.get("title", "")


def test_visits_offered_are_those_overlapping_the_patch(page):
    c, st = page.compare, page.state
    over = st.index.overlapping(st.tract, st.patch)
    assert set(c.param.visit.objects) == set(over) and over
    assert c.visit in over and c.detector in over[c.visit]
    assert set(c.param.detector.objects) == set(over[c.visit])
    # band A's visits come first
    first = list(c.param.visit.objects)[0]
    bands = {st.index.band_of_visit(v) for v in over}
    if c.band_a in bands:
        assert st.index.band_of_visit(first) == c.band_a
    # another visit: its own overlapping detectors
    other = next(v for v in over if v != c.visit)
    c.visit = other
    assert c.detector in over[other] and set(c.param.detector.objects) == set(over[other])


def test_the_visit_pane_is_the_calexp_on_the_coadd_grid(page):
    from explorer.render.resample import resample_onto

    c, _st = page.compare, page.state
    c.b_kind = "visit"
    pane = c._build()
    a, b = pane.object
    ea, eb = a[()], b[()]
    assert _title(ea) == f"band {c.band_a}"
    assert _title(eb).startswith(f"visit {c.visit} detector {c.detector}")
    assert ea.bounds.lbrt() == eb.bounds.lbrt()  # one grid: the coadd's
    # the pixels drawn are the visit resampled onto the coadd grid (its NaN cells drawn apart)
    coadd = c.exposure(c.band_a)
    calexp = c.visit_exposure(c.visit, c.detector)
    h, w = eb.data.shape[:2]
    values, _, _ = resample_onto(calexp, coadd.info, width=w, height=h)
    rgba = np.ascontiguousarray(eb.data[::-1])  # (hv stores rows top to bottom)
    finite = np.isfinite(values)
    assert finite.any()
    from explorer.render.raster import NAN_RGB

    assert (rgba[~finite][:, :3] == NAN_RGB).all()
    bright = values > np.nanpercentile(values, 99)
    dark = values < np.nanpercentile(values, 50)
    assert rgba[bright][:, 0].mean() > rgba[dark][:, 0].mean() + 50
    # blinking with B a visit: the first plot shows the visit in turn
    c.blink = True
    c.showing_b = True
    assert _title(a[()]).startswith(f"visit {c.visit}")
    c.blink = False
    c.b_kind = "band"
    assert _title(b[()]) == f"band {c.band_b}"


def test_a_missing_visit_file_is_said_in_the_pane(page, sample_gen3):
    import json

    c, st = page.compare, page.state
    missing = json.loads((sample_gen3 / "sample_manifest.json").read_text())["missing"]["data_id"]
    over = st.index.overlapping(st.tract, st.patch)
    gone = [(missing["visit"], missing["detector"])] if missing["detector"] in over.get(missing["visit"], []) else []
    if not gone:
        pytest.skip("the sample's missing calexp does not overlap the patch")
    c.b_kind = "visit"
    c.visit, c.detector = gone[0]
    el = c._build().object[1][()]
    assert _title(el).startswith("no visit")
    assert "not on disk" in c.failure
