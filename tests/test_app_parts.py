"""The small shared pieces under the page: the pixel rule, dataset keys, the band order, the URL
table, the bounded limits cache, the panel registry."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.bands import band_key, sorted_bands
from explorer.keys import DatasetKey
from explorer.render.pixel import pixel_index


def test_half_pixels_go_up_whatever_python_rounding_does():
    # pixel i covers [i - 0.5, i + 0.5): 2.5 is pixel 3 (round() gives 2), 3.5 is 4, -0.5 is 0
    assert pixel_index(2.5, 3.5)[:2] == (3, 4)
    assert pixel_index(-0.5, -1.5)[:2] == (0, -1)
    assert pixel_index(2.4999, 2.5001)[:2] == (2, 3)
    assert round(2.5) == 2  # the rule the CLI used, which disagrees
    # array indices from xy0, and None off the array
    assert pixel_index(100.5, 200.0, (100, 200), (5, 5)) == (101, 200, 1, 0)
    assert pixel_index(99.4, 200.0, (100, 200), (5, 5)) is None
    assert pixel_index(104.49, 204.49, (100, 200), (5, 5)) == (104, 204, 4, 4)
    assert pixel_index(104.5, 204.0, (100, 200), (5, 5)) is None


def test_readout_reads_the_pixel_of_the_rule_at_a_half_pixel():
    from explorer.repo.model import Exposure, ExposureInfo
    from explorer.views.info import pixel_readout

    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    info = ExposureInfo(path="x", shape=(4, 4), xy0=(10, 20), plane_hdus={"image": 1}, mask_planes={}, wcs=None,
                        metadata={}, visit_info={}, zero_point_mag=None)
    exposure = Exposure(info, lambda name: img)
    out = pixel_readout(exposure, 11.5, 21.5)  # half-way: pixel (12, 22), array [2, 2]
    assert (out["x"], out["y"], out["value"]) == (12, 22, float(img[2, 2]))


def test_dataset_keys_are_hashable_and_read_like_the_old_tuples():
    a = DatasetKey.of("calexp", {"visit": 1, "detector": 2})
    b = DatasetKey.of("calexp", {"detector": 2, "visit": 1})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    dataset_type, data_id = a
    assert dataset_type == "calexp" and data_id == {"detector": 2, "visit": 1}
    assert a[1]["visit"] == 1 and a.get("detector") == 2 and a.get("band") is None
    a.data_id["visit"] = 99  # a copy: the key does not change
    assert a.get("visit") == 1
    assert DatasetKey.maybe("calexp", None) is None and DatasetKey.maybe(None, {"visit": 1}) is None


def test_band_order_is_wavelength_then_alphabetical():
    assert sorted_bands(["y", "N921", "g", "u", "r", "g"]) == ["u", "g", "r", "y", "N921"]
    assert band_key("i") < band_key("z") < band_key("N708")


def test_url_table_round_trips_each_codec():
    from explorer import urlstate as u

    for key, value in (("tract", 3828), ("patch", "3,3"), ("logy", True), ("alpha", 0.25), ("bins", 40),
                       ("require", ["detect_isPrimary", "x"]), ("exclude", []), ("zoom", (1.5, 20.0, -3.0, 4.0))):
        field = u.BY_KEY[key]
        assert u.decode(field, u.encode(field, value)) == (list(value) if isinstance(value, list) else value), key
    assert u.decode(u.BY_KEY["bins"], "100000") == 400  # clamped
    assert u.decode(u.BY_KEY["patch"], " 3, 3") == "3,3"
    for key, bad in (("tract", "x"), ("zoom", "1,2,3"), ("alpha", "lots")):
        with pytest.raises(ValueError):
            u.decode(u.BY_KEY[key], bad)
    assert u.normalise({"band": [b"r"], "tract": "3828"}) == {"band": "r", "tract": "3828"}
    assert len(set(u.QUERY_ORDER)) == len(u.QUERY_ORDER)


def test_limits_cache_is_bounded():
    from explorer.render.stretch import Limits, LimitsCache

    cache = LimitsCache(max_entries=3)
    for i in range(10):
        cache.get(i, lambda i=i: Limits(i, i + 1, i, i + 1, i + 1))
    assert len(cache) == 3
    assert cache.get(9, lambda: pytest.fail("recomputed")).z_low == 9


def test_every_registered_panel_is_a_panel_on_the_page(sample_gen3):
    from explorer.app import PANELS, Explorer
    from explorer.app.base import Panel

    page = Explorer(str(sample_gen3))
    for spec in PANELS:
        panel = getattr(page, spec.name)
        assert isinstance(panel, Panel) and panel.state is page.state and panel.title
    assert page.__panel__().get_root() is not None


def test_the_overview_names_a_gen3_patch_as_the_selectors_do(sample_gen3):
    """The registry numbers a Gen3 patch (24); the page's selectors, URL and sky map say "3,3": the
    exposure's overview shows both, so the two can be matched."""
    from explorer.app import Explorer

    page = Explorer(str(sample_gen3))
    page.state.patch = "3,3"
    exposure = page.state.exposure()
    assert exposure is not None and isinstance(exposure.data_id.get("patch"), int)
    overview = page.info.frame("Overview")
    shown = dict(zip(overview.iloc[:, 0], overview.iloc[:, 1]))["data ID"]
    assert f"patch={exposure.data_id['patch']} (3,3)" in shown, shown
