"""The true sky behind every image and catalog: stars and galaxies, deterministic by sky cell.

The sky is cut into cells about 0.1 degree on a side (Dec bands of 0.1 deg, each split into equal
RA steps). The objects of a cell depend only on ``(seed, tier, cell)``, so any calexp, coadd or
catalog that looks at a piece of sky sees the same objects there, in any order of generation and
without holding the whole sky in memory.

Two tiers of objects:

* tier A ("catalog tier", r < 25): stars 12.5 < r < 25 and galaxies 18 < r < 25. These are what a
  30 s visit can detect, so visit catalogs (src, sourceTable) are built from tier A alone.
* tier B ("faint tier", 25 <= r < 27.5): faint galaxies (and a few stars) that add realistic
  texture to the pixels and are detected only in the deeper coadds.

Object ids encode the cell: ``id = cell_key * 2**16 + k`` (``cell_key = j * 4096 + i``), so they are
unique and stable.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np

from .camera import BANDS

CELL_DEG = 0.1
TIER_A_RANGE = (12.5, 25.0)
TIER_B_RANGE = (25.0, 27.5)
GALAXY_BRIGHT = 18.0

# Columns of a truth table (structured array).
TRUTH_DTYPE = np.dtype([
    ("id", "i8"), ("ra", "f8"), ("dec", "f8"), ("is_star", "?"), ("tier", "i1"),
    ("mag_u", "f4"), ("mag_g", "f4"), ("mag_r", "f4"), ("mag_i", "f4"), ("mag_z", "f4"), ("mag_y", "f4"),
    ("profile", "i1"),  # 0 point source, 1 exponential disk, 2 de Vaucouleurs bulge
    ("r_half", "f4"),  # half-light radius, arcsec (0 for stars)
    ("q", "f4"),  # axis ratio b/a
    ("pa", "f4"),  # position angle, degrees east of north
])


@dataclass(frozen=True)
class TruthDensity:
    """Number of objects per square degree in each population."""

    stars_a: float = 3000.0  # stars 12.5 < r < 25
    galaxies_a: float = 100_000.0  # galaxies 18 < r < 25
    faint_b: float = 200_000.0  # 25 < r < 27.5 (5 % stars)


def _n_ra(j: int) -> int:
    dec_c = -90.0 + (j + 0.5) * CELL_DEG
    return max(1, int(np.floor(360.0 * np.cos(np.radians(dec_c)) / CELL_DEG)))


def cell_bounds(i: int, j: int) -> tuple[float, float, float, float]:
    """(ra0, ra1, dec0, dec1) of a cell."""
    n = _n_ra(j)
    step = 360.0 / n
    return i * step, (i + 1) * step, -90.0 + j * CELL_DEG, -90.0 + (j + 1) * CELL_DEG


def cells_in_box(ra_min: float, ra_max: float, dec_min: float, dec_max: float) -> list[tuple[int, int]]:
    """Cells overlapping an RA/Dec box (RA range must not wrap: ra_min <= ra_max, in [0, 360))."""
    j0 = int(np.floor((dec_min + 90.0) / CELL_DEG))
    j1 = int(np.floor((dec_max + 90.0) / CELL_DEG))
    out = []
    for j in range(max(j0, 0), min(j1, int(180 / CELL_DEG) - 1) + 1):
        n = _n_ra(j)
        step = 360.0 / n
        i0 = int(np.floor(ra_min / step))
        i1 = int(np.floor(ra_max / step))
        out.extend((i % n, j) for i in range(i0, i1 + 1))
    return out


def _powerlaw_mags(rng: np.random.Generator, n: int, lo: float, hi: float, slope: float) -> np.ndarray:
    """Magnitudes with dN/dm proportional to 10**(slope m) on [lo, hi)."""
    a, b = 10.0 ** (slope * lo), 10.0 ** (slope * hi)
    return np.log10(a + rng.random(n) * (b - a)) / slope


def _colors(rng: np.random.Generator, n: int, is_star: np.ndarray) -> np.ndarray:
    """(n, 6) offsets of u g r i z y from r (so column 2 is 0)."""
    out = np.zeros((n, 6))
    # Galaxies: broad colour distributions.
    gr = rng.normal(0.6, 0.3, n)
    ug = rng.normal(0.9, 0.4, n)
    ri = rng.normal(0.35, 0.2, n)
    iz = rng.normal(0.2, 0.15, n)
    zy = rng.normal(0.1, 0.1, n)
    # Stars: one temperature-like parameter drives every colour (a stellar locus).
    t = rng.random(n)
    gr = np.where(is_star, 0.25 + 1.2 * t + rng.normal(0, 0.03, n), gr)
    ug = np.where(is_star, 0.9 + 1.6 * t + rng.normal(0, 0.05, n), ug)
    ri = np.where(is_star, 0.05 + 1.3 * t ** 2 + rng.normal(0, 0.03, n), ri)
    iz = np.where(is_star, 0.02 + 0.6 * t ** 2 + rng.normal(0, 0.03, n), iz)
    zy = np.where(is_star, 0.01 + 0.3 * t ** 2 + rng.normal(0, 0.03, n), zy)
    out[:, 1] = gr  # g = r + (g - r)
    out[:, 0] = gr + ug
    out[:, 3] = -ri
    out[:, 4] = -ri - iz
    out[:, 5] = -ri - iz - zy
    return out


def _cell_area_deg2(i: int, j: int) -> float:
    ra0, ra1, d0, d1 = cell_bounds(i, j)
    return np.radians(ra1 - ra0) * (np.sin(np.radians(d1)) - np.sin(np.radians(d0))) * (180 / np.pi) ** 2


def generate_cell(seed: int, tier: int, i: int, j: int, density: TruthDensity) -> np.ndarray:
    """All tier-``tier`` objects of cell (i, j): a TRUTH_DTYPE array, sorted by id."""
    rng = np.random.default_rng([int(seed), 7919, int(tier), int(i), int(j)])
    area = _cell_area_deg2(i, j)
    if tier == 0:
        n_star = rng.poisson(density.stars_a * area)
        n_gal = rng.poisson(density.galaxies_a * area)
    else:
        n_all = rng.poisson(density.faint_b * area)
        n_star = int(rng.binomial(n_all, 0.05))
        n_gal = n_all - n_star
    n = int(n_star + n_gal)
    out = np.zeros(n, dtype=TRUTH_DTYPE)
    if n == 0:
        return out
    ra0, ra1, d0, d1 = cell_bounds(i, j)
    out["ra"] = ra0 + rng.random(n) * (ra1 - ra0)
    s0, s1 = np.sin(np.radians(d0)), np.sin(np.radians(d1))
    out["dec"] = np.degrees(np.arcsin(s0 + rng.random(n) * (s1 - s0)))
    is_star = np.zeros(n, dtype=bool)
    is_star[:n_star] = True
    lo, hi = TIER_A_RANGE if tier == 0 else TIER_B_RANGE
    mag_r = np.empty(n)
    mag_r[:n_star] = _powerlaw_mags(rng, n_star, lo, hi, 0.2)
    mag_r[n_star:] = _powerlaw_mags(rng, n_gal, max(lo, GALAXY_BRIGHT), hi, 0.33)
    colors = _colors(rng, n, is_star)
    for k, band in enumerate(BANDS):
        out[f"mag_{band}"] = mag_r + colors[:, k]
    out["is_star"] = is_star
    out["tier"] = tier
    bulge = rng.random(n) < 0.3
    out["profile"] = np.where(is_star, 0, np.where(bulge, 2, 1))
    r_half = 0.9 * 10.0 ** (-0.12 * (mag_r - 21.0)) * np.exp(rng.normal(0, 0.35, n))
    r_half = np.where(bulge, 0.6 * r_half, r_half)
    out["r_half"] = np.where(is_star, 0.0, np.clip(r_half, 0.08, 6.0))
    out["q"] = np.where(is_star, 1.0, np.clip(rng.beta(2.5, 1.6, n), 0.15, 1.0))
    out["pa"] = rng.random(n) * 180.0
    cell_key = np.int64(j) * 4096 + np.int64(i)
    out["id"] = cell_key * 65536 + np.arange(n, dtype=np.int64) + (1 << 15 if tier else 0)
    return out


class TruthSky:
    """The true objects of one sample: ask for a region, get every object there (both tiers)."""

    def __init__(self, seed: int, density: TruthDensity, planted: Optional[np.ndarray] = None):
        self.seed = int(seed)
        self.density = density
        self.planted = planted if planted is not None else np.zeros(0, dtype=TRUTH_DTYPE)
        self._cell = lru_cache(maxsize=20000)(self._make_cell)

    def _make_cell(self, tier: int, i: int, j: int) -> np.ndarray:
        return generate_cell(self.seed, tier, i, j, self.density)

    def in_box(self, ra_min: float, ra_max: float, dec_min: float, dec_max: float,
               tiers: tuple[int, ...] = (0, 1)) -> np.ndarray:
        """Objects with ra_min <= ra < ra_max, dec_min <= dec < dec_max (deg; no RA wrap)."""
        parts = []
        for (i, j) in cells_in_box(ra_min, ra_max, dec_min, dec_max):
            for tier in tiers:
                parts.append(self._cell(tier, i, j))
        if 0 in tiers and len(self.planted):
            parts.append(self.planted)
        if not parts:
            return np.zeros(0, dtype=TRUTH_DTYPE)
        objs = np.concatenate(parts)
        keep = (objs["ra"] >= ra_min) & (objs["ra"] < ra_max) & (objs["dec"] >= dec_min) & (objs["dec"] < dec_max)
        return objs[keep]

    def around(self, ra: np.ndarray, dec: np.ndarray, margin_deg: float = 0.01,
               tiers: tuple[int, ...] = (0, 1)) -> np.ndarray:
        """Objects inside the RA/Dec bounding box of some points, grown by ``margin_deg``."""
        ra = np.asarray(ra, float)
        dec = np.asarray(dec, float)
        dmin, dmax = float(dec.min()) - margin_deg, float(dec.max()) + margin_deg
        cosd = max(np.cos(np.radians(max(abs(dmin), abs(dmax)))), 1e-3)
        return self.in_box(float(ra.min()) - margin_deg / cosd, float(ra.max()) + margin_deg / cosd,
                           dmin, dmax, tiers)


def planted_stars(seed: int, ra: float, dec: float, mags_r: list[float]) -> np.ndarray:
    """Bright stars placed on purpose (the first exactly at ra, dec; others within 40 arcsec)."""
    rng = np.random.default_rng([int(seed), 31337])
    n = len(mags_r)
    out = np.zeros(n, dtype=TRUTH_DTYPE)
    off = rng.uniform(-40, 40, (n, 2)) / 3600.0
    off[0] = 0.0
    out["ra"] = ra + off[:, 0] / np.cos(np.radians(dec))
    out["dec"] = dec + off[:, 1]
    out["is_star"] = True
    out["profile"] = 0
    out["q"] = 1.0
    colors = _colors(rng, n, np.ones(n, dtype=bool))
    for k, band in enumerate(BANDS):
        out[f"mag_{band}"] = np.asarray(mags_r) + colors[:, k]
    out["id"] = (np.int64(1) << 46) + np.arange(n, dtype=np.int64)
    return out
