"""Selectors and the sky map at survey scale (issue 13): long lists are bounded, searchable and
counted; many calexp footprints are drawn as counts per patch that match the footprints.

On a small survey-like repository written by the real butler (:mod:`explorer.sample.survey`:
8 visits x 189 detectors over one DC2 tract, so more calexps than the sky map draws one by one),
and, for the bound itself, a state offering 10,000 visits.
"""
from __future__ import annotations

import re

import holoviews as hv
import param
import pytest

hv.extension("bokeh")


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """8 visits x 189 detectors over one DC2 tract (1,512 calexps, 4 files on disk)."""
    from explorer.sample.survey import write_survey

    root = tmp_path_factory.mktemp("scale") / "repo"
    manifest = write_survey(root, visits=8, tracts=1, seed=5)
    return root, manifest


@pytest.fixture(scope="module")
def survey_state(survey):
    from explorer.state import ExplorerState

    root, _manifest = survey
    state = ExplorerState(repo=str(root))
    assert state.index is not None and state.tract is not None  # (its coadd files are absent: reported)
    state.image_kind = "calexp"
    yield state
    state.repo.close()


class ManyVisits(param.Parameterized):
    visit = param.Selector(default=None, objects=[], allow_None=True)


def test_ten_thousand_values_give_a_bounded_searchable_list():
    from explorer.app.selectors import SearchableSelect
    from explorer.index import Option

    state = ManyVisits()
    values = list(range(2024110800000, 2024110810000))
    state.param.visit.objects = values
    state.visit = values[5000]
    asked = []

    def describe(vals, search, limit):
        asked.append(len(vals))
        matched = [v for v in vals if search in str(v)]
        return [Option(v, f"{v} · r · {v % 7} detectors", v % 7) for v in matched[:limit]], len(matched)

    sel = SearchableSelect(state, "visit", "Visit", describe, "w-visit", limit=50, noun="visits")
    options = sel.select.options
    assert len(options) == 51  # the first 50, and the chosen one (listed whatever the search)
    assert sel.select.value == values[5000] and next(iter(options.values())) == values[5000]
    assert "10,000 visits: the first 50 listed" in sel.count.object
    assert all(re.fullmatch(r"\d+ · r · \d detectors", label) for label in options)
    # type-ahead: a part of the number narrows the list to the visits that contain it
    sel.search.value_input = "80912"
    matched = [v for v in values if "80912" in str(v)]
    assert sorted(sel.select.options.values()) == sorted(matched + [values[5000]])
    assert f"{len(matched)} visits match" in sel.count.object
    sel.select.value = matched[-1]  # picking one sets the state
    assert state.visit == matched[-1]
    sel.search.value_input = "no such visit"
    assert list(sel.select.options.values()) == [matched[-1]] and "0 visits match" in sel.count.object


def test_visit_and_detector_options_are_counted_from_the_registry(survey_state):
    """The page's selectors: labels say the band and how many detectors overlap the patch, as
    the registry's spatial join says; the list is bounded by the selector's limit."""
    from explorer.app.controls import Controls
    from explorer.index import OPTION_LIMIT

    st = survey_state
    idx = st.index
    controls = Controls(state=st)
    vsel, dsel = controls.visit_selector, controls.detector_selector
    offered = list(st.param.visit.objects)
    assert offered and len(vsel.select.options) <= OPTION_LIMIT
    over = idx.overlapping(st.tract, st.patch)
    for label, visit in vsel.select.options.items():
        n = len(over.get(visit, ()))
        assert label == f"{visit} · {idx.band_of_visit(visit)} · {n} detector{'s' if n != 1 else ''}"
        assert n >= 1
    # detectors: every detector of the visit (189), those on the patch first and labelled so
    dets = list(dsel.select.options.items())
    assert len(dets) == len(idx.detectors(st.visit)) == 189
    on_patch = set(over[st.visit])
    assert [d for _label, d in dets[:len(on_patch)]] == sorted(on_patch)
    assert all(("on the patch" in label) == (d in on_patch) for label, d in dets)
    # registered but not on disk (the survey has 4 calexp files): said in the label, as the state says
    absent = {v for k, v in (st.param.detector.names or {}).items() if k.endswith("(not on disk)")}
    assert absent and all(label.endswith("(not on disk)") == (d in absent) for label, d in dets)
    # bounded: a limit below the number of visits lists that many (and the chosen one)
    all_visits = idx.describe_visits(idx.visits, None, None)
    assert len(all_visits) == 8 and all(o.count == 0 for o in all_visits)
    vsel.limit = 1
    vsel.refresh()
    assert len(vsel.select.options) == 1 and st.visit in vsel.select.options.values()
    assert f"{len(offered)} visit" in vsel.count.object
    # typing a detector's name finds it; picking it shows that calexp
    name = idx.repo.detector_names()[max(on_patch)]
    dsel.search.value_input = name
    assert any(name in label for label in dsel.select.options)
    dsel.select.value = max(on_patch)
    assert st.detector == max(on_patch) and st.exposure_ref.data_id["detector"] == max(on_patch)


