"""Issue 11's page defects, without a browser: each test failed before its fix.

What the browser shows (the log count axis, toasts, the address bar) is checked in real Chromium
in tests/browser/test_explorer_browser.py.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.app import Explorer, ExplorerState, forget_repositories


@pytest.fixture(scope="module")
def manifest(sample_gen3):
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


def teardown_module(_module):
    forget_repositories()


def _distorted_info():
    """A real astropy TAN-SIP WCS on a 4000 x 4000 exposure: inverting it far off the footprint
    does not converge (``NoConvergence``), as on the coadd of issue 11."""
    from astropy.wcs import WCS, Sip

    from explorer.repo.model import ExposureInfo

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    w.wcs.crval = [56.0, -36.0]
    w.wcs.crpix = [2000.0, 2000.0]
    w.wcs.cd = np.array([[-5.5e-5, 0.0], [0.0, 5.5e-5]])
    a, b = np.zeros((4, 4)), np.zeros((4, 4))
    a[2, 0], a[0, 2], b[1, 1], a[3, 0], b[0, 3] = 2e-6, 1e-6, 2e-6, 1e-9, 1e-9
    w.sip = Sip(a, b, None, None, w.wcs.crpix)
    return ExposureInfo(path="x", shape=(4000, 4000), xy0=(100, 200), plane_hdus={"image": 1}, mask_planes={},
                        wcs=w, metadata={}, visit_info={}, zero_point_mag=None)


def test_sources_far_outside_the_wcs_are_dropped_not_fatal():
    """Issue 11 item 2: positions far off a distorted WCS made ``all_world2pix`` raise for the whole
    catalog; now those rows are dropped and the others placed where the WCS puts them."""
    import pandas as pd

    from explorer.compute.sources import source_positions

    info = _distorted_info()
    near_x, near_y = np.array([150.0, 2100.0, 3900.0]), np.array([300.0, 2200.0, 4000.0])
    ra, dec = info.pixel_to_sky(near_x, near_y)
    df = pd.DataFrame({"coord_ra": np.r_[ra, 57.5, 80.0, 236.0, np.nan],
                       "coord_dec": np.r_[dec, -36.0, -10.0, 36.0, 0.0], "id": np.arange(7)})
    cols = {"pix": None, "sky": ("coord_ra", "coord_dec"), "units": {}, "id": "id", "value": None}
    out = source_positions(info, df, cols)
    assert out["id"].tolist() == [0, 1, 2]
    assert np.allclose(out["x"], near_x, atol=1e-3) and np.allclose(out["y"], near_y, atol=1e-3)


def test_a_failing_layer_is_said_in_its_panel_and_the_page_builds(sample_gen3, monkeypatch):
    """Issue 11 item 2: one failing layer (the sources on the image) blanked the page; now the page
    builds, the image panel names what failed, and the other panels work."""
    import holoviews as hv
    from astropy.wcs import NoConvergence

    def fail(self):
        raise NoConvergence("'WCS.all_world2pix' failed to converge to the requested accuracy.")

    monkeypatch.setattr(ExplorerState, "source_positions", fail)
    page = Explorer(str(sample_gen3))
    assert page.__panel__().get_root() is not None
    hv.render(page.image.view().object, backend="bokeh")  # runs the layers' callbacks
    assert "sources on the image failed: NoConvergence" in page.image.failure
    assert "NoConvergence" in page.state.error
    assert page.state.histogram() is not None and page.summary.failure == "" and page.skymap.failure == ""


def test_every_panel_shows_its_own_failure_in_place(sample_gen3, monkeypatch):
    """The panel error boundary: a panel whose build raises shows the failure where it would be."""
    from explorer.app.summary import SummaryPanel

    def broken(self):
        raise RuntimeError("the registry went away")

    monkeypatch.setattr(SummaryPanel, "_build", broken)
    page = Explorer(str(sample_gen3))
    assert page.__panel__().get_root() is not None
    shown = page.summary.view()
    assert "panel-error" in shown.object and "the registry went away" in shown.object
    assert page.image.view() is not None and page.image.failure == ""


def test_a_link_with_only_a_visit_shows_that_visit(sample_gen3, manifest):
    """Issue 11 item 7: a link with only a visit was refused ("visit ... is not available here")
    because visits were filtered by overlap with the default tract and band; the link wins."""
    default = ExplorerState(repo=str(sample_gen3))
    default.image_kind = "calexp"
    offered = set(default.param.visit.objects)
    on_disk = [c for c in manifest["calexps"] if c["on_disk"]]
    # a visit the default selection does not offer (another band, or off the default patch)
    target = next((c for c in on_disk if c["visit"] not in offered), on_disk[-1])
    fresh = ExplorerState(repo=str(sample_gen3))
    assert fresh.apply_query({"visit": str(target["visit"])}) == []
    assert fresh.image_kind == "calexp" and fresh.visit == target["visit"]
    assert fresh.exposure_ref.get("visit") == target["visit"] and fresh.band == target["band"]
    assert fresh.exposure() is not None
    linked = ExplorerState(repo=str(sample_gen3))
    assert linked.apply_query({"visit": str(target["visit"]), "detector": str(target["detector"])}) == []
    assert (linked.visit, linked.detector) == (target["visit"], target["detector"])


def test_links_keep_flags_zoom_and_the_coadd_modes_visit(sample_gen3):
    """Issue 11 item 8: zoom, require/exclude flags and (in coadd mode) visit/detector were not
    restored from a link."""
    st = ExplorerState(repo=str(sample_gen3))
    st.image_kind = "calexp"
    visit, detector = st.visit, st.detector
    st.image_kind = "coadd"
    flags = st.param.exclude_flags.objects
    st.exclude_flags = [flags[0]]
    st.require_flags = []
    st.zoom = (13850.0, 13950.5, 13900.0, 14000.0)
    query = st.to_query()
    assert query["zoom"] == "13850,13950.5,13900,14000"
    assert query["exclude"] == flags[0] and query["require"] == "none"
    assert query["visit"] == str(visit) and query["detector"] == str(detector)
    fresh = ExplorerState(repo=str(sample_gen3))
    assert fresh.apply_query(query) == []
    for name in ("image_kind", "tract", "patch", "band", "visit", "detector", "exclude_flags", "require_flags",
                 "zoom"):
        assert getattr(fresh, name) == getattr(st, name), name
    assert fresh.histogram().rows == st.histogram().rows


def test_a_stale_link_names_every_stale_value(sample_gen3):
    """Issue 11 item 8: a link with several stale values reported only the last."""
    fresh = ExplorerState(repo=str(sample_gen3))
    problems = fresh.apply_query({"tract": "99999", "band": "q", "stretch": "sqrt"})
    assert len(problems) == 3
    assert "99999" in fresh.error and "'q'" in fresh.error and "sqrt" in fresh.error


def test_the_image_opens_at_a_linked_zoom(sample_gen3):
    """The zoom of a link is the image's first view (and panning writes it back to the state)."""
    import holoviews as hv

    page = Explorer(str(sample_gen3), query={"tract": "3828", "patch": "3,3", "zoom": "13850,13950,13900,14000"})
    plot = hv.renderer("bokeh").get_plot(page.image.view().object)
    assert (plot.state.x_range.start, plot.state.x_range.end) == (13850, 13950)
    assert (plot.state.y_range.start, plot.state.y_range.end) == (13900, 14000)


