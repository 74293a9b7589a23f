"""The sample's plan: what exists, decided from ``(seed, size)`` alone, before any pixel is made.

:func:`build_content` decides the instrument, filters, detectors, visits (pointing, time, filter,
seeing, sky), which visit/detector pairs have calexps (and which one is registered but missing),
the tracts and patches registered, and which patches have coadds. The files' data are made by
:mod:`explorer.sample.visit_files` and :mod:`explorer.sample.coadd_files`; the list of every file
by :mod:`explorer.sample.products`. :mod:`explorer.sample.content` re-exports all of them.

Everything is expressed in LSST conventions: 0-based parent pixel coordinates with ``xy0``,
ICRS degrees, TAI times, afw mask-plane names.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Optional

import numpy as np

from . import camera, catalogs, optics
from .camera import BANDS, DETECTOR_BY_ID, DETECTORS, GAIN, INSTRUMENT, PHYSICAL_FILTERS, READ_NOISE_E
from .obstime import alt_az, day_obs, era_deg, gmst_deg, mjd_to_datetime
from .sizes import SIZES, SizeConfig
from .truth import TruthSky, planted_stars

# ----- constants of the simulated survey --------------------------------------------------------

SKYMAP_NAME = "DC2"
SKYMAP_TRACT_MAX = 18938
SKYMAP_PATCH_MAX = 7
FOCUS = (56.6497461928934, -36.44628099173554)  # DC2 tract 3828 centre = inner centre of patch 3,3
TRACTS = (3828, 3829, 4025, 4026)  # 3828, its ring neighbour 3829, and two in the ring above
EXPOSURE_TIME = 30.0
OBSERVATORY = {"lon": -70.7494, "lat": -30.2444, "elev": 2650.0}  # Cerro Pachon
# Mag of 1 electron in 1 s (LSST SMTN-002-like throughputs) and dark-sky brightness (mag/arcsec^2).
ZP_1E_PER_S = {"u": 26.52, "g": 28.51, "r": 28.36, "i": 28.17, "z": 27.78, "y": 26.82}
SKY_MAG = {"u": 22.96, "g": 22.26, "r": 21.20, "i": 20.48, "z": 19.60, "y": 18.61}
EXTINCTION = {"u": 0.47, "g": 0.21, "r": 0.13, "i": 0.10, "z": 0.07, "y": 0.17}
COADD_PSF_FWHM = 0.75  # arcsec

CALEXP_MASK_PLANES = {
    "BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5, "DETECTED_NEGATIVE": 6,
    "SUSPECT": 7, "NO_DATA": 8, "CROSSTALK": 9, "NOT_DEBLENDED": 10, "UNMASKEDNAN": 11,
}
COADD_MASK_PLANES = dict(CALEXP_MASK_PLANES, CLIPPED=12, INEXACT_PSF=13, REJECTED=14, SENSOR_EDGE=15)

RUN_CALEXP = "2.2i/runs/test-med-1/calexp"
RUN_COADD = "2.2i/runs/test-med-1/coadd"
RUN_SKYMAPS = "skymaps"
CHAIN_DEFAULTS = "2.2i/defaults"
CHAIN_RUNS = "2.2i/runs/test-med-1"


# ----- the content model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """One visit (= one exposure in imSim) with everything the registry and VisitInfo need."""

    id: int
    band: str
    physical_filter: str
    ra: float  # boresight, deg
    dec: float
    sky_angle: float  # rotSkyPos, deg
    mjd_begin_tai: float
    day_obs: int
    seq_num: int
    seeing_fwhm: float  # arcsec
    sky_mag: float  # mag / arcsec^2
    zero_point: float  # mag of 1 ADU in the exposure (includes extinction)
    zenith_angle: float
    azimuth: float
    airmass: float
    era_deg: float  # Earth rotation angle at mid-exposure
    mjd_ut1_mid: float
    rot_angle: float  # boresight rotation angle (= sky_angle, ROTTYPE SKY)

    @property
    def pointing(self) -> optics.Pointing:
        """The boresight (RA, Dec) and sky rotation angle as the optics model takes them."""
        return optics.Pointing(self.ra, self.dec, self.sky_angle)

    @property
    def psf_sigma_px(self) -> float:
        """The PSF's Gaussian sigma in pixels (from the seeing FWHM)."""
        return self.seeing_fwhm / camera.PIXEL_SCALE_ARCSEC / 2.3548

    @property
    def sky_adu(self) -> float:
        """Sky level per pixel in ADU (before background subtraction)."""
        return 10.0 ** (-0.4 * (self.sky_mag - self.zero_point)) * camera.PIXEL_SCALE_ARCSEC ** 2

    @property
    def bg_variance(self) -> float:
        """Per-pixel variance of the sky background and read noise (ADU^2)."""
        return self.sky_adu / GAIN + (READ_NOISE_E / GAIN) ** 2

    @property
    def calib_njy(self) -> float:
        """PhotoCalib calibrationMean: nJy per ADU."""
        return catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * self.zero_point)

    def timespan_tai(self) -> tuple[datetime, datetime]:
        """(begin, end) of the exposure, TAI."""
        begin = mjd_to_datetime(self.mjd_begin_tai)
        return begin, begin + timedelta(seconds=EXPOSURE_TIME)

    @property
    def date_avg_tai(self) -> str:
        """The middle of the exposure, TAI, as the ``DATE-AVG`` card writes it."""
        mid = mjd_to_datetime(self.mjd_begin_tai) + timedelta(seconds=EXPOSURE_TIME / 2)
        return mid.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000"


