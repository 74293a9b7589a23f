"""The Lupton RGB kernel agrees with astropy's make_lupton_rgb; render_rgb composes a coadd patch."""
from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.visualization import make_lupton_rgb

from explorer.render.rgb import RGBError, lupton_rgb, render_rgb


def _bands(dtype=np.float64, shape=(300, 200), seed=3):
    rng = np.random.default_rng(seed)
    # sky noise plus a few bright "stars": exercises negative pixels, the asinh knee and saturation
    planes = []
    for k in range(3):
        p = rng.normal(0.0, 0.05, shape)
        for _ in range(20):
            y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
            p[max(0, y - 2):y + 3, max(0, x - 2):x + 3] += rng.uniform(0.1, 50.0) * (k + 1)
        planes.append(p.astype(dtype))
    return planes


@pytest.mark.parametrize("minimum, stretch, Q", [(0.0, 5.0, 8.0), (0.02, 0.5, 10.0), ([0.0, 0.01, -0.01], 2.0, 0.0),
                                                 (-0.1, 20.0, 1.0)])
def test_agrees_with_astropy_make_lupton_rgb(minimum, stretch, Q):
    r, g, b = _bands(np.float64)
    ours = lupton_rgb(r, g, b, minimum=minimum, stretch=stretch, Q=Q)
    ref = make_lupton_rgb(r, g, b, minimum=minimum, stretch=stretch, Q=Q)
    assert ours.dtype == np.uint8 and ours.shape == ref.shape == (300, 200, 3)
    np.testing.assert_array_equal(ours, ref)


def test_float32_planes_differ_by_at_most_one_level():
    # astropy computes the intensity of float32 planes in float32, the kernel in float64
    r, g, b = _bands(np.float32)
    diff = np.abs(lupton_rgb(r, g, b, stretch=1.0).astype(int) - make_lupton_rgb(r, g, b, stretch=1.0))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")
def test_nan_is_black_and_big_endian_is_read():
    r, g, b = _bands(np.float64, (20, 30))
    r[3, 4] = np.nan
    out = lupton_rgb(r.astype(">f8"), g, b, stretch=1.0)
    assert tuple(out[3, 4]) == (0, 0, 0)
    np.testing.assert_array_equal(out[5:], make_lupton_rgb(r, g, b, stretch=1.0)[5:])


def test_bad_parameters():
    a = np.zeros((4, 4))
    with pytest.raises(RGBError, match="one shape"):
        lupton_rgb(a, a, np.zeros((4, 5)))
    with pytest.raises(RGBError, match="stretch"):
        lupton_rgb(a, a, a, stretch=0)
    with pytest.raises(RGBError, match="Q"):
        lupton_rgb(a, a, a, Q=-1)
    with pytest.raises(RGBError, match="three"):
        lupton_rgb(a, a, a, minimum=[0, 1])


def _coadds(sample_gen3):
    from explorer.repo import open_repo

    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    patch = manifest["coadds"][0]
    repo = open_repo(sample_gen3)
    try:
        return [repo.get_exposure("deepCoadd_calexp", {"tract": patch["tract"], "patch": patch["patch"], "band": band})
                for band in ("i", "r", "g")], patch
    finally:
        repo.close()



def test_render_rgb_whole_patch_and_zoom(sample_gen3):
    exposures, patch = _coadds(sample_gen3)
    x0, y0, nx, ny = patch["bbox"]
    # the whole patch on a screen smaller than it: each cell the mean of 2 x 2 pixels
    frame = render_rgb(exposures, ("i", "r", "g"), width=nx // 2, height=ny // 2, stretch=1.0, Q=8.0)
    assert frame.rgb.shape == (ny // 2, nx // 2, 3)
    assert frame.x_range == (x0 - 0.5, x0 + nx - 0.5)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="empty slice"):
        # (datashader's mean leaves NaN pixels out: the NO_DATA corner's edge is a nanmean)
        means = [np.nanmean(e.image.reshape(ny // 2, 2, nx // 2, 2), axis=(1, 3)) for e in exposures]
    expected = lupton_rgb(*means, stretch=1.0, Q=8.0)
    diff = np.abs(frame.rgb.astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert frame.rgba.shape == (ny // 2, nx // 2, 4) and (frame.rgba[..., 3] == 255).all()
    # a zoom at full resolution shows the pixels themselves
    zoom = render_rgb(exposures, ("i", "r", "g"), x_range=(x0 + 9.5, x0 + 49.5), y_range=(y0 + 19.5, y0 + 39.5),
                      width=800, height=800, stretch=1.0)
    assert zoom.rgb.shape == (20, 40, 3)
    planes = [e.image[20:40, 10:50] for e in exposures]
    np.testing.assert_array_equal(zoom.rgb, lupton_rgb(*planes, stretch=1.0))


def test_render_rgb_refuses_bands_on_other_grids(sample_gen3):
    import glob

    from explorer.repo import access

    exposures, _ = _coadds(sample_gen3)
    calexp = access.open_exposure(sorted(glob.glob(str(sample_gen3 / "**/calexp_*.fits"), recursive=True))[0])
    with pytest.raises(RGBError, match="another pixel grid"):
        render_rgb([exposures[0], exposures[1], calexp], ("i", "r", "x"))