def test_absent_calexps_are_not_picked_by_default_and_are_marked(sample_gen3, manifest):
    """Issue 11 item 5: a registered-but-absent calexp was picked by default and the detector list
    did not mark it; now data on disk is preferred and absent ones say so in the list."""
    missing = manifest["missing"]["data_id"]
    band = next(c["band"] for c in manifest["calexps"] if c["visit"] == missing["visit"])
    st = ExplorerState(repo=str(sample_gen3))
    assert st.apply_query({"kind": "calexp", "band": band, "visit": str(missing["visit"])}) == []
    assert st.visit == missing["visit"] and st.detector != missing["detector"]
    assert st.exposure() is not None and "not on disk" not in st.error
    assert st.param.detector.names[f"{missing['detector']} (not on disk)"] == missing["detector"]
    # chosen on purpose it is shown as missing; the next selection that works clears the problem
    st.detector = missing["detector"]
    assert "not on disk" in st.error and st.exposure() is None
    st.detector = next(d for d in st.param.detector.objects if d != missing["detector"])
    assert st.exposure() is not None and st.error == ""


def test_the_banner_clears_when_the_next_selection_works(sample_gen3, manifest):
    """Issue 11 item 5: a "Problem:" banner stayed through valid selections."""
    missing = manifest["missing"]["data_id"]
    band = next(c["band"] for c in manifest["calexps"] if c["visit"] == missing["visit"])
    page = Explorer(str(sample_gen3), query={"repo": str(sample_gen3), "kind": "calexp", "band": band,
                                             "visit": str(missing["visit"]), "detector": str(missing["detector"])})
    assert page.errors.visible and "not on disk" in page.errors.text
    page.state.detector = next(d for d in page.state.param.detector.objects if d != missing["detector"])
    assert not page.errors.visible


