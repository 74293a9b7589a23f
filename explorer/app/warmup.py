"""Compile the numba kernels and touch datashader once per process, so nobody's first click waits."""
from __future__ import annotations

import numpy as np


def warm_up() -> None:
    """Compile the numba kernels and touch datashader once, so the first real view is fast.

    Runs parallel (OpenMP) code: a process that will fork must call it after the fork, not
    before (GNU OpenMP kills a forked child that runs parallel code after its parent did)."""
    from ..compute.catalog import histogram
    from ..render.raster import render_plane
    from ..render.stretch import compute_limits
    from ..repo.binning import bin_plane

    img = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    for mask in (np.zeros((64, 64), np.int32), np.zeros((64, 64), np.uint16)):
        mask[3, 3] = 3
        lim = compute_limits(img)
        for rng in (None, (10.0, 20.0)):  # downsampling and upsampling paths
            render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"BAD": 0, "SAT": 1},
                         ["BAD"], 0.5, rng, rng, 32, 32)
        render_plane({"image": img, "mask": mask}, (0, 0), "mask", lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                     None, None, 32, 32)

        def binned(name, factor, mask=mask):  # the pyramid path (block means and ORs) of wide views
            return bin_plane(mask if name == "mask" else img, factor, is_mask=(name == "mask"))

        for plane in ("image", "mask"):
            render_plane({"image": img, "mask": mask}, (0, 0), plane, lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                         None, None, 8, 8, binned=binned)
    for arr in (img.ravel(), img.ravel().astype(np.float64), np.arange(10, dtype=np.int64),
                np.arange(10, dtype=np.int32)):
        for parallel in (False, True):  # short columns run serial kernels, long ones parallel ones
            histogram(arr, bins=10, parallel=parallel)
            histogram(arr, bins=10, log=True, parallel=parallel)