@dataclass(frozen=True)
class CalexpSpec:
    """One calexp the sample registers: its visit, detector, pixel box and whether its file is kept."""

    visit: int
    detector: int
    bbox: tuple[int, int, int, int]  # x0, y0, width, height in detector pixels
    on_disk: bool = True


@dataclass(frozen=True)
class CoaddSpec:
    """One coadd patch the sample writes (in every coadd band): tract, patch and its pixel box."""

    tract: int
    patch_x: int
    patch_y: int
    patch_id: int  # Gen3 patch id = sequential index = y * 7 + x
    bbox: tuple[int, int, int, int]  # x0, y0, width, height in tract pixels

    @property
    def patch_name(self) -> str:
        """The patch as "x,y"."""
        return f"{self.patch_x},{self.patch_y}"


@dataclass
class SampleContent:
    """Everything a layout writer needs to know before it writes the first byte."""

    seed: int
    size: SizeConfig
    visits: list[Visit]
    calexps: list[CalexpSpec]
    coadds: list[CoaddSpec]  # one per patch; bands in size.coadd_bands
    tracts: tuple[int, ...]
    truth: TruthSky = field(repr=False)

    @property
    def instrument(self) -> str:
        """The instrument's name."""
        return INSTRUMENT

    @property
    def detectors(self):
        """Every detector of the camera (:class:`camera.DetectorGeom`)."""
        return DETECTORS

    @property
    def physical_filters(self) -> dict[str, str]:
        """Band -> physical filter name."""
        return dict(PHYSICAL_FILTERS)

    @cached_property
    def visit_by_id(self) -> dict[int, Visit]:
        """Visit id -> :class:`Visit`."""
        return {v.id: v for v in self.visits}

    @property
    def missing_calexp(self) -> CalexpSpec:
        """The one calexp that is registered but whose file is deleted."""
        return next(c for c in self.calexps if not c.on_disk)

    def calexp_visits(self) -> list[int]:
        """The visits with at least one calexp, sorted."""
        return sorted({c.visit for c in self.calexps})

    def source_table_detectors(self, visit: int) -> list[int]:
        """The detectors whose rows a visit's ``sourceTable`` holds."""
        if self.size.source_table_all_detectors:
            return [d.id for d in DETECTORS]
        return sorted(c.detector for c in self.calexps if c.visit == visit)

    def source_table_visits(self) -> list[int]:
        """The visits that get a ``sourceTable``."""
        if self.size.source_table_all_detectors:
            return [v.id for v in self.visits]
        return self.calexp_visits()

    def calexp_spec(self, visit: int, detector: int) -> Optional[CalexpSpec]:
        """The calexp of (visit, detector), or None when the sample has none."""
        return next((c for c in self.calexps if c.visit == visit and c.detector == detector), None)

    def skymap_hash(self) -> bytes:
        """The hash the registry records for the DC2 skymap (of its configuration text)."""
        text = ("lsst.skymap.ringsSkyMap.RingsSkyMap numRings=120 projection=TAN pixelScale=0.2 "
                "tractOverlap=0.016666666666666666 patchInnerDimensions=(4000,4000) patchBorder=100 "
                "raStart=0.0 rotation=0.0 tractBuilder=legacy")
        return hashlib.sha1(text.encode()).digest()


