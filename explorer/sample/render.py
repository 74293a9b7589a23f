"""Pixels that look like the sky: PSF-convolved stars and galaxies, noise, and detector artefacts.

Everything is numpy on postage stamps (one small array per object, no per-pixel Python loops):

* stars are the Gaussian PSF; galaxies are exponential or de Vaucouleurs profiles written as
  mixtures of Gaussians (fitted once, at import, by non-negative least squares), so convolving
  with the Gaussian PSF is adding the PSF variance to each component;
* saturation clips at the detector's full well and spills the excess charge up and down the
  columns (bleed trails); cosmic rays are short bright tracks; bad columns are interpolated;
* detection is what the pipeline does: smooth with the PSF, threshold at 5 sigma, grow.

Mask bits are looked up by plane name from the plane dictionary passed in, never hard-coded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.optimize import nnls

# ----- galaxy profiles as Gaussian mixtures ----------------------------------------------------


def _fit_mog(n_sersic: float, n_comp: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes and variances (units of r_half^2) of a Gaussian mixture for a Sersic profile."""
    b = 1.9992 * n_sersic - 0.3271
    r = np.linspace(0.0, 8.0, 800)[1:]
    prof = np.exp(-b * (r ** (1.0 / n_sersic) - 1.0))
    prof /= np.sum(prof * 2 * np.pi * r) * (r[1] - r[0])
    variances = np.logspace(-4.5 if n_sersic > 2 else -2.5, 1.0, n_comp)
    design = np.exp(-r[:, None] ** 2 / (2 * variances[None, :])) / (2 * np.pi * variances[None, :])
    w = np.sqrt(r)
    amps, _ = nnls(design * w[:, None], prof * w)
    keep = amps > 1e-4
    amps, variances = amps[keep], variances[keep]
    return amps / amps.sum(), variances


MOG = {1: _fit_mog(1.0), 2: _fit_mog(4.0)}  # profile code -> (amplitudes, variances)


@dataclass
class Sources:
    """Objects to draw, in the image's parent pixel frame (0-based)."""

    x: np.ndarray
    y: np.ndarray
    flux: np.ndarray  # total counts in the image's units
    profile: np.ndarray  # 0 star, 1 exponential, 2 de Vaucouleurs
    r_half_px: np.ndarray
    q: np.ndarray
    theta: np.ndarray  # major-axis angle in the pixel frame, radians from +x towards +y


def render(shape: tuple[int, int], xy0: tuple[int, int], src: Sources, psf_sigma: float,
           noise_sigma: float) -> np.ndarray:
    """Noise-free model image (float64) of ``src`` convolved with a Gaussian PSF."""
    ny, nx = shape
    x0, y0 = xy0
    img = np.zeros((ny, nx), dtype=np.float64)
    s2 = psf_sigma ** 2
    for k in range(len(src.x)):
        f = float(src.flux[k])
        if not np.isfinite(f) or f <= 0:
            continue
        prof = int(src.profile[k])
        if prof == 0:
            amps = np.array([1.0])
            cov = np.array([[[s2, 0.0], [0.0, s2]]])
        else:
            a, v = MOG[prof]
            rh2 = float(src.r_half_px[k]) ** 2
            q = float(src.q[k])
            c, s = np.cos(src.theta[k]), np.sin(src.theta[k])
            rot = np.array([[c, -s], [s, c]])
            base = rot @ np.diag([1.0, q * q]) @ rot.T
            amps = a
            cov = v[:, None, None] * rh2 * base[None] + s2 * np.eye(2)[None]
        peak = f * float(np.max(amps / (2 * np.pi * np.sqrt(np.linalg.det(cov)))))
        if peak < 0.02 * noise_sigma:
            continue  # invisible: below a fiftieth of the pixel noise
        big = amps >= 0.01 * amps.max()
        sig_max = float(np.sqrt(np.max(np.linalg.eigvalsh(cov[big]))))
        h = int(np.ceil(sig_max * np.sqrt(2.0 * np.log(max(peak / (0.05 * noise_sigma), 20.0)))))
        h = min(max(h, 3), 120)
        cx = float(src.x[k]) - x0
        cy = float(src.y[k]) - y0
        ix, iy = int(round(cx)), int(round(cy))
        xa, xb = max(ix - h, 0), min(ix + h + 1, nx)
        ya, yb = max(iy - h, 0), min(iy + h + 1, ny)
        if xa >= xb or ya >= yb:
            continue
        dx = np.arange(xa, xb) - cx
        dy = np.arange(ya, yb) - cy
        stamp = np.zeros((yb - ya, xb - xa))
        for amp, c in zip(amps, cov):
            inv = np.linalg.inv(c)
            norm = f * amp / (2 * np.pi * np.sqrt(np.linalg.det(c)))
            q2 = (inv[0, 0] * dx[None, :] ** 2 + 2 * inv[0, 1] * dx[None, :] * dy[:, None]
                  + inv[1, 1] * dy[:, None] ** 2)
            stamp += norm * np.exp(-0.5 * q2)
        img[ya:yb, xa:xb] += stamp
    return img


