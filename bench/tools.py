"""Benchmark of the image tools (issue 16): cutout of a 4k x 4k calexp, RGB of three 4200^2 planes,
display limits. Prints figures; goals: each tool <= 300 ms warm on a 4k x 4k calexp, the RGB
composite of three 4200 x 4200 coadd planes <= 400 ms warm at screen resolution.

    python bench/tools.py [--workdir DIR] [--repeat N] [--screen 1000]

Synthetic afw-layout exposures are written to DIR (default: a temporary directory) with astropy:
a 4072 x 4000 calexp (image, mask, variance, TAN WCS, xy0) and three 4200 x 4200 coadd images.
"Warm" means the planes are in the explorer's shared cache (as after the first view of them).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def write_exposure(path: Path, nx: int, ny: int, xy0=(0, 0), seed: int = 0, planes=("IMAGE", "MASK", "VARIANCE")):
    from astropy.io import fits

    rng = np.random.default_rng(seed)
    hdus = [fits.PrimaryHDU()]
    hdus[0].header["EXPTIME"] = 30.0
    image = rng.normal(0.0, 10.0, (ny, nx)).astype(np.float32)
    for _ in range(300):
        y, x = rng.integers(5, ny - 5), rng.integers(5, nx - 5)
        image[y - 2:y + 3, x - 2:x + 3] += rng.uniform(50, 5e4)
    data = {"IMAGE": image, "MASK": (rng.random((ny, nx)) < 0.01).astype(np.int32) * 32,
            "VARIANCE": np.full((ny, nx), 100.0, np.float32)}
    for name in planes:
        hdu = fits.ImageHDU(data[name])
        h = hdu.header
        h["EXTTYPE"], h["EXTNAME"], h["INHERIT"] = name, name, True
        h["LTV1"], h["LTV2"] = -xy0[0], -xy0[1]
        h.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 56.65, "CRVAL2": -36.45,
                  "CRPIX1": nx / 2.0, "CRPIX2": ny / 2.0, "CD1_1": -0.2 / 3600, "CD1_2": 0.0, "CD2_1": 0.0,
                  "CD2_2": 0.2 / 3600, "RADESYS": "ICRS"})
        if name == "MASK":
            for bit, plane in enumerate(("BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED")):
                h[f"MP_{plane}"] = bit
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--screen", type=int, default=1000, help="screen pixels of the view (square)")
    args = ap.parse_args(argv)
    from explorer.render.limits import percentile_limits, zscale_limits
    from explorer.render.rgb import lupton_rgb, render_rgb
    from explorer.repo import access
    from explorer.repo.cutout import sky_box, write_cutout

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-tools-"))
    work.mkdir(parents=True, exist_ok=True)
    calexp = work / "calexp.fits"
    if not calexp.exists():
        write_exposure(calexp, 4072, 4000, xy0=(0, 0))
    exp = access.open_exposure(calexp)
    for p in exp.info.planes:
        exp.plane(p)  # warm
    ra, dec = (float(v) for v in exp.info.pixel_to_sky(2000.3, 1800.6))
    out = work / "cut.fits"
    for size in (100, 500, 2000):
        ms = median_ms(lambda size=size: write_cutout(exp, sky_box(exp, ra, dec, size), out), args.repeat)
        print(f"cutout {size} x {size} of a 4072 x 4000 calexp (warm, 3 planes written): {ms:7.1f} ms")
    print(f"zscale limits of the 4k x 4k image (sampled):     "
          f"{median_ms(lambda: zscale_limits(exp.image), args.repeat):7.1f} ms")
    print(f"99.5% limits of the 4k x 4k image (sampled):      "
          f"{median_ms(lambda: percentile_limits(exp.image, 99.5), args.repeat):7.1f} ms")

    coadds = []
    for k, band in enumerate("irg"):
        path = work / f"coadd_{band}.fits"
        if not path.exists():
            write_exposure(path, 4200, 4200, xy0=(13799, 13799), seed=k + 1, planes=("IMAGE",))
        coadds.append(access.open_exposure(path))
    s = args.screen
    t = time.perf_counter()
    render_rgb(coadds, ("i", "r", "g"), width=s, height=s, stretch=50.0, Q=8.0)
    print(f"RGB 3 x 4200^2, whole patch at {s}^2, cold (read + bin + compose): "
          f"{(time.perf_counter() - t) * 1e3:7.1f} ms")
    whole = median_ms(lambda: render_rgb(coadds, ("i", "r", "g"), width=s, height=s, stretch=50.0), args.repeat)
    print(f"RGB 3 x 4200^2, whole patch at {s}^2, warm:                        {whole:7.1f} ms")
    x0, y0 = 13799 + 1000, 13799 + 1500
    zoom = median_ms(lambda: render_rgb(coadds, ("i", "r", "g"), x_range=(x0, x0 + 1500), y_range=(y0, y0 + 1500),
                                        width=s, height=s, stretch=50.0), args.repeat)
    print(f"RGB 3 x 4200^2, a 1500^2 zoom at {s}^2, warm:                      {zoom:7.1f} ms")
    planes = [np.asarray(c.binned("image", 4)) for c in coadds]
    kernel = median_ms(lambda: lupton_rgb(*planes, stretch=50.0), args.repeat)
    print(f"Lupton kernel alone on 3 x {planes[0].shape[1]}^2:                    {kernel:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
