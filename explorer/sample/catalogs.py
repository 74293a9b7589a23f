"""Catalog tables measured from the true objects: what the pipeline would have found and reported.

:func:`measure` turns true objects seen in one image (pixel positions, fluxes, sizes) into noisy
measurements (centroids, PSF/aperture/Kron fluxes and errors, extendedness, pixel flags read from
the image's mask) and keeps those detected at S/N >= 5. Blends (detections closer than about two
PSF widths) get a parent row, as the deblender writes them.

The results are plain column dictionaries (:class:`Table`); :mod:`explorer.sample.catalog_layouts`
lays them out as afw SourceCatalog schemas (``afwfits.write_source_catalog`` writes those) and as
the parquet tables of the Gen3 era (sourceTable).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy.spatial import cKDTree

NJY_AB_ZERO = 3631.0e9  # nJy of an AB magnitude-0 source

# ----- flags ------------------------------------------------------------------------------------

PIXEL_FLAGS = (  # name suffix, mask plane, centre-only?
    ("edge", "EDGE", False), ("interpolated", "INTRP", False), ("saturated", "SAT", False),
    ("cr", "CR", False), ("bad", "BAD", False), ("suspect", "SUSPECT", False),
    ("interpolatedCenter", "INTRP", True), ("saturatedCenter", "SAT", True),
    ("crCenter", "CR", True), ("suspectCenter", "SUSPECT", True),
)

SRC_FLAGS = (
    ("calib_detected", "Source was detected as an icSource"),
    ("calib_psf_candidate", "Flag set if the source was a candidate for PSF determination"),
    ("calib_psf_used", "Flag set if the source was actually used for PSF determination"),
    ("calib_psf_reserved", "set if source was reserved from PSF determination"),
    ("deblend_deblendedAsPsf", "Deblender thought this source looked like a PSF"),
    ("deblend_tooManyPeaks", "Source had too many peaks; only the brightest were included"),
    ("deblend_parentTooBig", "Parent footprint covered too many pixels"),
    ("deblend_masked", "Parent footprint was predominantly masked"),
    ("deblend_skipped", "Deblender skipped this source"),
    ("base_SdssCentroid_flag", "General Failure Flag"),
    ("base_SdssCentroid_flag_edge", "Object too close to edge"),
    ("base_SdssCentroid_flag_noSecondDerivative", "Vanishing second derivative"),
    ("base_SdssCentroid_flag_almostNoSecondDerivative", "Almost vanishing second derivative"),
    ("base_SdssCentroid_flag_notAtMaximum", "Object is not at a maximum"),
    ("base_SdssCentroid_flag_resetToPeak", "set if CentroidChecker reset the centroid"),
    ("base_SdssShape_flag", "General Failure Flag"),
    ("base_CircularApertureFlux_12_0_flag", "General Failure Flag"),
    ("base_CircularApertureFlux_12_0_flag_apertureTruncated", "aperture did not fit within measurement image"),
    ("base_PixelFlags_flag", "General failure flag, set if anything went wrong"),
    ("base_PixelFlags_flag_offimage", "Source center is off image"),
) + tuple((f"base_PixelFlags_flag_{n}",
           f"Source's {'center is close to' if c else 'footprint includes'} {p} pixels")
          for n, p, c in PIXEL_FLAGS) + (
    ("base_PsfFlux_flag", "General Failure Flag"),
    ("base_PsfFlux_flag_noGoodPixels", "not enough non-rejected pixels in data to attempt the fit"),
    ("base_PsfFlux_flag_edge", "object was too close to the edge of the image to use the full PSF model"),
    ("ext_photometryKron_KronFlux_flag", "General Failure Flag"),
    ("ext_photometryKron_KronFlux_flag_edge", "Bad shape / flux: object too close to the edge"),
    ("base_ClassificationExtendedness_flag", "Set to 1 for any fatal failure"),
    ("calib_astrometry_used", "set if source was used in astrometric calibration"),
    ("calib_photometry_used", "set if source was used in photometric calibration"),
    ("calib_photometry_reserved", "set if source was reserved from photometric calibration"),
)

# ----- the measurement model --------------------------------------------------------------------


@dataclass
class Table:
    """Named columns of equal length (numpy arrays), in order."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __setitem__(self, name: str, value) -> None:
        self.columns[name] = np.asarray(value)

    def take(self, index) -> "Table":
        """The rows at ``index`` (a mask or indices) as a new table."""
        return Table({k: v[index] for k, v in self.columns.items()})


