"""Shared pytest fixtures. Keep each fixture small and documented; add new ones below the others."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = (REPO_ROOT / ".." / "shared" / "lsst-real").resolve()


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The real LSST-written files (``<repo>/../shared/lsst-real``); skips the test when absent."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"real LSST files not available at {REAL_DIR}")
    return REAL_DIR


@pytest.fixture
def fresh_cache(monkeypatch):
    """A private, empty shared cache for one test, so cache statistics count only that test's reads."""
    from explorer.repo import cache

    private = cache.ByteCache(512 * 1024**2)
    monkeypatch.setattr(cache, "_shared", private)
    return private


def _write_afw_exposure(path: Path, image: np.ndarray, mask: np.ndarray, variance: np.ndarray,
                        xy0: tuple[int, int] = (0, 0), mask_planes: Optional[dict[str, int]] = None,
                        primary_cards: Optional[dict] = None) -> Path:
    """Write an Exposure in afw's layout with astropy: empty primary (plus ``primary_cards``), then
    IMAGE/MASK/VARIANCE named by EXTTYPE only (as every afw before 2021 wrote them), ``MP_*`` cards
    on the mask and ``LTV1/2 = -xy0`` on each plane."""
    from astropy.io import fits

    mask_planes = mask_planes or {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5}
    primary = fits.PrimaryHDU()
    for key, value in (primary_cards or {}).items():
        primary.header[key if len(key) <= 8 else f"HIERARCH {key}"] = value
    hdus = [primary]
    for name, data in (("IMAGE", image), ("MASK", mask), ("VARIANCE", variance)):
        hdu = fits.ImageHDU(data)
        hdu.header["LTV1"] = -xy0[0]
        hdu.header["LTV2"] = -xy0[1]
        hdu.header["INHERIT"] = True
        hdu.header["EXTTYPE"] = name
        if name == "MASK":
            for plane, bit in mask_planes.items():
                hdu.header[f"HIERARCH MP_{plane}"] = bit
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


@pytest.fixture
def write_afw_exposure() -> Callable[..., Path]:
    """The function that writes an afw-layout exposure FITS file (see ``_write_afw_exposure``)."""
    return _write_afw_exposure


# ----- the DC2-like sample repository (owned by the sample-generator helper: explorer/sample) -----
@pytest.fixture(scope="session")
def sample_gen3(tmp_path_factory) -> Path:
    """A small Gen3 sample repository (seed 1), built once per test session and shared: read only.

    Its truth (visits, calexps, the missing calexp, coadd patches, row counts) is in
    ``<root>/sample_manifest.json``.
    """
    from explorer.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "dc2-gen3", layout="gen3", size="small", seed=1)
