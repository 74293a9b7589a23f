"""A flux column histogrammed as AB magnitudes (issue 15: DP1's nJy fluxes, and instFlux columns
with the image's zero point), and the histogram's range selection on that axis."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.compute.axes import is_flux_column
from explorer.state import ExplorerState


@pytest.fixture(scope="module")
def state(sample_gen3):
    st = ExplorerState()
    st.open(str(sample_gen3))
    st.apply_query({"kind": "calexp"})
    flux = next(c for c in st.param.column.objects if is_flux_column(c) and "instflux" in c.lower())
    st.column = flux
    return st


def test_an_instflux_column_in_ab_magnitudes_with_the_images_zero_point(state):
    st = state
    zero_point = st.exposure().info.zero_point_mag
    assert zero_point is not None
    flux = st.catalog_frame([st.column])[st.column].to_numpy(float)
    st.hist_mag = True
    try:
        hist = st.histogram()
        assert hist.magnitudes and not hist.log and hist.label == f"{st.column} (AB mag)"
        mags = zero_point - 2.5 * np.log10(flux[flux > 0])
        mags = mags[np.isfinite(mags)]
        want, edges = np.histogram(mags, bins=st.bins, range=(mags.min(), mags.max()))
        np.testing.assert_allclose(hist.edges, edges)
        assert hist.counts.tolist() == want.tolist()
        assert hist.used == len(mags) and hist.non_finite == len(flux) - len(mags)
        # brighter is smaller: the brightest source has the smallest magnitude
        assert hist.edges[0] == pytest.approx(zero_point - 2.5 * np.log10(flux.max()))
    finally:
        st.hist_mag = False
    assert st.histogram().log and not st.histogram().magnitudes  # back to log10 of the flux


def test_a_range_selected_on_the_magnitude_axis_keeps_those_sources(state):
    from explorer.app.tools.rows import catalog_rows, selected_rows

    st = state
    zero_point = st.exposure().info.zero_point_mag
    st.hist_mag = True
    try:
        frame = catalog_rows(st)
        flux = frame[st.column].to_numpy(float)
        mags = zero_point - 2.5 * np.log10(np.where(flux > 0, flux, np.nan))
        lo, hi = np.nanpercentile(mags, [25, 75])
        st.selection_range = (float(lo), float(hi))
        keep = selected_rows(st, frame)
        assert keep.sum() == int(((mags >= lo) & (mags <= hi)).sum()) > 0
    finally:
        st.param.update(hist_mag=False, selection_range=None)


def test_the_magnitude_axis_is_a_url_key(state):
    st = state
    st.apply_query({"mag": ["1"]})
    try:
        assert st.hist_mag and st.to_query().get("mag") == "1"
    finally:
        st.hist_mag = False