# ----- detector effects --------------------------------------------------------------------------


def saturate(model: np.ndarray, level: float) -> np.ndarray:
    """Clip at ``level`` and bleed the excess charge along columns. Returns the SAT boolean map."""
    sat = model >= level
    if not sat.any():
        return sat
    labels, n = ndimage.label(sat)
    ny = model.shape[0]
    for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        ys, xs = sl
        sub = model[sl]
        mine = labels[sl] == lab
        for j in range(sub.shape[1]):
            rows = np.nonzero(mine[:, j])[0]
            if len(rows) == 0:
                continue
            excess = float(np.sum(sub[rows, j] - level))
            extra = int(excess / level)
            col = xs.start + j
            lo = ys.start + rows.min() - (extra + 1) // 2
            hi = ys.start + rows.max() + extra // 2 + 1
            lo, hi = max(lo, 0), min(hi, ny)
            sat[lo:hi, col] = True
    model[sat] = level
    return sat


def cosmic_rays(rng: np.random.Generator, shape: tuple[int, int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` cosmic-ray tracks: (boolean map, added counts)."""
    ny, nx = shape
    hit = np.zeros(shape, dtype=bool)
    add = np.zeros(shape, dtype=np.float32)
    for _ in range(n):
        length = 1 + rng.exponential(7.0)
        ang = rng.uniform(0, np.pi)
        x0, y0 = rng.uniform(0, nx), rng.uniform(0, ny)
        t = np.linspace(0, length, int(np.ceil(length * 2)) + 1)
        xs = np.clip(np.round(x0 + t * np.cos(ang)).astype(int), 0, nx - 1)
        ys = np.clip(np.round(y0 + t * np.sin(ang)).astype(int), 0, ny - 1)
        amp = rng.uniform(400, 4000)
        hit[ys, xs] = True
        add[ys, xs] = np.maximum(add[ys, xs], amp * rng.uniform(0.5, 1.0, len(xs)))
    return hit, add


def interpolate_columns(image: np.ndarray, cols: np.ndarray, rows: slice) -> None:
    """Replace whole (partial) columns by the mean of their neighbours, as ISR defect interpolation."""
    nx = image.shape[1]
    for c in cols:
        left = image[rows, c - 1] if c - 1 >= 0 else image[rows, c + 1]
        right = image[rows, c + 1] if c + 1 < nx else image[rows, c - 1]
        image[rows, c] = 0.5 * (left + right)


def detect(image: np.ndarray, variance: np.ndarray, psf_sigma: float, ignore: np.ndarray,
           threshold: float = 5.0, grow: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative detection maps: PSF-smoothed image beyond +/- threshold sigma, grown."""
    work = np.where(ignore | ~np.isfinite(image), 0.0, image).astype(np.float32)
    smooth = ndimage.gaussian_filter(work, psf_sigma, mode="constant", truncate=3.0)
    bg_var = float(np.median(variance[np.isfinite(variance)]))
    sigma_s = np.sqrt(bg_var) / (2.0 * np.sqrt(np.pi) * psf_sigma)
    pos = smooth > threshold * sigma_s
    neg = smooth < -threshold * sigma_s
    struct = np.ones((3, 3), dtype=bool)
    if pos.any():
        pos = ndimage.binary_dilation(pos, structure=struct, iterations=grow)
    if neg.any():
        neg = ndimage.binary_dilation(neg, structure=struct, iterations=grow)
    return pos, neg


@dataclass
class MaskBuilder:
    """An int32 mask being filled plane by plane (bits from the plane dictionary)."""

    shape: tuple[int, int]
    planes: dict[str, int]
    mask: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.mask = np.zeros(self.shape, dtype=np.int32)

    def set(self, name: str, where) -> None:
        self.mask[where] |= np.int32(1 << self.planes[name])

    def border(self, name: str, width: int) -> None:
        m = np.zeros(self.shape, dtype=bool)
        m[:width, :] = m[-width:, :] = m[:, :width] = m[:, -width:] = True
        self.set(name, m)

    def has(self, name: str) -> np.ndarray:
        return (self.mask & np.int32(1 << self.planes[name])) != 0


def pixel_angle(cd: np.ndarray) -> np.ndarray:
    """Map sky position angle (deg east of north) -> pixel-frame angle (rad), for a CD matrix."""
    inv = np.linalg.inv(cd)
    east = inv @ np.array([1.0, 0.0])
    north = inv @ np.array([0.0, 1.0])
    return east / np.linalg.norm(east), north / np.linalg.norm(north)


def pa_to_theta(pa_deg: np.ndarray, cd: np.ndarray) -> np.ndarray:
    east, north = pixel_angle(cd)
    p = np.radians(np.asarray(pa_deg, float))
    vx = np.sin(p) * east[0] + np.cos(p) * north[0]
    vy = np.sin(p) * east[1] + np.cos(p) * north[1]
    return np.arctan2(vy, vx)
