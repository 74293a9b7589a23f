"""The page keeps working after a failure: a broken file shows its error in place, the other views
stay live, and the next selection works (issue: hosting for a collaboration).

A copy of the sample repository gets damaged files (a calexp cut inside its image data, one cut
inside its primary header, a coadd catalog overwritten with noise); the Panel page is then driven
without a browser, rendering each view the way a Bokeh session would.
"""
from __future__ import annotations

import json
import os
import shutil

import holoviews as hv
import pytest

from explorer.app import Explorer, ExplorerState, forget_repositories


@pytest.fixture(scope="module")
def broken(sample_gen3, tmp_path_factory):
    """A copy of the sample with three damaged files; returns (repo, manifest, damaged calexps)."""
    repo = tmp_path_factory.mktemp("broken") / "repo"
    shutil.copytree(sample_gen3, repo)
    manifest = json.loads((repo / "sample_manifest.json").read_text())
    # calexps overlapping tract 3828 patch 3,3, by visit: the page offers a visit when one of its
    # calexps' footprints (read from their headers) overlaps the patch, so the calexp cut inside its
    # header must belong to a visit with another overlapping detector to be offered at all
    from explorer.sky.predicates import overlaps

    probe = ExplorerState(repo=str(sample_gen3))
    region = probe.index.patch_regions(3828)["3,3"]
    by_visit: dict[int, list[int]] = {}
    for (visit, detector), corners in sorted(probe.index.footprints().items()):
        if overlaps(corners, region):
            by_visit.setdefault(visit, []).append(detector)
    band_of = {c["visit"]: c["band"] for c in manifest["calexps"]}
    band = next(band_of[v] for v, dets in by_visit.items() if len(dets) >= 2)
    pairs = [(v, d) for v, dets in by_visit.items() if band_of[v] == band for d in dets]
    header_visit = next(v for v, dets in by_visit.items() if band_of[v] == band and len(dets) >= 2)
    calexp_of = {(c["visit"], c["detector"]): c for c in manifest["calexps"] if c.get("on_disk", True)}
    cut_header = calexp_of[(header_visit, by_visit[header_visit][1])]
    rest = [calexp_of[p] for p in pairs if p in calexp_of and calexp_of[p] is not cut_header]
    assert len(rest) >= 2, "the sample has several calexps per band on patch 3,3"
    # the calexp cut inside its data may lose its footprint too: keep it off the header-cut visit
    cut_data = next(c for c in rest if c["visit"] != header_visit)
    good = next(c for c in rest if c is not cut_data)
    for calexp, keep in ((cut_data, 0.6), (cut_header, None)):
        path = repo / calexp["path"]
        size = path.stat().st_size
        with open(path, "r+b") as fh:
            fh.truncate(int(size * keep) if keep else 1000)
    coadd = next(c for c in manifest["coadds"] if c["tract"] == 3828 and c["patch_name"] == "3,3")
    catalog = next(p for key, p in manifest["paths"]["deepCoadd_forced_src"].items()
                   if f"band={coadd['bands'][0]}," in key and f"patch={coadd['patch']}," in key)
    target = repo / catalog
    target.write_bytes(os.urandom(target.stat().st_size))
    yield repo, manifest, {"cut_data": cut_data, "cut_header": cut_header, "good": good, "coadd": coadd}
    forget_repositories()


def _calexp_query(c) -> dict:
    return {"kind": "calexp", "tract": "3828", "patch": "3,3", "band": c["band"], "visit": str(c["visit"]),
            "detector": str(c["detector"])}


def _render(pane) -> None:
    """What a Bokeh session does with a HoloViews pane: render it (runs the DynamicMap callbacks)."""
    hv.render(pane.object, backend="bokeh")


def _histogram_drawn(page) -> bool:
    """Whether the histogram plot shows bars (it redraws in place: render it and read what it drew)."""
    dm = page.histogram.dmap
    hv.render(dm, backend="bokeh")
    title = str(dm.last.opts.get().kwargs.get("title", ""))
    return "no histogram" not in title and float(dm.last.dimension_values(1).sum()) > 0


def _is_plot(pane) -> bool:
    return hasattr(pane, "object") and isinstance(pane.object, (hv.core.Dimensioned, hv.DynamicMap))


def test_broken_calexp_shows_its_error_and_the_next_one_works(broken):
    repo, _manifest, files = broken
    page = Explorer(str(repo))
    st = page.state
    page.__panel__().get_root()  # the whole page builds on the damaged copy

    # cut inside the primary header: the exposure cannot be opened; the image pane says why
    count = st.error_count
    assert st.apply_query(_calexp_query(files["cut_header"])) == []
    view = page.image.view()
    assert st.error_count > count and st.error
    assert "\n" not in st.error and "Traceback" not in st.error
    assert st.error in view.object  # the message is shown where the image would be
    assert page.errors.visible and st.error in page.errors.text
    page.info.update()  # the info panel copes with no exposure

    # cut inside the image data: the header reads, the pixels do not; the render reports it
    count = st.error_count
    assert st.apply_query(_calexp_query(files["cut_data"])) == []
    view = page.image.view()
    if _is_plot(view):
        _render(view)  # the frame callback hits the truncated data and reports instead of raising
    assert st.error_count > count and st.error
    # the catalog histogram of the same visit is still live
    assert _histogram_drawn(page)

    # the next selection works
    count = st.error_count
    assert st.apply_query(_calexp_query(files["good"])) == []
    view = page.image.view()
    assert _is_plot(view)
    _render(view)
    frame = st.render_image(200, 200)
    assert frame is not None and frame.rgba.shape[:2] == (200, 200)
    assert st.error_count == count


def test_noise_instead_of_a_catalog_keeps_the_image_and_other_bands(broken):
    repo, _manifest, files = broken
    coadd = files["coadd"]
    page = Explorer(str(repo))
    st = page.state
    page.__panel__().get_root()
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": coadd["patch_name"], "band": coadd["bands"][0]})
    assert st.catalog_ref is not None and st.catalog_ref[0] == "deepCoadd_forced_src"
    drawn = _histogram_drawn(page)
    # said (naming the damaged file), not raised; the page may have said it already while building
    assert "deepCoadd_forced_src" in st.error and "\n" not in st.error
    assert page.errors.visible
    assert not drawn
    image = page.image.view()  # the coadd's pixels are intact
    assert _is_plot(image)
    _render(image)
    assert st.render_image(100, 100) is not None

    st.band = coadd["bands"][1]  # another band's catalog is fine
    assert _histogram_drawn(page)
    assert st.histogram() is not None and st.histogram().used > 0


def test_a_failing_summary_file_check_does_not_stop_the_page(broken):
    """The inventory with file checks over the damaged copy still counts every dataset type."""
    repo, manifest, _files = broken
    page = Explorer(str(repo))
    inv = page.state.inventory(check_files=True)
    counts = {t.name: t.count for t in inv.dataset_types}
    assert counts["calexp"] == sum(1 for _ in manifest["calexps"])
