"""Catalog tools below the browser: selection rules, scatter axes (magnitudes, colours), the table's
rows, the sky density grid, and the panels driven through the state on the sample repository."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.compute.axes import (
    axis_data,
    cmd_axes,
    colour_presets,
    is_flux_column,
    resolve_axis,
)
from explorer.compute.columns import njy_to_ab
from explorer.compute.selection import (
    in_box,
    in_polygon,
    in_range,
    selection_mask,
    table_frame,
)


def test_box_keeps_edges_and_any_corner_order():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.0, 1.0, 2.0, 3.0])
    assert in_box(x, y, (1, 1, 2, 2)).tolist() == [False, True, True, False]
    assert in_box(x, y, (2, 2, 1, 1)).tolist() == [False, True, True, False]


def test_polygon_even_odd_rule():
    # an L-shaped polygon: (0,0)-(2,0)-(2,1)-(1,1)-(1,2)-(0,2)
    xs, ys = [0, 2, 2, 1, 1, 0], [0, 0, 1, 1, 2, 2]
    x = np.array([0.5, 1.5, 1.5, 0.5, 3.0])
    y = np.array([0.5, 0.5, 1.5, 1.5, 0.5])
    assert in_polygon(x, y, xs, ys).tolist() == [True, True, False, True, False]
    assert not in_polygon(x, y, [0, 1], [0, 1]).any()  # two vertices enclose nothing


def test_range_on_a_log_axis_excludes_non_positive_values():
    v = np.array([-1.0, 0.0, 1.0, 10.0, 100.0, np.nan])
    assert in_range(v, (0.5, 1.5), log=True).tolist() == [False, False, False, True, False, False]
    assert in_range(v, (-2, 10)).tolist() == [True, True, True, True, False, False]


def test_selections_combine_with_and():
    rng = np.random.default_rng(3)
    x, y, v = rng.uniform(0, 100, 500), rng.uniform(0, 100, 500), rng.uniform(1, 1000, 500)
    keep = selection_mask(x, y, v, box=(10, 10, 60, 60), value_range=(1.0, 2.5), log=True)
    want = (x >= 10) & (x <= 60) & (y >= 10) & (y <= 60) & (np.log10(v) >= 1) & (np.log10(v) <= 2.5)
    assert keep.tolist() == want.tolist() and 0 < keep.sum() < 500
    assert selection_mask(x, y, v).all()


def test_table_frame_places_positions_by_row():
    cat = pd.DataFrame({"objectId": [7, 8, 9], "flux": [1.0, 2.0, 3.0]})
    pos = pd.DataFrame({"x": [10.0, 30.0], "y": [11.0, 31.0], "id": [7, 9]}, index=[0, 2])  # row 1 is off the image
    t = table_frame(cat, pos, ["flux"])
    assert t["id"].tolist() == [7, 8, 9] and t["flux"].tolist() == [1.0, 2.0, 3.0]
    assert t["x"].tolist()[::2] == [10.0, 30.0] and np.isnan(t["x"].iloc[1])


def test_colours_and_magnitudes():
    cols = ["g_psfFlux", "g_psfFluxErr", "r_psfFlux", "i_psfFlux", "base_PsfFlux_instFlux", "base_PsfFlux_area"]
    assert colour_presets(cols) == {"g - r": "mag(g_psfFlux) - mag(r_psfFlux)",
                                    "r - i": "mag(r_psfFlux) - mag(i_psfFlux)"}
    assert resolve_axis("g - r", cols) == "mag(g_psfFlux) - mag(r_psfFlux)"
    assert resolve_axis("z - y", cols) == "z - y"  # no such fluxes: left as written (and refused on use)
    assert is_flux_column("g_psfFlux")
    assert not is_flux_column("g_psfFluxErr") and not is_flux_column("base_PsfFlux_area")
    assert cmd_axes(cols, "i") == ("r - i", "i_psfFlux")
    assert cmd_axes(["base_PsfFlux_instFlux"]) is None
    df = pd.DataFrame({"g_psfFlux": [3631e9, 100.0, -1.0], "r_psfFlux": [3631e9 / 10 ** 0.4, 100.0, 5.0],
                       "base_PsfFlux_instFlux": [1.0, 10.0, 0.0]})
    colour = axis_data(df, "g - r", list(df.columns))
    assert colour.values[:2] == pytest.approx([-1.0, 0.0]) and np.isnan(colour.values[2])
    mag = axis_data(df, "r_psfFlux", list(df.columns), magnitudes=True)
    assert mag.magnitude and mag.values == pytest.approx(njy_to_ab(df["r_psfFlux"].to_numpy()))
    inst = axis_data(df, "base_PsfFlux_instFlux", list(df.columns), magnitudes=True, zero_point_mag=27.0)
    assert inst.values[:2] == pytest.approx([27.0, 24.5]) and np.isnan(inst.values[2])
    assert "zero point 27.000" in inst.label
    plain = axis_data(df, "r_psfFlux", list(df.columns), magnitudes=False)
    assert plain.values.tolist() == df["r_psfFlux"].tolist() and not plain.magnitude


def test_sky_grid_counts_every_finite_row_across_ra_zero():
    from explorer.app.tools.density import sky_grid

    ra = np.array([359.5, 359.9, 0.1, 0.4, np.nan])
    dec = np.array([-1.0, 0.0, 0.5, 1.0, 0.0])
    grid, frame = sky_grid(ra, dec, 20, 20)
    assert grid.total == 4
    assert grid.x_range[1] - grid.x_range[0] < 2  # unwrapped around RA 0, not spread over 360 degrees
    assert frame.ra_ref < 1 or frame.ra_ref > 359


@pytest.fixture(scope="module")
def page(sample_gen3):
    from explorer.app.page import Explorer

    return Explorer(str(sample_gen3)).open_tools()


def test_table_panel_rows_selection_and_mark(page):
    from explorer.app.tools.rows import _marked, _selected

    st, table = page.state, page.panels["table"]
    rows = table.table.value
    truth = st.source_positions()
    assert len(rows) == len(st.catalog_frame([st.column])) == len(truth) > 15
    assert rows["x"].to_numpy() == pytest.approx(truth["x"].to_numpy())
    box = (rows["x"].min(), rows["y"].min(), rows["x"].median(), rows["y"].max())
    st.selection_box = box
    inside = in_box(truth["x"], truth["y"], box)
    assert len(table.table.value) == inside.sum() and f'data-rows="{inside.sum()}"' in table.caption.object
    assert len(_selected(st, None, None)) == inside.sum()  # highlighted on the image
    assert table.mark(0)
    ident, x, y = st.marked_source
    assert isinstance(ident, int) and ident == table.table.value["id"].iloc[0]
    assert (x, y) == (table.table.value["x"].iloc[0], table.table.value["y"].iloc[0])
    assert len(_marked(st, None, None)) == 1
    table.clear.clicks += 1
    assert st.selection_box is None and st.marked_source is None and len(table.table.value) == len(rows)
    # a histogram range (log axis) filters too
    values = np.log10(rows[st.column].to_numpy())
    st.selection_range = (float(np.median(values)), float(values.max()))
    assert len(table.table.value) == int(((values >= np.median(values)) & (values <= values.max())).sum())
    # another catalog forgets the selection
    st.catalog = "objectTable"
    assert st.selection_range is None and len(table.table.value) == len(st.catalog_frame(["objectId"]))


def test_scatter_and_density_panels(page):
    st, scatter, dens = page.state, page.panels["scatter"], page.panels["density"]
    st.catalog = "objectTable"
    assert scatter.colour_magnitude()
    assert (scatter.x.value, scatter.y.value, scatter.magnitudes.value) == ("g - r", "r_psfFlux", True)
    df = st.catalog_frame(["g_psfFlux", "r_psfFlux"])
    r_mag = njy_to_ab(df["r_psfFlux"])
    finite = np.isfinite(njy_to_ab(df["g_psfFlux"]) - r_mag) & np.isfinite(r_mag)
    assert scatter.total == int(finite.sum()) > 0
    assert dens.total == len(st.catalog_frame(["coord_ra"]))
    st.catalog = "deepCoadd_forced_src"  # instFlux: magnitudes need the image's zero point, no colours
    assert not scatter.colour_magnitude()
    scatter.y.value = "base_PsfFlux_instFlux"
    assert "zero point" in scatter.caption.object
