"""The selector index: scoped registry queries, nothing enumerated at open, a bounded shared memo.

Checked on the small DC2-like sample (``sample_gen3``) against its manifest and the DC2 skymap's
own geometry, and on a tiny survey-like repository (:mod:`explorer.sample.survey`) where every
detector region is in the registry.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def manifest(sample_gen3):
    return json.loads((sample_gen3 / "sample_manifest.json").read_text())


@pytest.fixture(scope="module")
def survey_repo(tmp_path_factory):
    """8 visits x 189 detectors over 2 DC2 tracts, 4 calexp files on disk."""
    from explorer.sample.survey import write_survey

    root = tmp_path_factory.mktemp("survey") / "repo"
    manifest = write_survey(root, visits=8, tracts=2, seed=5)
    return root, manifest


class CountingRepo:
    """The real Gen3 repository, with a record of every data-ID query the index asks."""

    def __init__(self, repo):
        self._repo = repo
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        attr = getattr(self._repo, name)
        if name in ("query_data_ids", "distinct_values", "count_datasets", "has_datasets", "overlapping_detectors"):
            def wrapped(*args, **kwargs):
                self.calls.append((name, args, kwargs))
                return attr(*args, **kwargs)
            return wrapped
        return attr


def test_opening_enumerates_no_image_data_ids(sample_gen3):
    """Building the index and the first page's answers never lists all calexps or coadds."""
    from explorer.index import RepoIndex
    from explorer.repo import open_repo

    repo = CountingRepo(open_repo(str(sample_gen3)))
    idx = RepoIndex(repo)
    tract = idx.tracts[0]
    patch = idx.patches(tract)[0]
    band = idx.bands[0]
    idx.coadd_id(tract, patch, band)
    visits = idx.choose_visits(tract, patch, band).visits
    idx.detectors(visits[0])
    for name, args, kwargs in repo.calls:
        if name == "query_data_ids":  # only with a data ID naming one dataset
            where = kwargs.get("where") or (args[1] if len(args) > 1 else None)
            assert where, (name, args, kwargs)
        if name == "distinct_values" and args[0] in (idx.calexp_type, idx.coadd_type):
            keys = args[1]
            assert len(keys) == 1 or kwargs.get("where"), (name, args, kwargs)
    repo._repo.close()


def test_index_answers_match_the_manifest(sample_gen3, manifest):
    from explorer.index import RepoIndex
    from explorer.repo import open_repo

    repo = open_repo(str(sample_gen3))
    try:
        idx = RepoIndex(repo)
        calexps = {(c["visit"], c["detector"]) for c in manifest["calexps"]}
        assert set(idx.visits) == {v for v, _ in calexps}
        for visit in idx.visits:
            assert idx.detectors(visit) == sorted(d for v, d in calexps if v == visit)
            band = next(c["band"] for c in manifest["calexps"] if c["visit"] == visit)
            assert idx.visit_band[visit] == band and idx.band_of_visit(visit) == band
        coadd = manifest["coadds"][0]
        for band in coadd["bands"]:
            data_id = idx.coadd_id(coadd["tract"], coadd["patch_name"], band)
            assert data_id["tract"] == coadd["tract"] and data_id["band"] == band
        assert idx.coadd_id(coadd["tract"], coadd["patch_name"], "nope") is None
        assert set(idx.tracts) == set(manifest["tracts"])
        assert bool(idx.coadds) and bool(idx.calexps) and len(idx.calexps) == len(calexps)
        assert idx.calexps.get((999, 999)) is None
    finally:
        repo.close()


def test_visit_options_count_overlapping_detectors_and_search(sample_gen3):
    from explorer.index import RepoIndex, overlaps
    from explorer.repo import open_repo

    repo = open_repo(str(sample_gen3))
    try:
        idx = RepoIndex(repo)
        tract, patch = 3828, "3,3"
        region = idx.patch_regions(tract)[patch]
        options, matched, note = idx.visit_options(tract, patch, None)
        assert matched == len(options) > 0 and "overlapping" in note
        for opt in options:
            fps = idx.visit_footprints(opt.value)
            assert opt.count == sum(overlaps(fp, region) for fp in fps.values()) >= 1
            assert str(opt.value) in opt.label
        some = str(options[-1].value)[-3:]
        found, n, _ = idx.visit_options(tract, patch, None, search=some)
        assert found and all(some in str(o.value) for o in found) and n == len(found)
        limited, n_all, _ = idx.visit_options(tract, patch, None, limit=1)
        assert len(limited) == 1 and n_all == matched
        dets = idx.detector_options(options[0].value, tract, patch)
        assert dets[0].count == 1 and {o.value for o in dets} == set(idx.detectors(options[0].value))
        coverage = idx.patch_coverage(tract)
        assert coverage[patch] == sum(o.count for o in options)
    finally:
        repo.close()


