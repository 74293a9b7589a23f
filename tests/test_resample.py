"""A visit resampled onto a coadd's grid through their WCSs (explorer.render.resample).

Synthetic exposures with known WCSs (the "visit" rotated, at another scale and xy0) carry one
star at a known sky position: resampled onto the "coadd" grid, the star must land on the coadd
pixel its WCS gives that sky position (within a pixel), at any zoom; then the same on the sample's
real coadd and calexp files.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits

from explorer.render.resample import grid_mapping, render_aligned, resample_onto, sample_plane
from explorer.repo.access import open_exposure

RA0, DEC0 = 56.65, -36.45


def _write(path, nx, ny, xy0, scale_arcsec, angle_deg, crpix, star=None, seed=0):
    """An afw-layout exposure with a TAN WCS; ``star``: (ra, dec) of a Gaussian drawn on it."""
    s = scale_arcsec / 3600.0
    c, si = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    header = {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": RA0, "CRVAL2": DEC0,
              "CRPIX1": crpix[0], "CRPIX2": crpix[1], "CD1_1": -s * c, "CD1_2": s * si,
              "CD2_1": s * si, "CD2_2": s * c, "RADESYS": "ICRS", "LTV1": -xy0[0], "LTV2": -xy0[1]}
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 1.0, (ny, nx)).astype(np.float32)
    hdus = [fits.PrimaryHDU()]
    hdu = fits.ImageHDU(image, header=fits.Header(header))
    hdu.header["EXTTYPE"] = hdu.header["EXTNAME"] = "IMAGE"
    hdus.append(hdu)
    fits.HDUList(hdus).writeto(path)
    exposure = open_exposure(path)
    if star is not None:
        from astropy.wcs import WCS

        x, y = WCS(fits.Header(header)).all_world2pix(star[0], star[1], 0)  # array coordinates
        yy, xx = np.mgrid[0:ny, 0:nx]
        image += (1000.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5 ** 2))).astype(np.float32)
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, header=hdus[1].header)]).writeto(path, overwrite=True)
        exposure = open_exposure(path)
    return exposure


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resample")
    star = (RA0 + 0.004 / math.cos(math.radians(DEC0)), DEC0 - 0.003)
    coadd = _write(tmp / "coadd.fits", 400, 380, (13799, 13799), 0.2, 0.0, (200.0, 190.0))
    visit = _write(tmp / "visit.fits", 300, 250, (2672, 2416), 0.25, 33.0, (150.0, 125.0), star=star, seed=1)
    return coadd, visit, star


def _peak(values):
    j, i = np.unravel_index(np.nanargmax(values), values.shape)
    return i, j


def test_a_star_lands_on_the_coadd_pixel_of_its_sky_position(pair):
    coadd, visit, (ra, dec) = pair
    cx, cy = (float(v) for v in coadd.info.sky_to_pixel(ra, dec))  # where the coadd puts the star
    # whole frame, one cell per coadd pixel: the star's cell is the coadd pixel
    values, xr, yr = resample_onto(visit, coadd.info, width=400, height=380)
    assert values.shape == (380, 400) and (xr[0], yr[0]) == (13799 - 0.5, 13799 - 0.5)
    i, j = _peak(values)
    assert abs(xr[0] + i + 0.5 - cx) <= 1.0 and abs(yr[0] + j + 0.5 - cy) <= 1.0
    # a zoom (4 cells per coadd pixel) and a zoomed-out screen (2 pixels per cell): same sky place
    for (x_range, y_range, size) in (((cx - 20.3, cx + 19.7), (cy - 15.1, cy + 24.9), 160),
                                     (None, None, 200)):
        values, xr, yr = resample_onto(visit, coadd.info, x_range, y_range, size, size)
        h, w = values.shape
        i, j = _peak(values)
        cell_x, cell_y = (xr[1] - xr[0]) / w, (yr[1] - yr[0]) / h
        sx, sy = xr[0] + (i + 0.5) * cell_x, yr[0] + (j + 0.5) * cell_y
        assert abs(sx - cx) <= max(1.0, cell_x) and abs(sy - cy) <= max(1.0, cell_y), (size, sx, sy, cx, cy)


def test_cells_off_the_visit_are_nan_and_on_it_finite(pair):
    coadd, visit, _ = pair
    values, xr, yr = resample_onto(visit, coadd.info, width=400, height=380)
    sx, sy = grid_mapping(coadd.info, visit.info, xr, yr, 400, 380, step=1)
    x0, y0 = visit.info.xy0
    ny, nx = visit.info.shape
    inside = (sx > x0 - 0.5) & (sx < x0 + nx - 0.5) & (sy > y0 - 0.5) & (sy < y0 + ny - 0.5)
    assert inside.any() and (~inside).any()  # the rotated visit covers part of the patch
    assert np.isfinite(values[inside]).all()
    assert np.isnan(values[~inside]).all()
    frame = render_aligned(visit, coadd.info, "zscale", "gray", 400, 380)
    assert frame.rgba.shape == (380, 400, 4) and frame.bounds == (xr[0], yr[0], xr[1], yr[1])


def test_the_coarse_lattice_matches_the_exact_mapping(pair):
    coadd, visit, _ = pair
    xr, yr = (13798.5, 14198.5), (13798.5, 14178.5)
    exact = grid_mapping(coadd.info, visit.info, xr, yr, 797, 611, step=1)
    coarse = grid_mapping(coadd.info, visit.info, xr, yr, 797, 611)
    err = max(np.nanmax(np.abs(a - b)) for a, b in zip(exact, coarse))
    assert err < 0.01, err


def test_cost_follows_the_screen(pair):
    """Only lattice nodes of the displayed window go through the WCSs (not every cell, never the file)."""
    coadd, visit, _ = pair
    calls = []

    class Counting:
        shape, xy0 = coadd.info.shape, coadd.info.xy0

        def pixel_to_sky(self, x, y):
            calls.append(np.size(x))
            return coadd.info.pixel_to_sky(x, y)

    values, _, _ = resample_onto(visit, Counting(), (13800.0, 13900.0), (13800.0, 13864.0), 800, 800)
    assert values.shape == (64, 100)  # never more cells than coadd pixels shown
    assert calls == [8 * 5]  # nodes x 0, 16, ..., 96, 99 by y 0, 16, 32, 48, 63
    calls.clear()
    values, _, _ = resample_onto(visit, Counting(), None, None, 300, 200)
    assert values.shape == (200, 300) and calls == [(19 + 1) * (13 + 1)]


def test_sample_plane_bilinear_and_binned_positions():
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)  # value = 4 y + x at pixel (x, y)
    sx = np.array([[0.0, 1.5, 3.0, 3.4, 3.6, -0.6]])
    sy = np.array([[0.0, 0.5, 2.0, 2.0, 0.0, 0.0]])
    out = sample_plane(arr, (0, 0), sx, sy)
    np.testing.assert_allclose(out[0, :4], [0.0, 3.5, 11.0, 11.0])
    assert np.isnan(out[0, 4]) and np.isnan(out[0, 5])  # beyond the last pixel's edge
    # a 2 x 2 binned copy: block (0, 0) is centred on parent pixel (0.5, 0.5), xy0 shifts it
    from explorer.repo.binning import bin_plane

    binned = bin_plane(arr, 2)
    out = sample_plane(binned, (10, 20), np.array([[10.5, 12.5]]), np.array([[20.5, 20.5]]), factor=2)
    np.testing.assert_allclose(out[0], binned[0, :2])


def test_the_sample_calexp_on_its_coadd(sample_gen3):
    """Real files: a bright star of a calexp is where the coadd's WCS puts its sky position."""
    from explorer.state import ExplorerState

    st = ExplorerState(repo=str(sample_gen3))
    idx = st.index
    coadd = st.repo.get_exposure(idx.coadd_type, idx.coadd_id(st.tract, st.patch, st.band))
    over = idx.overlapping(st.tract, st.patch)
    checked = 0
    for visit, dets in sorted(over.items()):
        for det in dets:
            try:
                calexp = st.repo.get_exposure(idx.calexp_type, {"visit": visit, "detector": det})
                image = calexp.image
            except Exception:  # noqa: BLE001 - the sample's deliberately missing file
                continue
            values, xr, yr = resample_onto(calexp, coadd.info, width=coadd.info.shape[1], height=coadd.info.shape[0])
            if not np.isfinite(values).any():
                continue
            # the brightest calexp pixel whose sky position falls on the coadd
            ny, nx = image.shape
            yy, xx = np.mgrid[0:ny, 0:nx]
            px, py = xx + calexp.info.xy0[0], yy + calexp.info.xy0[1]
            ra, dec = calexp.info.pixel_to_sky(px.ravel(), py.ravel())
            cx, cy = coadd.info.sky_to_pixel(ra, dec)
            fx, fy = xr, yr
            on = ((cx > fx[0] + 3) & (cx < fx[1] - 3) & (cy > fy[0] + 3) & (cy < fy[1] - 3)).reshape(ny, nx)
            on &= np.isfinite(image)
            if calexp.mask is not None:  # a star's peak: not a cosmic ray, saturated or bad pixel
                detected = 1 << calexp.info.mask_planes["DETECTED"] if "DETECTED" in calexp.info.mask_planes else 0
                on &= (calexp.mask & ~np.int64(detected)) == 0
            # an unsaturated star's peak: the maximum of its 5 x 5 neighbourhood, well below saturation
            padded = np.pad(np.nan_to_num(image, nan=-np.inf), 2, constant_values=-np.inf)
            local_max = np.lib.stride_tricks.sliding_window_view(padded, (5, 5)).max(axis=(2, 3))
            on &= (image == local_max) & (image < 20000.0)
            if not on.any():
                continue
            k = np.nanargmax(np.where(on, image, -np.inf))
            star_x, star_y = float(cx[k]), float(cy[k])
            # its cell on the coadd grid holds the resampled maximum of the neighbourhood
            i, j = int(star_x - fx[0]), int(star_y - fy[0])
            patch = values[j - 2:j + 3, i - 2:i + 3]
            dj, di = np.unravel_index(np.nanargmax(patch), patch.shape)
            assert abs(di - 2) <= 1 and abs(dj - 2) <= 1, (visit, det, di, dj)
            checked += 1
    assert checked >= 4
