"""The index's spatial questions through the real Butler server: the visits and detectors
overlapping a patch or tract (``htm7 IN (...) AND ... OVERLAPS(...)``, see
``Gen3Repository._overlaps``) answer as they do on the directory."""
from __future__ import annotations

from pathlib import Path

import pytest
from remote_helpers import remote_sample

TOKEN = "test-token-overlaps-0123456789"


@pytest.fixture(scope="module")
def remote(sample_gen3, tmp_path_factory):
    with remote_sample(Path(sample_gen3), tmp_path_factory.mktemp("remote-overlaps")) as rs:
        yield rs


def test_overlaps_through_the_server_match_the_directory(remote, sample_gen3, monkeypatch):
    from explorer.repo import open_repo

    monkeypatch.setenv("BUTLER_RUBIN_ACCESS_TOKEN", TOKEN)
    far, near = open_repo(remote.url, token=TOKEN), open_repo(str(sample_gen3))
    try:
        assert getattr(far, "remote", False)
        from explorer.sky.regions import to_sphgeom_polygon

        region = to_sphgeom_polygon(near.patch_regions_of(3828)["3,3"])
        assert "IN (overlap_pixels)" in far._overlaps("visit_detector_region", region)[0]  # the pixels named
        tract = 3828
        found = 0
        for patch in ("3,3", "4,3", "0,0", None):
            want = near.overlapping_detectors("calexp", tract, patch)
            assert far.overlapping_detectors("calexp", tract, patch) == want, patch
            found += len(want)
        assert found > 0
        assert far.detector_regions_in("calexp", tract).keys() == near.detector_regions_in("calexp", tract).keys()
    finally:
        far.close()
        near.close()
