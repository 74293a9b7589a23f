"""The sample's sizes: how many visits, calexps, coadds and objects "small" and "large" hold.

"small" (the default, about 70 MB written) is what the tests and a first look use: cut-out
calexps and coadds in three bands; "large" has full detectors and patches, coadds in six bands.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .camera import BANDS
from .truth import TruthDensity


@dataclass(frozen=True)
class SizeConfig:
    """How big a sample is. ``calexp_box``/``coadd_box`` None means full detectors / full patches."""

    name: str
    visits_per_band: int
    calexp_bands: tuple[str, ...]
    calexp_visits_per_band: int
    detectors_per_calexp_visit: int
    calexp_box: Optional[tuple[int, int]]  # (width, height) cut-out, or None for 4072 x 4000
    coadd_box: Optional[tuple[int, int]]  # (width, height) cut-out, or None for the 4200 x 4200 outer patch
    coadd_bands: tuple[str, ...]
    coadd_patches: tuple[tuple[int, int, int], ...]  # (tract, x, y); empty: pick near the focus per tract
    density: TruthDensity
    source_table_all_detectors: bool  # sourceTable rows from all 189 detectors (else calexp detectors only)
    coadd_depth: int  # visits per band stacked in the coadd (sets coadd noise)
    dither_deg: float


SIZES = {
    "small": SizeConfig(
        name="small", visits_per_band=3, calexp_bands=("g", "r", "i"), calexp_visits_per_band=2,
        detectors_per_calexp_visit=2, calexp_box=(512, 512), coadd_box=(400, 400),
        coadd_bands=("g", "r", "i"), coadd_patches=(),
        density=TruthDensity(stars_a=3000.0, galaxies_a=100_000.0, faint_b=200_000.0),
        source_table_all_detectors=False, coadd_depth=10, dither_deg=1.0),
    "large": SizeConfig(
        name="large", visits_per_band=50, calexp_bands=BANDS, calexp_visits_per_band=2,
        detectors_per_calexp_visit=1, calexp_box=None, coadd_box=None, coadd_bands=BANDS,
        coadd_patches=((3828, 3, 3), (3828, 4, 3)),
        density=TruthDensity(stars_a=3000.0, galaxies_a=8000.0, faint_b=100_000.0),
        source_table_all_detectors=True, coadd_depth=20, dither_deg=1.5),
}