def test_survey_overlaps_come_from_the_registry_regions(survey_repo):
    """On a survey-like registry the visits of a patch are the registry's spatial join, exactly."""
    from explorer.index import RepoIndex, overlaps
    from explorer.repo import open_repo

    root, manifest = survey_repo
    repo = open_repo(str(root))
    try:
        idx = RepoIndex(repo)
        regions = repo.detector_regions()
        tract = manifest["tracts"][0]
        nonempty = 0
        for patch in idx.patches(tract):
            region = idx.patch_regions(tract)[patch]
            want = {}
            for (v, d), corners in regions.items():
                if overlaps(corners, region):
                    want.setdefault(v, []).append(d)
            got = idx.overlapping(tract, patch)
            assert got == {v: sorted(ds) for v, ds in want.items()}, patch
            nonempty += bool(got)
        assert nonempty >= 5
        fps = idx.footprints_in(tract, None, limit=50)
        assert len(fps) == 50
        visit = manifest["files_on_disk"][0]["visit"]
        assert idx.visit_footprints(visit).keys() == set(range(189))
    finally:
        repo.close()


def test_memo_is_bounded_and_thread_safe():
    from explorer.index import _Memo

    memo = _Memo(entries=10, nbytes=10_000)
    for i in range(50):
        memo.get(i, lambda i=i: i)
    assert len(memo) == 10 and memo.peek(49) == 49 and memo.peek(0) is None
    memo.get("big", lambda: np.zeros(2000))  # 16 kB: more than the byte budget, evicts the rest
    assert memo.bytes <= 10_000 or len(memo) == 1
    calls = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        for i in range(200):
            assert memo.get(("k", i % 7), lambda i=i: calls.append(i) or i % 7) == i % 7

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(memo) <= 10


def test_gen2_keeps_the_scan_index():
    from explorer.index import RepoIndex, ScanIndex

    class NoRegistry:
        root = "/nowhere"

        def dataset_type_names(self):
            return []

    idx = RepoIndex(NoRegistry())
    assert isinstance(idx, ScanIndex) and idx.tracts == [] and idx.bands == []