def _focus_inside(pointing: optics.Pointing, margin: int) -> Optional[int]:
    """Detector that sees the focus at least ``margin`` pixels from its edges, or None."""
    u, v = optics.sky_to_fp(pointing, FOCUS[0], FOCUS[1])
    det = int(camera.detector_at_fp(u, v))
    if det < 0:
        return None
    x, y = DETECTOR_BY_ID[det].fp_to_pixel(u, v)
    if margin <= x <= camera.DETECTOR_NX - 1 - margin and margin <= y <= camera.DETECTOR_NY - 1 - margin:
        return det
    return None


def _make_visits(seed: int, cfg: SizeConfig) -> list[Visit]:
    rng = np.random.default_rng([seed, 101])
    n = cfg.visits_per_band * len(BANDS)
    bands = np.array([b for b in BANDS for _ in range(cfg.visits_per_band)])
    rng.shuffle(bands)
    visits = []
    visit_id = 159_000 + int(rng.integers(0, 400))
    night = 59_853  # 2022-10-01
    lat, lon = OBSERVATORY["lat"], OBSERVATORY["lon"]
    need_margin = 300 if cfg.calexp_box is not None else 0
    per_night = {}
    for k in range(n):
        band = str(bands[k])
        # pointing: dithered around the focus; small samples keep the focus well inside a detector
        for _attempt in range(200):
            r = cfg.dither_deg * np.sqrt(rng.random())
            phi = rng.uniform(0, 2 * np.pi)
            ra = FOCUS[0] + r * np.cos(phi) / np.cos(np.radians(FOCUS[1]))
            dec = FOCUS[1] + r * np.sin(phi)
            rot = float(rng.uniform(0, 360))
            if need_margin == 0 or _focus_inside(optics.Pointing(ra, dec, rot), need_margin) is not None:
                break
        night += int(rng.integers(1, 6))
        if 120 <= (night - 59_853) % 365 < 300:  # skip the months when the field is not up at night
            night += 180
        ha = float(rng.uniform(-2.0, 2.0)) * 15.0
        # mjd at which LST = ra + ha during this night (local night: ~23h-09h UTC)
        base = night + 0.0
        lst0 = (gmst_deg(base) + lon) % 360.0
        dt_days = (((ra + ha) - lst0) % 360.0) / 360.98564736629
        mjd = base + dt_days
        if mjd - night > 0.42:
            mjd -= 0.9972696
            if mjd < night - 0.05:
                mjd += 0.9972696
        mjd = float(mjd + rng.uniform(0, 30) / 86400.0)
        mjd_mid_ut1 = mjd + (EXPOSURE_TIME / 2 - 37.0) / 86400.0
        lst = (gmst_deg(mjd_mid_ut1) + lon) % 360.0
        alt, az = alt_az(lst - ra, dec, lat)
        zen = 90.0 - alt
        airmass = 1.0 / np.cos(np.radians(min(zen, 80.0)))
        seeing = float(np.clip(0.72 * np.exp(rng.normal(0, 0.18)) * airmass ** 0.6, 0.5, 1.3))
        sky = SKY_MAG[band] + float(rng.normal(0, 0.25)) - (0.6 if rng.random() < 0.15 else 0.0)
        zp_e = ZP_1E_PER_S[band] + 2.5 * math.log10(EXPOSURE_TIME)
        zp = zp_e - 2.5 * math.log10(GAIN) - EXTINCTION[band] * (airmass - 1.0) + float(rng.normal(0, 0.02))
        d_obs = day_obs(mjd)
        seq = per_night.get(d_obs, 0)
        per_night[d_obs] = seq + 1
        visits.append(Visit(
            id=visit_id, band=band, physical_filter=PHYSICAL_FILTERS[band], ra=float(ra % 360.0),
            dec=float(dec), sky_angle=rot, mjd_begin_tai=mjd, day_obs=d_obs, seq_num=seq,
            seeing_fwhm=seeing, sky_mag=float(sky), zero_point=float(zp), zenith_angle=float(zen),
            azimuth=az, airmass=float(airmass), era_deg=era_deg(mjd_mid_ut1), mjd_ut1_mid=mjd_mid_ut1,
            rot_angle=rot))
        visit_id += int(rng.integers(3, 60))
    return visits


def _cutout(center_x: float, center_y: float, w: int, h: int, full_w: int, full_h: int,
            x_min: int = 0, y_min: int = 0) -> tuple[int, int, int, int]:
    x0 = int(round(center_x - w / 2))
    y0 = int(round(center_y - h / 2))
    x0 = min(max(x0, x_min), x_min + full_w - w)
    y0 = min(max(y0, y_min), y_min + full_h - h)
    return x0, y0, w, h


