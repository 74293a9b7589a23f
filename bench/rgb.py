"""Benchmark: the RGB composite of three 4200 x 4200 coadd planes at screen size (prints figures).

Writes three synthetic single-plane exposures (afw layout: IMAGE/MASK/VARIANCE HDUs) to a temporary
directory, opens them with the explorer's reader and times
:func:`explorer.render.rgb.render_rgb` for an 800 x 800 view of the whole patch and of a zoom,
cold (first call: reads and bins the planes) and warm (median of repeats, what a pan or a slider
costs). Usage: ``python bench/rgb.py [N]`` (N: side, default 4200).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np


def write_plane(path: str, seed: int, n: int) -> None:
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    img = rng.normal(0.0, 1.0, size=(n, n)).astype(np.float32)
    yy, xx = rng.integers(0, n, 400), rng.integers(0, n, 400)
    img[yy, xx] += rng.uniform(50, 500, 400).astype(np.float32)
    hdr = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 56.0, "CRVAL2": -36.0,
                       "CRPIX1": n / 2, "CRPIX2": n / 2, "CD1_1": -5.5e-5, "CD1_2": 0.0, "CD2_1": 0.0,
                       "CD2_2": 5.5e-5, "LTV1": -1000, "LTV2": -2000})
    hdus = [fits.PrimaryHDU()]
    for name, data in (("IMAGE", img), ("MASK", np.zeros((n, n), np.int32)),
                       ("VARIANCE", np.ones((n, n), np.float32))):
        h = hdr.copy()
        h["EXTTYPE"] = name
        h["EXTNAME"] = name
        hdus.append(fits.ImageHDU(data, header=h))
    fits.HDUList(hdus).writeto(path)


def main() -> None:
    from explorer.render.rgb import render_rgb
    from explorer.repo import access

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4200
    with tempfile.TemporaryDirectory(prefix="bench-rgb-") as tmp:
        paths = []
        for k in range(3):
            paths.append(os.path.join(tmp, f"band{k}.fits"))
            write_plane(paths[-1], k, n)
        exposures = [access.open_exposure(p) for p in paths]
        x0, y0 = exposures[0].info.xy0
        views = {"whole patch": (None, None),
                 "zoom 600 px": ((x0 + 1000.5, x0 + 1600.5), (y0 + 1000.5, y0 + 1600.5))}
        for what, (xr, yr) in views.items():
            t = time.perf_counter()
            render_rgb(exposures, ("i", "r", "g"), xr, yr, 800, 800)
            cold = (time.perf_counter() - t) * 1e3
            warm = []
            for q in (4.0, 8.0, 12.0, 8.0, 6.0):
                t = time.perf_counter()
                frame = render_rgb(exposures, ("i", "r", "g"), xr, yr, 800, 800, Q=q)
                warm.append((time.perf_counter() - t) * 1e3)
            print(f"rgb {n} x {n} x 3, {what} -> {frame.rgb.shape[1]} x {frame.rgb.shape[0]}: "
                  f"cold {cold:.0f} ms, warm median {statistics.median(warm):.0f} ms (min {min(warm):.0f})")


if __name__ == "__main__":
    main()