def test_corrupt_sqlite_registry_is_one_line(sample_gen3, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(sample_gen3 / "butler.yaml", repo / "butler.yaml")
    (repo / "gen3.sqlite3").write_bytes(b"SQLite format 3\0" + os.urandom(4000))
    result = subprocess.run([sys.executable, "-m", "explorer.cli", "inventory", str(repo)], capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "gen3.sqlite3" in lines[0] and "not a readable SQLite database" in lines[0], result.stderr


def test_coverage_from_one_tract_query_matches_the_patch_joins(survey_repo):
    """The sky map's counts per patch (one query for the tract's detector regions, matched to the
    patches in numpy + sphgeom) equal the registry's own overlap join, patch by patch."""
    from explorer.index import RepoIndex, _overlap_counts
    from explorer.repo import open_repo

    root, manifest = survey_repo
    repo = open_repo(str(root))
    try:
        idx = RepoIndex(repo)
        tract = manifest["tracts"][0]
        regions = repo.detector_regions_in("calexp", tract, as_regions=True)
        assert regions and len(regions) < 8 * 189
        patches = idx.patch_regions(tract)
        counts = dict(zip(patches, _overlap_counts(list(patches.values()), list(regions.values()))))
        for patch in patches:
            assert counts[patch] == sum(len(d) for d in idx.overlapping(tract, patch).values()), patch
        assert idx.patch_coverage(tract) == {p: counts[p] for p in idx.patches(tract)}
        options = idx.patch_options(tract, search="3,")
        assert options and all(o.value.startswith("3,") and o.count == counts[o.value] for o in options)
        assert [o.value for o in idx.tract_options()] == idx.tracts
    finally:
        repo.close()


def test_footprints_of_an_incomplete_selection_are_missing_not_errors(sample_gen3):
    """The sky map asks for the footprint of whatever calexp is shown, possibly none yet."""
    from explorer.index import RepoIndex
    from explorer.repo import open_repo

    fps = RepoIndex(open_repo(sample_gen3)).footprints()
    for key in ((None, None), (None, 94), ("x", 1), ()):
        assert fps.get(key) is None


# What ANALYZE wrote for the overlap table of the 1 M-dataset survey sample (5,000 visits x 189
# detectors: 1,986,501 (detector, sky pixel) rows, ~1,520 per htm7 pixel).
SURVEY_OVERLAP_STATS = {
    "sqlite_autoindex_visit_detector_region_skypix_overlap_1": "1986501 1986501 1986501 1986501 10511 3 1",
    "visit_detector_region_skypix_overlap_idx_skypix_system_skypix_level_skypix_index_instrument_detector_visit":
        "1986501 1986501 1986501 1306 1306 9 1",
    "visit_detector_region_skypix_overlap_fkidx_skypix_system_skypix_level_instrument":
        "1986501 1986501 1986501 1986501",
    "visit_detector_region_skypix_overlap_fkidx_instrument_visit": "1986501 1986501 398",
    "visit_detector_region_skypix_overlap_fkidx_instrument_detector": "1986501 1986501 10511",
    "visit_detector_region_skypix_overlap_fkidx_instrument": "1986501 1986501",
}


def test_spatial_queries_look_up_the_pixels_of_the_region(survey_repo, tmp_path):
    """With a survey's table statistics, SQLite walked every detector region of the instrument
    (the overlap table's primary key) for a patch whose sky pixels form two ranges or more (a
    1 s patch switch at 1 M datasets); the region's pixels are now named one by one, so the
    overlap table is searched by pixel (or probed per candidate). Same answers."""
    import sqlalchemy

    from explorer.index import RepoIndex
    from explorer.repo import open_repo

    root, manifest = survey_repo
    copy = tmp_path / "repo"
    shutil.copytree(root, copy)
    con = sqlite3.connect(copy / "gen3.sqlite3")
    with con:
        for index, stat in SURVEY_OVERLAP_STATS.items():
            con.execute("DELETE FROM sqlite_stat1 WHERE idx = ?", (index,))
            con.execute("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)",
                        ("visit_detector_region_skypix_overlap", index, stat))
    con.close()
    repo, plain = open_repo(str(copy)), open_repo(str(root))
    statements: list[tuple] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "visit_detector_region_skypix_overlap" in statement:
            statements.append((statement, parameters))

    sqlalchemy.event.listen(repo.butler._registry._db._engine, "before_cursor_execute", record)
    plans = sqlite3.connect(f"file:{copy / 'gen3.sqlite3'}?mode=ro", uri=True)
    try:
        idx = RepoIndex(repo)
        tract = manifest["tracts"][0]
        asked = 0
        for patch in [*idx.patches(tract), None]:
            statements.clear()
            got = repo.overlapping_detectors("calexp", tract, patch)
            assert got == plain.overlapping_detectors("calexp", tract, patch), patch
            if patch is None:
                regions = repo.detector_regions_in("calexp", tract)
                assert regions.keys() == plain.detector_regions_in("calexp", tract).keys() == {
                    (v, d) for v, d, _ in got}
            assert statements, patch
            for statement, parameters in statements:
                asked += 1
                steps = [row[3] for row in plans.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
                searches = [s for s in steps if "visit_detector_region_skypix_overlap" in s]
                # by pixels, or one probe per candidate (detector, visit) found first: never a walk
                # of the whole table under its (system, level, instrument) prefix
                assert searches and all("skypix_index" in s or "visit=" in s for s in searches), (patch, steps)
        assert asked > 49
    finally:
        plans.close()
        repo.close()
        plain.close()


def test_first_page_lists_no_coadds(survey_repo, monkeypatch):
    """The first page's default (tract, patch, band) with a coadd is asked of the registry
    scoped (issue 13: listing every coadd key was 1 of the first page's 1.4 s at 1 M)."""
    from explorer.index import RepoIndex
    from explorer.state import ExplorerState

    listed = []
    real = RepoIndex._all_keys
    monkeypatch.setattr(RepoIndex, "_all_keys", lambda self, kind: listed.append(kind) or real(self, kind))
    root, _manifest = survey_repo
    state = ExplorerState(repo=str(root))
    assert state.index is not None and state.image_kind == "coadd"
    assert state.index.coadd_id(state.tract, state.patch, state.band) is not None
    assert listed == []


@pytest.mark.parametrize("which", ["sample", "survey"])
def test_nearest_coadd_asks_what_the_full_list_answers(which, sample_gen3, survey_repo):
    """:meth:`RepoIndex.nearest_coadd` (scoped questions) finds what
    :func:`nearest_coadd_key` finds in the list of every coadd, wherever the selection is."""
    from explorer.index import RepoIndex, nearest_coadd_key
    from explorer.repo import open_repo

    repo = open_repo(str(sample_gen3 if which == "sample" else survey_repo[0]))
    try:
        idx = RepoIndex(repo)
        keys = list(idx.coadds)
        assert keys
        tracts = idx.tracts[:2] + [99999, None]
        bands = [*idx.bands[:1], idx.bands[-1], "nope", None]
        checked = 0
        for tract in tracts:
            patches = [*(idx.patches(tract)[:1] if tract in idx.tracts else []), "6,6", "x", None]
            for patch in patches:
                for band in bands:
                    want = nearest_coadd_key(keys, tract, patch, band)
                    assert idx.nearest_coadd("coadd", tract, patch, band) == want, (tract, patch, band)
                    checked += want is not None
        assert checked > 20
    finally:
        repo.close()