@dataclass
class ImageContext:
    """What a measurement needs to know about the image the objects were seen in."""

    shape: tuple[int, int]
    xy0: tuple[int, int]
    psf_sigma: float  # pixels
    bg_variance: float  # per pixel, image units^2
    gain: float  # counts per image unit, for source Poisson noise (inf: none)
    calib_njy: float  # nJy per image unit (PhotoCalib calibrationMean)
    saturation: float = np.inf  # image level flagged SAT
    mask: Optional[np.ndarray] = None  # int32 mask of the image, if pixels were made
    planes: Optional[dict[str, int]] = None
    edge_width: int = 10


def _gaussian_sigma(r_half_px: np.ndarray) -> np.ndarray:
    return np.asarray(r_half_px, float) / 1.1774


def measure_all(ctx: ImageContext, truth_ids: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
                r_half_px: np.ndarray, q: np.ndarray, theta: np.ndarray, is_star: np.ndarray,
                rng: np.random.Generator) -> Table:
    """Noisy measurements of every object (no selection, no flags, no blends); image units."""
    n = len(x)
    sp2 = ctx.psf_sigma ** 2
    sg = np.where(is_star, 0.0, _gaussian_sigma(r_half_px))
    # object moments (Gaussian approximation) convolved with the PSF
    c, s = np.cos(theta), np.sin(theta)
    a2, b2 = sg ** 2, (sg * q) ** 2
    xx = a2 * c * c + b2 * s * s + sp2
    yy = a2 * s * s + b2 * c * c + sp2
    xy = (a2 - b2) * c * s
    so2 = 0.5 * (xx + yy)  # circularised total variance
    gain = ctx.gain
    src_var = np.clip(flux, 0, None) / gain if np.isfinite(gain) else np.zeros(n)
    psf_true = flux * 2 * sp2 / (sp2 + so2)
    psf_err = np.sqrt(ctx.bg_variance * 4 * np.pi * sp2 + src_var * 2 * sp2 / (sp2 + so2))
    psf = psf_true + rng.normal(0, 1, n) * psf_err
    snr = psf / psf_err
    ap_true = flux * (1 - np.exp(-144.0 / (2 * so2)))
    ap_err = np.sqrt(ctx.bg_variance * np.pi * 144.0 + src_var)
    ap = ap_true + rng.normal(0, 1, n) * ap_err
    r_kron = 2.5 * 1.2 * np.sqrt(so2)
    kron_true = flux * (1 - np.exp(-r_kron ** 2 / (2 * so2)))
    kron_err = np.sqrt(ctx.bg_variance * np.pi * r_kron ** 2 + src_var)
    kron = kron_true + rng.normal(0, 1, n) * kron_err
    cerr = np.sqrt(so2) / np.clip(snr, 1.0, None) * np.sqrt(2.0)
    mx = x + rng.normal(0, 1, n) * cerr
    my = y + rng.normal(0, 1, n) * cerr
    return Table({
        "truth_id": np.asarray(truth_ids), "x": mx, "y": my,
        "xErr": cerr.astype(np.float32), "yErr": cerr.astype(np.float32),
        "psfFlux": psf, "psfFluxErr": psf_err, "apFlux": ap, "apFluxErr": ap_err,
        "kronFlux": kron, "kronFluxErr": kron_err, "kronRadius": r_kron.astype(np.float32),
        "xx": xx, "yy": yy, "xy": xy, "is_star": np.asarray(is_star, bool), "true_flux": np.asarray(flux, float),
    })