def _make_calexps(content_visits: list[Visit], cfg: SizeConfig) -> list[CalexpSpec]:
    specs = []
    for band in cfg.calexp_bands:
        chosen = 0
        for v in content_visits:
            if v.band != band or chosen >= cfg.calexp_visits_per_band:
                continue
            det = _focus_inside(v.pointing, 300 if cfg.calexp_box else 50)
            if det is None:
                continue
            chosen += 1
            dets = [det]
            if cfg.detectors_per_calexp_visit > 1:
                u, vv = optics.sky_to_fp(v.pointing, FOCUS[0], FOCUS[1])
                others = sorted((float(np.hypot(*(np.array(d.center_fp_pixels) - (u, vv)))), d.id)
                                for d in DETECTORS if d.id != det)
                dets += [d for _, d in others[: cfg.detectors_per_calexp_visit - 1]]
            for d in dets:
                geom = DETECTOR_BY_ID[d]
                if cfg.calexp_box is None:
                    bbox = (0, 0, geom.nx, geom.ny)
                else:
                    u, vv = optics.sky_to_fp(v.pointing, FOCUS[0], FOCUS[1])
                    fx, fy = geom.fp_to_pixel(u, vv)
                    bbox = _cutout(float(fx), float(fy), *cfg.calexp_box, geom.nx, geom.ny)
                specs.append(CalexpSpec(v.id, d, bbox))
    # Exactly one registered calexp has no file: the last one written (a secondary detector in small).
    last = specs[-1]
    specs[-1] = CalexpSpec(last.visit, last.detector, last.bbox, on_disk=False)
    return specs


def _make_coadds(cfg: SizeConfig) -> list[CoaddSpec]:
    from explorer.sky import dc2_skymap

    sm = dc2_skymap()
    out = []
    if cfg.coadd_patches:
        for tract, px, py in cfg.coadd_patches:
            t = sm.tract(tract)
            p = t.patch(px, py)
            ob = tuple(int(v) for v in p.outer_bbox)
            bbox = ob if cfg.coadd_box is None else _cutout(
                ob[0] + ob[2] / 2, ob[1] + ob[3] / 2, *cfg.coadd_box, ob[2], ob[3], ob[0], ob[1])
            out.append(CoaddSpec(tract, px, py, int(p.sequential_index), bbox))
        return out
    # Small: in 3828 the focus patch (3,3) and its neighbour (4,3); in the other tracts the patch
    # nearest the focus, cut out around the point of its inner region nearest the focus.
    wanted = [(3828, (3, 3)), (3828, (4, 3))] + [(t, None) for t in TRACTS if t != 3828]
    for tract, pxy in wanted:
        t = sm.tract(tract)
        fx, fy = (float(a) for a in t.sky_to_pixel(FOCUS[0], FOCUS[1]))
        if pxy is None:
            best = None
            for p in t.patches():
                ib = p.inner_bbox
                cx = min(max(fx, ib[0]), ib[0] + ib[2] - 1)
                cy = min(max(fy, ib[1]), ib[1] + ib[3] - 1)
                dist = math.hypot(cx - fx, cy - fy)
                if best is None or dist < best[0]:
                    best = (dist, p, cx, cy)
            _, p, cx, cy = best
        else:
            p = t.patch(*pxy)
            ib = p.inner_bbox
            cx = min(max(fx, ib[0]), ib[0] + ib[2] - 1)
            cy = min(max(fy, ib[1]), ib[1] + ib[3] - 1)
        ob = tuple(int(v) for v in p.outer_bbox)
        px, py = p.index
        bbox = _cutout(cx, cy, *cfg.coadd_box, ob[2], ob[3], ob[0], ob[1])
        out.append(CoaddSpec(tract, int(px), int(py), int(p.sequential_index), bbox))
    return out


def build_content(seed: int = 1, size: str = "small") -> SampleContent:
    """The whole sample's plan, from the seed and the size name ("small" or "large")."""
    if size not in SIZES:
        raise ValueError(f"unknown sample size {size!r} (use one of {', '.join(SIZES)})")
    cfg = SIZES[size]
    visits = _make_visits(seed, cfg)
    calexps = _make_calexps(visits, cfg)
    coadds = _make_coadds(cfg)
    planted = planted_stars(seed, FOCUS[0], FOCUS[1], [13.0, 15.5, 16.0, 17.0])
    truth = TruthSky(seed, cfg.density, planted)
    return SampleContent(seed=int(seed), size=cfg, visits=visits, calexps=calexps, coadds=coadds,
                         tracts=TRACTS, truth=truth)
