"""The page parts of Rubin's releases, without a browser: image kinds named as the repository names
them (and the difference and template kinds), the cell grid of a cell coadd, and the readout's
"approx." and mask plane descriptions."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.app.controls import mask_legend_html
from explorer.app.image import readout_html
from explorer.app.tools.cells import cell_note, grid_lines, missing_crosses
from explorer.repo.model import CellGrid


@pytest.fixture(scope="module")
def dp1(tmp_path_factory):
    from explorer.sample import make_sample

    root = tmp_path_factory.mktemp("dp1") / "repo"
    make_sample(root, release="dp1", seed=5)
    return root, json.loads((root / "sample_manifest.json").read_text())


# ----- image kinds ---------------------------------------------------------------------------------
def test_kind_buttons_say_what_the_release_calls_them(dp1):
    from explorer.state import ExplorerState

    root, manifest = dp1
    st = ExplorerState(repo=str(root))
    assert st.param.image_kind.names == {"deep_coadd": "coadd", "visit_image": "calexp",
                                         "difference_image": "difference", "template_coadd": "template"}
    seen = {}
    for kind in ("difference", "template", "calexp", "coadd"):
        st.image_kind = kind
        ex = st.exposure()
        assert ex is not None, (kind, st.error)
        seen[kind] = st.exposure_ref.dataset_type
        assert st.describe().startswith(seen[kind])
    assert seen == {"difference": "difference_image", "template": "template_coadd", "calexp": "visit_image",
                    "coadd": "deep_coadd"}


def test_a_difference_image_is_found_whatever_visit_was_shown(dp1):
    """Difference images exist for a few visits only: choosing the kind chooses one of those."""
    from explorer.repo import open_repo
    from explorer.state import ExplorerState

    root, manifest = dp1
    repo = open_repo(str(root))
    try:
        having = {(d["visit"], d["detector"]) for d in repo.query_data_ids("difference_image")}
    finally:
        repo.close()
    st = ExplorerState(repo=str(root))
    st.image_kind = "calexp"
    st.param.update(visit=next(v for v in st.param.visit.objects if v not in {v for v, _ in having}))
    st.image_kind = "difference"
    assert (st.visit, st.detector) in having
    assert set(st.param.visit.objects) <= {v for v, _ in having}
    assert "difference_image" in st.visit_note
    st.image_kind = "template"
    assert st.exposure_ref.dataset_type == "template_coadd" and st.exposure() is not None


def test_links_name_kinds_either_way(dp1):
    from explorer.state import ExplorerState

    root, _ = dp1
    st = ExplorerState(repo=str(root))
    assert st.apply_query({"kind": "difference_image"}) == []
    assert st.image_kind == "difference" and st.exposure() is not None
    q = st.to_query()
    assert q["kind"] == "difference"
    again = ExplorerState(repo=str(root))
    assert again.apply_query(q) == [] and again.exposure_ref == st.exposure_ref
    assert ExplorerState(repo=str(root)).apply_query({"kind": "visit_image"}) == []
    bad = ExplorerState(repo=str(root)).apply_query({"kind": "calexp_of_nothing"})
    assert bad and "kind" in bad[0]


def test_dc2_keeps_its_own_names(sample_gen3):
    from explorer.state import ExplorerState

    st = ExplorerState(repo=str(sample_gen3))
    assert st.param.image_kind.names == {"deepCoadd_calexp": "coadd", "calexp": "calexp"}
    assert st.apply_query({"kind": "calexp"}) == [] and st.exposure_ref.dataset_type == "calexp"


def test_release_sample_has_a_missing_cell(dp1):
    """The second patch's coadds have one cell without data (NO_DATA over it, NaN pixels)."""
    from explorer.repo import open_repo

    root, manifest = dp1
    repo = open_repo(str(root))
    try:
        with_missing = [c for c in manifest["coadds"] if c["missing_cells"]]
        assert with_missing and all(c["patch_xy"] != manifest["coadds"][0]["patch_xy"] for c in with_missing)
        c = with_missing[0]
        ex = repo.get_exposure("deep_coadd", {"skymap": manifest["skymap"], "tract": c["tract"], "patch": c["patch"],
                                              "band": c["band"]})
        nodata = 1 << ex.info.mask_planes["NO_DATA"]
        block = ex.mask[-150:, -150:]
        assert np.all(block & nodata) and np.all(np.isnan(ex.image[-150:, -150:]))
        assert np.isfinite(ex.image[:-150, :]).mean() > 0.9
    finally:
        repo.close()