def test_many_footprints_are_counts_per_patch_that_match_them(survey_state):
    """Above FOOTPRINT_GLYPHS calexps the sky map draws the tract's patches shaded by coverage,
    and each patch's count is the number of calexp footprints overlapping it; the chosen patch's
    footprints are drawn one by one only when few enough."""
    from explorer.app import skymap
    from explorer.index import overlaps
    from explorer.views import sky

    st = survey_state
    idx = st.index
    assert idx.count_kind("calexp") == 8 * 189 > skymap.FOOTPRINT_GLYPHS
    frame = sky.sky_frame(idx.tract_regions().values())
    layer = skymap.coverage_layer(idx, frame, True, st.tract)
    shown = dict(zip(layer["patch"], layer["calexps"]))
    assert len(layer["xs"]) == len(shown) and set(shown) <= set(idx.patch_regions(st.tract))
    regions = idx.patch_regions(st.tract)
    tract_fps = idx.footprints_in(st.tract, None, limit=10**6)
    assert len(tract_fps) == sum(len(d) for d in idx.overlapping(st.tract, None).values())
    checked = 0
    for patch in idx.patches(st.tract):
        want = sum(overlaps(corners, regions[patch]) for corners in tract_fps.values())
        assert shown.get(patch, 0) == want == len(idx.footprints_in(st.tract, patch, limit=10**6)), patch
        checked += want > 0
    assert checked >= 10
    # glyphs: none for the whole tract (too many), the chosen patch's when at most the limit
    n_patch = len(idx.footprints_in(st.tract, st.patch, limit=10**6))
    glyphs = skymap.footprint_glyphs(idx, frame, True, st.tract, st.patch)
    assert len(glyphs["xs"]) == len(glyphs["visit"]) == (n_patch if n_patch <= skymap.FOOTPRINT_GLYPHS else 0)
    assert len(skymap.coverage_layer(idx, frame, False, st.tract)["xs"]) == 0
    assert len(skymap.footprint_glyphs(idx, frame, False, st.tract, st.patch)["xs"]) == 0


def test_inventory_counts_patches_with_the_registry(survey):
    """inventory: with one dataset type on patches, the registry counts the distinct (tract,
    patch) pairs (no data ID materialised), the same number the pairs listed give."""
    from explorer.repo import open_repo

    root, manifest = survey
    repo = open_repo(str(root))
    try:
        inv = repo.inventory()
        pairs = repo.distinct_values("deepCoadd_calexp", ["tract", "patch"])
        assert inv.patches == len(pairs) == repo.count_distinct("deepCoadd_calexp", ["tract", "patch"])
        assert inv.patches == manifest["patches_registered"] and inv.tracts == manifest["tracts"]
        assert {d.name: d.count for d in inv.dataset_types} == manifest["datasets"]
    finally:
        repo.close()
