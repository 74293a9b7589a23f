"""Band order: the one rule every list of bands follows (wavelength order ugrizy, others after).

Imports nothing of ours, so every layer (repository backends, the index, the state, the views)
can sort bands the same way.
"""
from __future__ import annotations

from typing import Iterable

BAND_ORDER = "ugrizy"


def band_key(band: str) -> tuple[int, str]:
    """Sort key: u, g, r, i, z, y first in wavelength order, then any other band alphabetically."""
    band = str(band)
    return (BAND_ORDER.index(band) if band in BAND_ORDER else len(BAND_ORDER), band)


def sorted_bands(bands: Iterable[str]) -> list[str]:
    """The bands, deduplicated, in :func:`band_key` order."""
    return sorted(set(bands), key=band_key)
