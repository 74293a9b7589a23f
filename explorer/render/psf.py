"""The PSF image at a point of an exposure, from the model the file carries.

* cell coadds (lsst.images ``CellCoadd``): the PSF of the cell holding the point;
* other lsst.images files: the PSF component evaluated at the point (``compute_kernel_image``;
  the PSF object is kept for a few recent files, so moving the pointer costs one evaluation);
* afw files with a ``GaussianPsf``: the Gaussian of the archived sigma and stamp size (the same
  everywhere: the model does not vary);
* any other model the file can give only at its centre (``info.psf.image``): that image, said so.

:func:`psf_at` returns a :class:`PsfStamp` or raises :class:`PsfUnavailable` naming why.
"""
from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..errors import ExplorerError
from ..repo.lsst_images import moment_sigma
from ..repo.model import ExposureInfo

__all__ = ["PsfStamp", "PsfUnavailable", "gaussian_kernel", "peak_offset", "psf_at"]

log = logging.getLogger(__name__)
MAX_STAMP = 257
_MODELS: OrderedDict[Any, Any] = OrderedDict()
_MODELS_LOCK = threading.Lock()
MODEL_ENTRIES = 8


class PsfUnavailable(ExplorerError):
    """The exposure carries no PSF model the explorer can evaluate."""


@dataclass
class PsfStamp:
    """A PSF image: ``array`` (2-D, unit sum), evaluated at parent pixel (``x``, ``y``); ``kind``
    the model's class; ``where`` says how it relates to the point asked for."""

    array: np.ndarray
    x: Optional[float]
    y: Optional[float]
    kind: str
    where: str
    fwhm_pixels: Optional[float] = None


def gaussian_kernel(sigma: float, nx: int, ny: int) -> np.ndarray:
    """afw's GaussianPsf kernel image: centred on pixel (nx // 2, ny // 2), unit sum."""
    y, x = np.mgrid[0:ny, 0:nx]
    k = np.exp(-((x - nx // 2) ** 2 + (y - ny // 2) ** 2) / (2.0 * sigma * sigma))
    return k / k.sum()


def peak_offset(array: np.ndarray) -> tuple[int, int]:
    """(dx, dy) of the brightest pixel from the stamp's centre pixel (0, 0 for a centred PSF)."""
    ny, nx = array.shape
    j, i = np.unravel_index(int(np.nanargmax(array)), array.shape)
    return int(i - nx // 2), int(j - ny // 2)


def _fwhm(array: np.ndarray) -> Optional[float]:
    """Gaussian-equivalent FWHM (pixels) from the second moments."""
    sigma = moment_sigma(array)
    return 2.0 * math.sqrt(2.0 * math.log(2.0)) * sigma if sigma is not None else None


def _stamp(array, x, y, kind, where) -> PsfStamp:
    arr = np.asarray(array, dtype=np.float64)
    total = arr.sum()
    if total and np.isfinite(total):
        arr = arr / total
    return PsfStamp(arr, x, y, kind, where, _fwhm(arr))


def _lsst_images_psf(path: str):
    from ..repo.cache import file_key

    try:
        key = file_key(path, "psf-model")
    except OSError:
        key = (path, "psf-model")
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    from lsst.images import serialization as ser

    with ser.open_archive(path, partial=True) as reader:
        psf = reader.get_component("psf")
    with _MODELS_LOCK:
        _MODELS[key] = psf
        while len(_MODELS) > MODEL_ENTRIES:
            _MODELS.popitem(last=False)
    return psf


def psf_at(info: ExposureInfo, x: Optional[float] = None, y: Optional[float] = None) -> PsfStamp:
    """The PSF image at parent pixel (x, y) (None: the image centre); see the module docstring."""
    ny, nx = info.shape
    x0, y0 = info.xy0
    if x is None or y is None:
        x, y = x0 + (nx - 1) / 2.0, y0 + (ny - 1) / 2.0
    x = min(max(float(x), x0), x0 + nx - 1)
    y = min(max(float(y), y0), y0 + ny - 1)
    psf = info.psf
    cells = info.cells
    if cells is not None and cells.psfs:
        i, j = cells.cell_of(x, y)
        cell = cells.psf(i, j)
        if cell is None:
            raise PsfUnavailable(f"cell ({i}, {j}) of this coadd has no PSF (no inputs)")
        return _stamp(cell.array, cell.x, cell.y, psf.kind if psf else "cell PSF", f"cell ({i}, {j})")
    if psf is None:
        raise PsfUnavailable("this exposure carries no PSF model")
    if info.format == "lsst.images":
        try:
            model = _lsst_images_psf(info.path)
            kernel = model.compute_kernel_image(x=x, y=y)
            return _stamp(np.array(kernel.array), x, y, type(model).__name__, f"x {x:.0f} y {y:.0f}")
        except Exception:  # noqa: BLE001 - fall back to what the reader computed at the centre
            log.debug("evaluating the PSF of %s at %s, %s", info.path, x, y, exc_info=True)
    if psf.kind == "GaussianPsf" and psf.sigma_pixels:
        kx = int(psf.params.get("dimensions_x") or psf.params.get("width") or 0)
        ky = int(psf.params.get("dimensions_y") or psf.params.get("height") or 0)
        if not (0 < kx <= MAX_STAMP and 0 < ky <= MAX_STAMP):
            kx = ky = 2 * int(math.ceil(4 * psf.sigma_pixels)) + 1
        return _stamp(gaussian_kernel(float(psf.sigma_pixels), kx, ky), x, y, "GaussianPsf",
                      f"x {x:.0f} y {y:.0f} (the same everywhere)")
    if psf.image is not None:
        img = psf.image
        return _stamp(img.array, img.x, img.y, psf.kind, "the image centre only (the model cannot be "
                      "evaluated elsewhere without the LSST stack)")
    raise PsfUnavailable(f"the {psf.kind} model this file carries cannot be evaluated without the LSST stack")