def test_histogram_title_counts_the_rows_the_flags_left_out(sample_gen3):
    """Issue 11 (friction): the title said "3 of 3 rows" after a flag filter on 78 rows."""
    from explorer.views.catalog import histogram_title

    st = ExplorerState(repo=str(sample_gen3))
    st.require_flags = []
    whole = st.histogram()
    total = whole.rows
    flag = next(f for f in st.param.exclude_flags.objects
                if 0 < st.catalog_frame([f])[f].astype(bool).sum() < total)
    st.exclude_flags = [flag]
    hist = st.histogram()
    assert hist.rows < total and hist.filtered_out == total - hist.rows
    assert f"of {total:,} rows" in histogram_title(hist) and f"{hist.filtered_out:,} by flags" in histogram_title(hist)


def test_defaults_are_chosen_among_what_exists_together():
    """Issue 11 item 3: the default page showed nothing when the first band had no coadd in the
    default patch; defaults now come from (tract, patch, band) triples that have a coadd."""
    from explorer.index import nearest_coadd_key

    coadds = {(3828, "3,3", "r"), (3828, "3,3", "i"), (3828, "4,3", "g"), (3829, "6,3", "g")}
    assert nearest_coadd_key(coadds, 3828, "3,3", "r") == (3828, "3,3", "r")  # it exists: kept
    assert nearest_coadd_key(coadds, 3828, "3,3", "g") == (3828, "3,3", "r")  # same patch, another band
    assert nearest_coadd_key(coadds, 3829, "6,3", "r") == (3829, "6,3", "g")
    assert nearest_coadd_key(coadds, 3828, "5,5", "g") == (3828, "4,3", "g")  # same tract and band
    assert nearest_coadd_key(coadds, 4000, "0,0", "u") == (3828, "3,3", "r")  # first of all, bands in order
    assert nearest_coadd_key(set(), 3828, "3,3", "g") is None


def test_the_first_page_shows_a_picture(sample_gen3):
    """Whatever the first band is, the default selection names a coadd that exists."""
    st = ExplorerState(repo=str(sample_gen3))
    assert st.image_kind == "coadd" and st.exposure_ref is not None and st.exposure() is not None
    assert st.index.coadd_id(st.tract, st.patch, st.band) is not None


def test_the_band_buttons_follow_the_calexp_shown(sample_gen3):
    """Issue 11 item 4: with band r and patch 4,3 selected the calexp shown was a g visit while the
    band buttons kept saying r; the selectors now follow what is shown."""
    st = ExplorerState(repo=str(sample_gen3))
    st.image_kind = "calexp"
    st.tract, st.patch = 3828, "4,3"
    st.band = "r"  # no r visit overlaps 4,3 in the sample: a visit of another band is shown
    shown = st.index.visit_band[st.exposure_ref.get("visit")]
    assert st.band == shown and st.exposure_ref.get("band", shown) == shown
    assert "the visit's" in st.visit_note
    for band in st.param.band.objects:  # never a calexp of one band under another band's button
        st.band = band
        if st.exposure_ref is not None:
            assert st.index.visit_band[st.exposure_ref.get("visit")] == st.band