# ----- the cell grid -----------------------------------------------------------------------------
GRID = CellGrid(grid_origin=(11850, 11850), cell_shape=(150, 150), grid_size=(22, 22), first_cell=(18, 18),
                num_cells=(3, 2), missing=[(20, 19)])


def test_grid_lines_are_the_cell_edges_over_the_image():
    lines = grid_lines(GRID)
    vertical = sorted(line["x"][0] for line in lines if line["x"][0] == line["x"][1])
    horizontal = sorted(line["y"][0] for line in lines if line["y"][0] == line["y"][1])
    x0, y0 = 11850 + 18 * 150 - 0.5, 11850 + 18 * 150 - 0.5
    assert vertical == [x0, x0 + 150, x0 + 300]  # two columns: three edges
    assert horizontal == [y0, y0 + 150, y0 + 300, y0 + 450]  # three rows: four edges
    assert all(line["kind"] == "cell_grid" for line in lines)
    for line in lines:  # each spans the covered cells exactly
        if line["x"][0] == line["x"][1]:
            assert list(line["y"]) == [y0, y0 + 450]
        else:
            assert list(line["x"]) == [x0, x0 + 300]


def test_missing_cells_are_crossed_and_named_in_the_readout():
    crosses = missing_crosses(GRID)
    x, y, w, h = GRID.cell_bbox(20, 19)
    assert len(crosses) == 2
    for c in crosses:
        assert sorted(c["x"]) == [x - 0.5, x + w - 0.5] and sorted(c["y"]) == [y - 0.5, y + h - 0.5]
    assert cell_note(GRID, x + 10, y + 10) == "cell 20,19 (missing)"
    assert cell_note(GRID, x - 10, y + 10) == "cell 20,18"
    assert cell_note(None, 0, 0) is None
    assert missing_crosses(CellGrid((0, 0), (150, 150), (20, 20), (0, 0), (1, 1))) == []


# ----- the readout and the legend --------------------------------------------------------------
def _pixel(**extra):
    return dict({"x": 10, "y": 20, "value": 1.5, "mask_planes": ["SAT", "CR"], "ra": 56.1, "dec": -36.2}, **extra)


def test_readout_says_approx_only_when_the_position_is_the_fits_approximation():
    assert "approx." in readout_html(_pixel(sky_exact=False))
    assert "approx." not in readout_html(_pixel(sky_exact=True))
    assert "approx." not in readout_html(_pixel())  # (nothing known: nothing claimed)


def test_readout_gives_mask_plane_descriptions_as_tooltips():
    text = readout_html(_pixel(mask_descriptions={"SAT": 'Pixel was "saturated" <here>'}, cell="cell 3,4"))
    assert '<span class="mask-plane" title="Pixel was &quot;saturated&quot; &lt;here&gt;">SAT</span>' in text
    assert 'title="CR">CR</span>' in text  # no description: its name
    assert "cell 3,4" in text


def test_mask_legend_lists_every_plane_with_its_description():
    text = mask_legend_html(["BAD", "SAT"], {"BAD": "#f00"}, {"BAD": "Bad <pixel>"})
    assert 'class="mask-legend"' in text and "Bad &lt;pixel&gt;" in text
    assert 'data-plane="SAT"' in text and "no description in the file" in text
    assert mask_legend_html(["BAD"], {}, {}) == ""