def inside(ctx: ImageContext, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether each (x, y) lies on the image (pixel edges at -0.5 and n - 0.5, xy0 included)."""
    x0, y0 = ctx.xy0
    ny, nx = ctx.shape
    return (x >= x0 - 0.5) & (x < x0 + nx - 0.5) & (y >= y0 - 0.5) & (y < y0 + ny - 0.5)


def finish(ctx: ImageContext, t: Table, families: Optional[list[np.ndarray]] = None) -> Table:
    """Extendedness, pixel flags and blend parents for already-selected rows."""
    ratio = t["psfFlux"] / np.where(t["kronFlux"] != 0, t["kronFlux"], np.nan)
    t["extendedness"] = np.where(np.isfinite(ratio), (ratio < 0.985).astype(float), np.nan)
    _pixel_flags(ctx, t)
    if families is None:
        families = find_families(t["x"], t["y"], 2.0 * 2.355 * ctx.psf_sigma)
    add_parents(t, families)
    return t


def measure(ctx: ImageContext, truth_ids: np.ndarray, x: np.ndarray, y: np.ndarray, flux: np.ndarray,
            r_half_px: np.ndarray, q: np.ndarray, theta: np.ndarray, is_star: np.ndarray,
            rng: np.random.Generator, min_snr: float = 5.0) -> Table:
    """Measured quantities of the detected objects (S/N >= min_snr inside the image), plus blend parents.

    Columns: truth_id, x, y, xErr, yErr, psfFlux(+Err), apFlux(+Err) (12 px radius), kronFlux(+Err),
    xx, yy, xy (second moments), extendedness, parent_index (-1: none), nChild, is_parent and the
    pixel flags (``flag_<name>``) - image units for fluxes.
    """
    t = measure_all(ctx, truth_ids, x, y, flux, r_half_px, q, theta, is_star, rng)
    keep = (t["psfFlux"] / t["psfFluxErr"] >= min_snr) & inside(ctx, t["x"], t["y"])
    return finish(ctx, t.take(np.nonzero(keep)[0]))


def _pixel_flags(ctx: ImageContext, t: Table) -> None:
    n = len(t)
    x0, y0 = ctx.xy0
    ny, nx = ctx.shape
    ix = np.round(t["x"] - x0).astype(int)
    iy = np.round(t["y"] - y0).astype(int)
    edge = ctx.edge_width
    near_edge = (ix < edge) | (iy < edge) | (ix >= nx - edge) | (iy >= ny - edge)
    for name, _plane, _center in PIXEL_FLAGS:
        t[f"flag_{name}"] = np.zeros(n, dtype=bool)
    if ctx.mask is not None and n:
        for name, plane, center in PIXEL_FLAGS:
            if plane not in ctx.planes:
                continue
            r = 1 if center else 3
            offs = np.arange(-r, r + 1)
            gx = np.clip(ix[:, None, None] + offs[None, None, :], 0, nx - 1)
            gy = np.clip(iy[:, None, None] + offs[None, :, None], 0, ny - 1)
            vals = ctx.mask[gy, gx]
            t[f"flag_{name}"] = np.any((vals & np.int32(1 << ctx.planes[plane])) != 0, axis=(1, 2))
    elif n:
        peak = t["true_flux"] / (2 * np.pi * 0.5 * (t["xx"] + t["yy"]))
        sat = peak >= ctx.saturation
        t["flag_saturated"] = sat
        t["flag_saturatedCenter"] = sat
        t["flag_suspect"] = peak >= 0.85 * ctx.saturation
    t["flag_edge"] = t["flag_edge"] | near_edge


def find_families(x: np.ndarray, y: np.ndarray, radius: float) -> list[np.ndarray]:
    """Groups (row indices) of detections closer than ``radius`` pixels to another member."""
    n = len(x)
    if n < 2:
        return []
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(radius, output_type="ndarray")
    if len(pairs) == 0:
        return []
    root = np.arange(n)

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            root[max(ra, rb)] = min(ra, rb)
    groups = np.array([find(i) for i in range(n)])
    members = np.nonzero(np.bincount(groups, minlength=n) > 1)[0]
    return [np.nonzero(groups == g)[0] for g in members]


def add_parents(t: Table, families: list[np.ndarray]) -> None:
    """Append one parent row per blend family (fluxes summed, position flux-weighted)."""
    n = len(t)
    t["parent_index"] = np.full(n, -1, dtype=np.int64)
    t["nChild"] = np.zeros(n, dtype=np.int32)
    t["is_parent"] = np.zeros(n, dtype=bool)
    if not families:
        return
    parents = {k: [] for k in t.columns}
    for j, fam in enumerate(families):
        w = np.clip(t["psfFlux"][fam], 1e-3, None)
        for k, v in t.columns.items():
            if k in ("psfFlux", "apFlux", "kronFlux", "true_flux"):
                val = np.sum(v[fam])
            elif k.endswith("Err"):
                val = np.sqrt(np.sum(v[fam].astype(float) ** 2))
            elif k in ("x", "y", "xx", "yy", "xy", "kronRadius"):
                val = np.sum(v[fam] * w) / np.sum(w)
            elif k.startswith("flag_"):
                val = bool(np.any(v[fam]))
            elif k == "is_star":
                val = False
            elif k == "truth_id":
                val = -1
            elif k == "extendedness":
                val = 1.0
            else:
                val = v[fam][0]
            parents[k].append(val)
        parents["nChild"][-1] = len(fam)
        parents["is_parent"][-1] = True
        parents["parent_index"][-1] = -1
        t.columns["parent_index"][fam] = n + j
    for k in t.columns:
        t.columns[k] = np.concatenate([t.columns[k], np.asarray(parents[k], dtype=t.columns[k].dtype)])