def test_no_calexp_from_another_tract_is_shown_under_a_tract(sample_gen3):
    """Issue 11 item 4: with tract 3829 selected the calexp shown lay in tract 3828 (no visit of
    the sample overlaps 3829: the visit list fell back to every visit). Now nothing is shown, the
    visit list is empty, and the image title and the visit note say why."""
    st = ExplorerState(repo=str(sample_gen3))
    st.image_kind = "calexp"
    assert st.exposure_ref is not None and st.tract == 3828
    st.tract = 3829
    assert st.patch in st.index.patches(3829) and not st.index.visits_overlapping(3829, None)
    assert st.exposure_ref is None and st.visit is None and st.detector is None
    assert list(st.param.visit.objects) == []
    assert f"no calexp overlaps tract 3829 patch {st.patch}" in st.visit_note
    assert st.describe() == st.visit_note
    # back on a tract with calexps: one is shown again, and it overlaps the selected patch
    st.tract = 3828
    ref = st.exposure_ref
    assert ref is not None and ref.get("visit") in st.index.visits_overlapping(3828, st.patch)
    # switching kinds does not bring back a calexp chosen elsewhere
    st.image_kind = "coadd"
    st.tract = 3829
    assert st.exposure_ref is not None  # the coadd of 3829
    st.image_kind = "calexp"
    assert st.exposure_ref is None and "no calexp overlaps tract 3829" in st.describe()


def test_the_tract_and_patch_follow_a_linked_visit(sample_gen3):
    """Issue 11 item 4 (and 7): a link's visit wins over a tract it does not overlap; the tract and
    patch selectors then follow it instead of naming a tract the calexp is not in."""
    st = ExplorerState(repo=str(sample_gen3))
    st.image_kind = "calexp"
    visit = st.visit
    fresh = ExplorerState(repo=str(sample_gen3))
    assert fresh.apply_query({"tract": "3829", "visit": str(visit)}) == []
    assert fresh.visit == visit and fresh.exposure_ref is not None
    assert fresh.tract == 3828 and visit in fresh.index.visits_overlapping(fresh.tract, fresh.patch)


def test_the_summary_says_which_bands_have_what_and_lists_missing_files(sample_gen3, manifest):
    """Issue 11 (friction and item 10): the summary listed bands u..y while only g, r, i have
    images, its table cut the last row off, and the "missing files" card gave a count only."""
    page = Explorer(str(sample_gen3))
    stats, table = page.summary._build()[:2]
    text = stats.object
    images = sorted({c["band"] for c in manifest["calexps"]})
    assert f"calexps in {', '.join(b for b in 'ugrizy' if b in images)}" in text
    assert "coadds in g, r, i" in text and "no images in u, z, y" in text
    assert '<div class="v">g r i</div><div class="k">bands with images</div>' in text
    missing = manifest["missing"]["data_id"]
    assert 'class="stat missing-files"' in text and "<summary" in text
    assert f"visit={missing['visit']}" in text and f"detector={missing['detector']}" in text
    from explorer.app.style import ROW_PX

    # every row and the header in view: the table grows with its (wrapped) rows, up to a height that shows them all
    assert table.height is None and table.max_height >= ROW_PX * (len(table.value) + 1)


def test_informational_notes_are_not_red():
    """Issue 11 (friction): Gen2's informational notes were red like errors."""
    from explorer.app.summary import note_html

    out = note_html(["skymap: identified from the config (DC2)", "cannot read x/config/skyMap.py: denied"])
    assert "#a45" not in out and "#a33" not in out and "red" not in out
    assert 'color:#555">skymap: identified' in out and 'color:#8a5a00">cannot read' in out


def test_the_readme_says_the_setup_makes_the_virtual_environment():
    """Issue 11 (friction): the README never said to make or activate a virtual environment; it
    must say that the setup script makes ``.venv`` (and how to use it), not ask the reader to."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "scripts/setup.sh" in readme and "virtual" in readme and "`.venv`" in readme
    assert "source .venv/bin/activate" in readme
    assert "python -m venv" not in readme and "virtualenv " not in readme
    setup = (Path(__file__).resolve().parents[1] / "scripts" / "setup.sh").read_text()
    assert "-m venv" in setup and ".venv" in setup
