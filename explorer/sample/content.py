"""The sample's content, independent of any repository layout: what exists, and every file's data.

:func:`build_content` decides, from ``(seed, size)`` alone, the instrument, filters, detectors,
visits (pointing, time, filter, seeing, sky), which visit/detector pairs have calexps (and which one
is registered but missing), the tracts and patches registered, and which patches have coadds.
Nothing is synthesised until asked: the ``synthesize_*`` functions return one file's arrays or
tables, deterministically from the seed, so a writer can stream (make, write, forget) and two
writers (Gen3 and Gen2) produce identical pixels and rows.

Everything is expressed in LSST conventions: 0-based parent pixel coordinates with ``xy0``,
ICRS degrees, TAI times, afw mask-plane names.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Callable, Optional

import numpy as np
import pandas as pd

from . import camera, catalogs, optics, render
from .camera import BANDS, DETECTOR_BY_ID, DETECTORS, GAIN, INSTRUMENT, PHYSICAL_FILTERS, READ_NOISE_E
from .truth import TRUTH_DTYPE, TruthDensity, TruthSky, planted_stars

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
        return optics.Pointing(self.ra, self.dec, self.sky_angle)

    @property
    def psf_sigma_px(self) -> float:
        return self.seeing_fwhm / camera.PIXEL_SCALE_ARCSEC / 2.3548

    @property
    def sky_adu(self) -> float:
        """Sky level per pixel in ADU (before background subtraction)."""
        return 10.0 ** (-0.4 * (self.sky_mag - self.zero_point)) * camera.PIXEL_SCALE_ARCSEC ** 2

    @property
    def bg_variance(self) -> float:
        return self.sky_adu / GAIN + (READ_NOISE_E / GAIN) ** 2

    @property
    def calib_njy(self) -> float:
        """PhotoCalib calibrationMean: nJy per ADU."""
        return catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * self.zero_point)

    def timespan_tai(self) -> tuple[datetime, datetime]:
        begin = _mjd_to_datetime(self.mjd_begin_tai)
        return begin, begin + timedelta(seconds=EXPOSURE_TIME)

    @property
    def date_avg_tai(self) -> str:
        mid = _mjd_to_datetime(self.mjd_begin_tai) + timedelta(seconds=EXPOSURE_TIME / 2)
        return mid.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000"


@dataclass(frozen=True)
class CalexpSpec:
    visit: int
    detector: int
    bbox: tuple[int, int, int, int]  # x0, y0, width, height in detector pixels
    on_disk: bool = True


@dataclass(frozen=True)
class CoaddSpec:
    tract: int
    patch_x: int
    patch_y: int
    patch_id: int  # Gen3 patch id = sequential index = y * 7 + x
    bbox: tuple[int, int, int, int]  # x0, y0, width, height in tract pixels

    @property
    def patch_name(self) -> str:
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
        return INSTRUMENT

    @property
    def detectors(self):
        return DETECTORS

    @property
    def physical_filters(self) -> dict[str, str]:
        return dict(PHYSICAL_FILTERS)

    @cached_property
    def visit_by_id(self) -> dict[int, Visit]:
        return {v.id: v for v in self.visits}

    @property
    def missing_calexp(self) -> CalexpSpec:
        return next(c for c in self.calexps if not c.on_disk)

    def calexp_visits(self) -> list[int]:
        return sorted({c.visit for c in self.calexps})

    def source_table_detectors(self, visit: int) -> list[int]:
        if self.size.source_table_all_detectors:
            return [d.id for d in DETECTORS]
        return sorted(c.detector for c in self.calexps if c.visit == visit)

    def source_table_visits(self) -> list[int]:
        if self.size.source_table_all_detectors:
            return [v.id for v in self.visits]
        return self.calexp_visits()

    def calexp_spec(self, visit: int, detector: int) -> Optional[CalexpSpec]:
        return next((c for c in self.calexps if c.visit == visit and c.detector == detector), None)

    def skymap_hash(self) -> bytes:
        text = ("lsst.skymap.ringsSkyMap.RingsSkyMap numRings=120 projection=TAN pixelScale=0.2 "
                "tractOverlap=0.016666666666666666 patchInnerDimensions=(4000,4000) patchBorder=100 "
                "raStart=0.0 rotation=0.0 tractBuilder=legacy")
        return hashlib.sha1(text.encode()).digest()


def _mjd_to_datetime(mjd: float) -> datetime:
    return datetime(1858, 11, 17, tzinfo=timezone.utc) + timedelta(days=mjd)


def _day_obs(mjd_tai: float) -> int:
    # Rubin day_obs: the date in the UTC-12h time zone (TAI-UTC offset is irrelevant here).
    d = _mjd_to_datetime(mjd_tai - 0.5)
    return int(d.strftime("%Y%m%d"))


def _gmst_deg(mjd_ut1: float) -> float:
    d = mjd_ut1 - 51544.5
    return (280.46061837 + 360.98564736629 * d) % 360.0


def _era_deg(mjd_ut1: float) -> float:
    d = mjd_ut1 - 51544.5
    return (360.0 * (0.7790572732640 + 1.00273781191135448 * d)) % 360.0


def _alt_az(ha_deg: float, dec: float, lat: float) -> tuple[float, float]:
    h, d, p = np.radians(ha_deg), np.radians(dec), np.radians(lat)
    sin_alt = np.sin(d) * np.sin(p) + np.cos(d) * np.cos(p) * np.cos(h)
    alt = np.arcsin(sin_alt)
    az = np.arctan2(-np.cos(d) * np.sin(h), np.sin(d) * np.cos(p) - np.cos(d) * np.sin(p) * np.cos(h))
    return float(np.degrees(alt)), float(np.degrees(az) % 360.0)


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
        lst0 = (_gmst_deg(base) + lon) % 360.0
        dt_days = (((ra + ha) - lst0) % 360.0) / 360.98564736629
        mjd = base + dt_days
        if mjd - night > 0.42:
            mjd -= 0.9972696
            if mjd < night - 0.05:
                mjd += 0.9972696
        mjd = float(mjd + rng.uniform(0, 30) / 86400.0)
        mjd_mid_ut1 = mjd + (EXPOSURE_TIME / 2 - 37.0) / 86400.0
        lst = (_gmst_deg(mjd_mid_ut1) + lon) % 360.0
        alt, az = _alt_az(lst - ra, dec, lat)
        zen = 90.0 - alt
        airmass = 1.0 / np.cos(np.radians(min(zen, 80.0)))
        seeing = float(np.clip(0.72 * np.exp(rng.normal(0, 0.18)) * airmass ** 0.6, 0.5, 1.3))
        sky = SKY_MAG[band] + float(rng.normal(0, 0.25)) - (0.6 if rng.random() < 0.15 else 0.0)
        zp_e = ZP_1E_PER_S[band] + 2.5 * math.log10(EXPOSURE_TIME)
        zp = zp_e - 2.5 * math.log10(GAIN) - EXTINCTION[band] * (airmass - 1.0) + float(rng.normal(0, 0.02))
        d_obs = _day_obs(mjd)
        seq = per_night.get(d_obs, 0)
        per_night[d_obs] = seq + 1
        visits.append(Visit(
            id=visit_id, band=band, physical_filter=PHYSICAL_FILTERS[band], ra=float(ra % 360.0),
            dec=float(dec), sky_angle=rot, mjd_begin_tai=mjd, day_obs=d_obs, seq_num=seq,
            seeing_fwhm=seeing, sky_mag=float(sky), zero_point=float(zp), zenith_angle=float(zen),
            azimuth=az, airmass=float(airmass), era_deg=_era_deg(mjd_mid_ut1), mjd_ut1_mid=mjd_mid_ut1,
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


# ----- synthesised data products ----------------------------------------------------------------


@dataclass
class ExposureData:
    """One afw Exposure's content, ready for afwfits.write_exposure."""

    image: np.ndarray  # float32 (ny, nx)
    mask: np.ndarray  # int32
    variance: np.ndarray  # float32
    xy0: tuple[int, int]
    mask_planes: dict[str, int]
    wcs_cards: list[tuple]
    primary_cards: list[tuple]
    photo_calib: tuple[float, float]  # calibrationMean (nJy / count), calibrationErr
    filter_label: tuple[str, str]  # band, physical filter
    psf_sigma: float  # pixels (GaussianPsf)
    detector: Optional[dict] = None  # id, name, serial, bbox, fp position (calexps only)
    stats: dict = field(default_factory=dict)


def _visit_info_cards(v: Visit, det_name: Optional[str] = None, det_serial: Optional[str] = None) -> list[tuple]:
    cards = [
        ("EXPID", v.id, ""),
        ("EXPTIME", EXPOSURE_TIME, "Exposure time (sec)"),
        ("DARKTIME", EXPOSURE_TIME, "Time from CCD flush to readout (sec)"),
        ("DATE-AVG", v.date_avg_tai, "TAI date at middle of observation"),
        ("TIMESYS", "TAI", ""),
        ("MJD-AVG-UT1", v.mjd_ut1_mid, "UT1 MJD date at ctr of obs"),
        ("AVG-ERA", v.era_deg, "Earth rot ang at ctr of obs (deg)"),
        ("BORE-RA", v.ra, "ICRS RA (deg) at boresight"),
        ("BORE-DEC", v.dec, "ICRS Dec (deg) at boresight"),
        ("BORE-AZ", v.azimuth, "Refr app topo az (deg) at bore"),
        ("BORE-ALT", 90.0 - v.zenith_angle, "Refr app topo alt (deg) at bore"),
        ("BORE-AIRMASS", v.airmass, "Airmass at boresight"),
        ("BORE-ROTANG", v.rot_angle, "Rotation angle (deg) at boresight"),
        ("ROTTYPE", "SKY", "Type of rotation angle"),
        ("OBS-LONG", OBSERVATORY["lon"], "Telescope longitude (+E, deg)"),
        ("OBS-LAT", OBSERVATORY["lat"], "Telescope latitude (deg)"),
        ("OBS-ELEV", OBSERVATORY["elev"], "Telescope elevation (m)"),
        ("AIRTEMP", 12.0, "Outside air temperature (C)"),
        ("AIRPRESS", 74400.0, "Outdoor air pressure (P)"),
        ("HUMIDITY", 40.0, "Relative humidity (%)"),
        ("INSTRUMENT", INSTRUMENT, "Short name of the instrument that took this data"),
        ("IDNUM", v.id, "identifier of this full focal plane exposure"),
        ("OBSTYPE", "science", "Type of this observation"),
        ("PROGRAM", "DC2 Run2.2i WFD", "observing program (survey or proposal) identifier"),
        ("REASON", "imsim", "reason this observation was taken, or its purpose"),
        ("OBJECT", "DC2", "object of interest or field name"),
        ("HAS-SIMULATED-CONTENT", True, "Was any part of this observation simulated?"),
    ]
    if det_name:
        cards = [("DETNAME", det_name, ""), ("DETSER", det_serial, "")] + cards
    return cards


def _truth_pixels_for_calexp(content: SampleContent, v: Visit, det: camera.DetectorGeom,
                             bbox: tuple[int, int, int, int], margin: int, tiers=(0, 1)):
    x0, y0, w, h = bbox
    xs = np.array([x0 - margin, x0 + w + margin, x0 + w + margin, x0 - margin, x0 + w / 2])
    ys = np.array([y0 - margin, y0 - margin, y0 + h + margin, y0 + h + margin, y0 + h / 2])
    ra, dec = optics.pixel_to_sky(v.pointing, det, xs, ys)
    objs = content.truth.around(ra, dec, margin_deg=0.0, tiers=tiers)
    px, py = optics.sky_to_pixel(v.pointing, det, objs["ra"], objs["dec"])
    keep = (px >= x0 - margin) & (px < x0 + w + margin) & (py >= y0 - margin) & (py < y0 + h + margin)
    return objs[keep], px[keep], py[keep]


def _fluxes(objs: np.ndarray, band: str, zero_point: float) -> np.ndarray:
    return 10.0 ** (-0.4 * (objs[f"mag_{band}"].astype(float) - zero_point))


def synthesize_calexp(content: SampleContent, visit: int, detector: int) -> ExposureData:
    """The calexp of one visit/detector: background-subtracted image, mask, variance, metadata."""
    v = content.visit_by_id[visit]
    det = DETECTOR_BY_ID[detector]
    spec = content.calexp_spec(visit, detector)
    bbox = spec.bbox if spec else (0, 0, det.nx, det.ny)
    x0, y0, w, h = bbox
    rng = np.random.default_rng([content.seed, 1, visit, detector])
    psf = v.psf_sigma_px
    objs, px, py = _truth_pixels_for_calexp(content, v, det, bbox, margin=60)
    theta = render.pa_to_theta(objs["pa"], v.pointing.cd)
    sources = render.Sources(px, py, _fluxes(objs, v.band, v.zero_point), objs["profile"],
                             objs["r_half"] / camera.PIXEL_SCALE_ARCSEC, objs["q"], theta)
    noise0 = math.sqrt(v.bg_variance)
    model = render.render((h, w), (x0, y0), sources, psf, noise0)
    planes = dict(CALEXP_MASK_PLANES)
    mb = render.MaskBuilder((h, w), planes)
    sat_level = camera.SATURATION_ADU - v.sky_adu  # full well, after background subtraction
    suspect = model >= 0.85 * sat_level
    sat = render.saturate(model, sat_level)
    variance = (v.sky_adu + np.clip(model, 0, None)) / GAIN + (READ_NOISE_E / GAIN) ** 2
    image = model + rng.standard_normal((h, w)) * np.sqrt(variance)
    image[sat] = sat_level
    # a faint residual of imperfect background subtraction (a gentle large-scale ripple)
    yy, xx = np.ogrid[y0:y0 + h, x0:x0 + w]
    image += 0.3 * np.sin(2 * np.pi * xx / 3000.0 + visit) * np.cos(2 * np.pi * yy / 2600.0 + detector)
    mb.set("SAT", sat)
    mb.set("SUSPECT", suspect & ~sat)
    # cosmic rays: ~ 1 per 15 000 pixels in 30 s
    n_cr = max(1, int(rng.poisson(w * h / 15000.0)))
    cr, cr_add = render.cosmic_rays(rng, (h, w), n_cr)
    cr &= ~sat
    image[cr] += cr_add[cr]
    mb.set("CR", cr)
    # bad columns belong to the detector (same columns in every visit), interpolated over by ISR
    drng = np.random.default_rng([content.seed, 11, detector])
    n_bad = int(drng.integers(4, 9))
    bad_cols = drng.integers(5, det.nx - 5, n_bad)
    bad_start = drng.integers(0, det.ny // 2, n_bad)
    bad_len = np.where(drng.random(n_bad) < 0.5, det.ny, drng.integers(200, det.ny // 2, n_bad))
    bad = np.zeros((h, w), dtype=bool)
    for c, s0, ln in zip(bad_cols, bad_start, bad_len):
        if x0 <= c < x0 + w:
            rows = slice(max(int(s0) - y0, 0), max(min(int(s0 + ln) - y0, h), 0))
            if rows.stop > rows.start:
                render.interpolate_columns(image, np.array([c - x0]), rows)
                bad[rows, c - x0] = True
    mb.set("BAD", bad)
    mb.set("INTRP", bad)
    # a dropped readout segment: no data
    nod = np.zeros((h, w), dtype=bool)
    ry = int(rng.integers(20, h - 20))
    rx = int(rng.integers(0, max(w - 150, 1)))
    nod[ry:ry + 2, rx:rx + int(rng.integers(60, 150))] = True
    image[nod] = 0.0
    mb.set("NO_DATA", nod)
    mb.border("EDGE", 10)
    pos, neg = render.detect(image, variance, psf, ignore=cr | nod)
    # background estimation on undetected pixels takes out the mean light of undetected faint objects
    bg_pixels = ~(pos | sat | cr | nod | bad)
    if bg_pixels.any():
        image -= np.float64(np.median(image[bg_pixels]))
    # the full well caps everything, cosmic rays and noise peaks included
    sat |= image >= sat_level
    image[sat] = sat_level
    image[nod] = 0.0
    mb.set("SAT", sat)
    mb.set("DETECTED", pos | sat)
    mb.set("DETECTED_NEGATIVE", neg)
    det_info = {
        "id": det.id, "name": det.full_name, "serial": det.serial, "bbox": (0, 0, det.nx, det.ny),
        "fp_mm": (det.fp_x_mm, det.fp_y_mm), "pixel_mm": camera.PIXEL_SIZE_MM,
        "physical_type": det.serial.split("-")[0],
    }
    primary = _visit_info_cards(v, det.full_name, det.serial)
    primary += [
        ("FILTER", v.physical_filter, ""),
        ("SATURATE", sat_level, "saturation level after background subtraction (ADU)"),
        ("GAIN", GAIN, "e-/ADU, all amplifiers"),
        ("SKYLEVEL", v.sky_adu, "subtracted sky background (ADU)"),
        ("SKYSIGMA", math.sqrt(v.bg_variance), "sky noise (ADU)"),
        ("SEEING", v.seeing_fwhm, "PSF FWHM (arcsec)"),
        ("MAGZERO", v.zero_point, "AB mag of one ADU"),
        ("MAGZERO_RMS", 0.005, ""),
        ("MAGZERO_NOBJ", 250, ""),
        ("CCDVISIT", v.id * 1000 + det.id, "visit * 1000 + detector"),
    ]
    stats = {"sat": int(sat.sum()), "cr": int(cr.sum()), "bad": int(bad.sum()),
             "no_data": int(nod.sum()), "detected": int(mb.has("DETECTED").sum()),
             "saturation_level": float(sat_level), "bg_variance": float(v.bg_variance)}
    return ExposureData(
        image=image.astype(np.float32), mask=mb.mask, variance=variance.astype(np.float32),
        xy0=(x0, y0), mask_planes=planes, wcs_cards=optics.detector_wcs_cards(v.pointing, det, (x0, y0)),
        primary_cards=primary, photo_calib=(v.calib_njy, v.calib_njy * 0.005),
        filter_label=(v.band, v.physical_filter), psf_sigma=psf, detector=det_info, stats=stats)


def _src_id_base(visit: int, detector: int) -> int:
    return (visit * 1000 + detector) << 22


@dataclass
class VisitDetectorCatalog:
    """The measured sources of one visit/detector, with sky coordinates and ids."""

    table: catalogs.Table
    ra: np.ndarray
    dec: np.ndarray
    ids: np.ndarray
    parent_ids: np.ndarray
    visit: Visit
    detector: int


def measure_visit_detector(content: SampleContent, visit: int, detector: int,
                           exposure: Optional[ExposureData] = None) -> VisitDetectorCatalog:
    """Sources found in one visit/detector (tier-A truth, S/N >= 5), flags from the mask if given."""
    v = content.visit_by_id[visit]
    det = DETECTOR_BY_ID[detector]
    spec = content.calexp_spec(visit, detector)
    bbox = spec.bbox if spec else (0, 0, det.nx, det.ny)
    objs, px, py = _truth_pixels_for_calexp(content, v, det, bbox, margin=0, tiers=(0,))
    rng = np.random.default_rng([content.seed, 4, visit, detector])
    theta = render.pa_to_theta(objs["pa"], v.pointing.cd)
    ctx = catalogs.ImageContext(
        shape=(bbox[3], bbox[2]), xy0=(bbox[0], bbox[1]), psf_sigma=v.psf_sigma_px,
        bg_variance=v.bg_variance, gain=GAIN, calib_njy=v.calib_njy,
        saturation=camera.SATURATION_ADU - v.sky_adu,
        mask=exposure.mask if exposure is not None else None,
        planes=exposure.mask_planes if exposure is not None else None)
    t = catalogs.measure(ctx, objs["id"], px, py, _fluxes(objs, v.band, v.zero_point),
                         objs["r_half"] / camera.PIXEL_SCALE_ARCSEC, objs["q"], theta, objs["is_star"], rng)
    ra, dec = optics.pixel_to_sky(v.pointing, det, t["x"], t["y"])
    n = len(t)
    ids = np.int64(_src_id_base(visit, detector)) + np.arange(1, n + 1, dtype=np.int64)
    parent_ids = (np.where(t["parent_index"] >= 0, ids[np.clip(t["parent_index"], 0, max(n - 1, 0))], 0)
                  if n else np.zeros(0, np.int64))
    return VisitDetectorCatalog(t, ra, dec, ids, parent_ids, v, detector)


def synthesize_src(content: SampleContent, visit: int, detector: int,
                   exposure: Optional[ExposureData] = None,
                   measured: Optional[VisitDetectorCatalog] = None) -> catalogs.AfwCatalog:
    """The ``src`` SourceCatalog of one visit/detector (afw layout, instFlux in ADU, radians)."""
    m = measured or measure_visit_detector(content, visit, detector, exposure)
    return catalogs.afw_source_catalog(m.table, m.ra, m.dec, _src_id_base(visit, detector),
                                       exposure_id=visit * 1000 + detector)


def source_table_rows(m: VisitDetectorCatalog) -> pd.DataFrame:
    v = m.visit
    return catalogs.source_table_dataframe(m.table, m.ids, m.parent_ids, m.ra, m.dec, v.id, m.detector,
                                           v.band, v.physical_filter, v.calib_njy)


def synthesize_source_table(content: SampleContent, visit: int,
                            measured: Optional[dict[int, VisitDetectorCatalog]] = None) -> pd.DataFrame:
    """``sourceTable`` of one visit: the rows of its detectors (calexp detectors, or all in large)."""
    measured = measured or {}
    parts = []
    for d in content.source_table_detectors(visit):
        m = measured.get(d)
        if m is None:
            m = measure_visit_detector(content, visit, d)
        parts.append(source_table_rows(m))
    if not parts:
        return catalogs.source_table_dataframe(catalogs.Table({k: np.zeros(0) for k in ()}), np.zeros(0), np.zeros(0),
                                               np.zeros(0), np.zeros(0), visit, 0, "", "", 1.0)
    return pd.concat(parts, ignore_index=True)


# ----- coadds ----------------------------------------------------------------------------------


def _tract(tract: int):
    from explorer.sky import dc2_skymap

    return dc2_skymap().tract(tract)


def _coadd_noise_njy(band: str, depth: int) -> float:
    """Per-pixel noise (nJy) of a coadd of ``depth`` average visits in ``band``."""
    zp_e = ZP_1E_PER_S[band] + 2.5 * math.log10(EXPOSURE_TIME)
    sky_e = 10.0 ** (-0.4 * (SKY_MAG[band] - zp_e)) * camera.PIXEL_SCALE_ARCSEC ** 2
    njy_per_e = catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * zp_e)
    return math.sqrt(sky_e + READ_NOISE_E ** 2) * njy_per_e / math.sqrt(depth)


def _coadd_objects(content: SampleContent, spec: CoaddSpec, margin: int = 60):
    t = _tract(spec.tract)
    x0, y0, w, h = spec.bbox
    xs = np.array([x0 - margin, x0 + w + margin, x0 + w + margin, x0 - margin])
    ys = np.array([y0 - margin, y0 - margin, y0 + h + margin, y0 + h + margin])
    ra, dec = t.pixel_to_sky(xs, ys)
    objs = content.truth.around(ra, dec, margin_deg=0.0)
    px, py = t.sky_to_pixel(objs["ra"], objs["dec"])
    px, py = np.asarray(px, float), np.asarray(py, float)
    keep = (px >= x0 - margin) & (px < x0 + w + margin) & (py >= y0 - margin) & (py < y0 + h + margin)
    return t, objs[keep], px[keep], py[keep]


def synthesize_coadd(content: SampleContent, tract: int, patch_x: int, patch_y: int, band: str) -> ExposureData:
    """``deepCoadd_calexp`` of one patch and band: nJy pixels, coadd mask planes, tract WCS."""
    spec = next(c for c in content.coadds if (c.tract, c.patch_x, c.patch_y) == (tract, patch_x, patch_y))
    x0, y0, w, h = spec.bbox
    t, objs, px, py = _coadd_objects(content, spec)
    rng = np.random.default_rng([content.seed, 2, tract, spec.patch_id, BANDS.index(band)])
    psf = COADD_PSF_FWHM / camera.PIXEL_SCALE_ARCSEC / 2.3548
    cd = np.array(t.wcs.wcs.cd)
    theta = render.pa_to_theta(objs["pa"], cd)
    flux = catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * objs[f"mag_{band}"].astype(float))
    sigma = _coadd_noise_njy(band, content.size.coadd_depth)
    model = render.render((h, w), (x0, y0), render.Sources(px, py, flux, objs["profile"],
                          objs["r_half"] / camera.PIXEL_SCALE_ARCSEC, objs["q"], theta), psf, sigma)
    planes = dict(COADD_MASK_PLANES)
    mb = render.MaskBuilder((h, w), planes)
    # saturated cores propagate from the inputs (flux above the single-visit full well)
    zp_e = ZP_1E_PER_S[band] + 2.5 * math.log10(EXPOSURE_TIME) - 2.5 * math.log10(GAIN)
    sat_level_njy = camera.SATURATION_ADU * catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * zp_e)
    sat = model >= sat_level_njy
    # variance: sky + source shot noise, scaled to nJy
    njy_per_adu = catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * zp_e)
    variance = sigma ** 2 + np.clip(model, 0, None) * njy_per_adu / GAIN / content.size.coadd_depth
    image = model + rng.standard_normal((h, w)) * np.sqrt(variance)
    mb.set("SAT", sat)
    mb.set("INTRP", sat)
    yy, xx = np.ogrid[y0:y0 + h, x0:x0 + w]
    # input-chip edges cross the patch: SENSOR_EDGE lines with INEXACT_PSF around them
    sens = np.zeros((h, w), dtype=bool)
    inexact = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(2, 5))):
        ang = rng.uniform(0, np.pi)
        c0 = rng.uniform(0, 1)
        nx_, ny_ = np.cos(ang), np.sin(ang)
        off = (x0 + c0 * w) * nx_ + (y0 + c0 * h) * ny_
        dist = np.abs(xx * nx_ + yy * ny_ - off)
        sens |= dist < 0.5
        inexact |= dist < 25
    mb.set("SENSOR_EDGE", sens)
    mb.set("INEXACT_PSF", inexact)
    # a satellite trail clipped out of the stack, and a few rejected pixels
    ang = rng.uniform(0, np.pi)
    off = (x0 + rng.uniform(0.2, 0.8) * w) * np.cos(ang) + (y0 + rng.uniform(0.2, 0.8) * h) * np.sin(ang)
    clipped = np.abs(xx * np.cos(ang) + yy * np.sin(ang) - off) < 2.0
    mb.set("CLIPPED", clipped)
    rej = rng.random((h, w)) < 2e-4
    mb.set("REJECTED", rej)
    # no inputs in a corner of the patch
    nod = (xx - x0) + (yy - y0) < int(0.04 * (w + h))
    image[nod] = np.nan
    variance[nod] = np.nan
    mb.set("NO_DATA", nod)
    mb.border("EDGE", 4)
    pos, neg = render.detect(image, np.where(nod, sigma ** 2, variance), psf, ignore=nod)
    mb.set("DETECTED", (pos | sat) & ~nod)
    mb.set("DETECTED_NEGATIVE", neg & ~nod)
    hdr = t.wcs.to_header()
    wcs_cards = []
    for key in ("WCSAXES", "CRPIX1", "CRPIX2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CUNIT1", "CUNIT2",
                "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "RADESYS"):
        if key in ("CD1_1", "CD1_2", "CD2_1", "CD2_2"):
            i, j = int(key[2]) - 1, int(key[4]) - 1
            wcs_cards.append((key, float(cd[i, j]), "Transformation matrix element"))
            continue
        if key not in hdr:
            continue
        val = hdr[key]
        if key == "CRPIX1":
            val = float(val) - x0
        elif key == "CRPIX2":
            val = float(val) - y0
        wcs_cards.append((key, val, hdr.comments[key]))
    primary = [
        ("FILTER", band, ""),
        ("BUNIT", "nJy", "pixel units"),
        ("SKYMAP", SKYMAP_NAME, ""), ("TRACT", tract, ""), ("PATCH", spec.patch_name, ""),
        ("PATCH_ID", spec.patch_id, "Gen3 patch id (sequential index)"),
        ("NINPUTS", content.size.coadd_depth, "visits stacked per pixel (typical)"),
        ("SEEING", COADD_PSF_FWHM, "PSF FWHM (arcsec)"),
    ]
    stats = {"sat": int(sat.sum()), "no_data": int(nod.sum()), "detected": int(mb.has("DETECTED").sum()),
             "noise_njy": float(sigma)}
    return ExposureData(
        image=image.astype(np.float32), mask=mb.mask, variance=variance.astype(np.float32), xy0=(x0, y0),
        mask_planes=planes, wcs_cards=wcs_cards, primary_cards=primary, photo_calib=(1.0, 0.0),
        filter_label=(band, band), psf_sigma=psf, detector=None, stats=stats)


@dataclass
class CoaddCatalogs:
    """The coadd measurements of one patch: reference detections and per-band forced photometry."""

    spec: CoaddSpec
    ids: np.ndarray
    parent_ids: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    detected_in: dict[str, np.ndarray]
    forced: dict[str, catalogs.Table]
    ref_table: catalogs.Table


def measure_coadd_patch(content: SampleContent, tract: int, patch_x: int, patch_y: int) -> CoaddCatalogs:
    """Detect on every band's coadd (S/N >= 5 in any band, both truth tiers), merge, force-measure.

    The reference position of an object is its centroid in the reference band (i if present);
    forced photometry in every band uses it, and blends found on the reference positions give the
    same parent rows (fluxes summed per band) in every band's table.
    """
    spec = next(c for c in content.coadds if (c.tract, c.patch_x, c.patch_y) == (tract, patch_x, patch_y))
    x0, y0, w, h = spec.bbox
    t, objs, px, py = _coadd_objects(content, spec, margin=0)
    psf = COADD_PSF_FWHM / camera.PIXEL_SCALE_ARCSEC / 2.3548
    theta = render.pa_to_theta(objs["pa"], np.array(t.wcs.wcs.cd))
    rh = objs["r_half"] / camera.PIXEL_SCALE_ARCSEC
    bands = content.size.coadd_bands
    ref_band = "i" if "i" in bands else bands[0]
    raw, ctxs = {}, {}
    for b in bands:
        sigma = _coadd_noise_njy(b, content.size.coadd_depth)
        ctxs[b] = catalogs.ImageContext((h, w), (x0, y0), psf, sigma ** 2, np.inf, 1.0, edge_width=4)
        flux = catalogs.NJY_AB_ZERO * 10.0 ** (-0.4 * objs[f"mag_{b}"].astype(float))
        rng = np.random.default_rng([content.seed, 5, tract, spec.patch_id, BANDS.index(b)])
        raw[b] = catalogs.measure_all(ctxs[b], objs["id"], px, py, flux, rh, objs["q"], theta,
                                      objs["is_star"], rng)
    ref_raw = raw[ref_band]
    det_any = np.zeros(len(objs), dtype=bool)
    for b in bands:
        det_any |= raw[b]["psfFlux"] / raw[b]["psfFluxErr"] >= 5.0
    keep = np.nonzero(det_any & catalogs.inside(ctxs[ref_band], ref_raw["x"], ref_raw["y"]))[0]
    ref_x, ref_y = ref_raw["x"][keep], ref_raw["y"][keep]
    families = catalogs.find_families(ref_x, ref_y, 2.0 * 2.355 * psf)
    forced = {}
    for b in bands:
        tb = raw[b].take(keep)
        tb["x"], tb["y"] = ref_x, ref_y
        forced[b] = catalogs.finish(ctxs[b], tb, families)
    ref = forced[ref_band]
    n = len(ref)
    id_base = (tract * 64 + spec.patch_id) << 32
    ids = np.int64(id_base) + np.arange(1, n + 1, dtype=np.int64)
    parent_ids = (np.where(ref["parent_index"] >= 0, ids[np.clip(ref["parent_index"], 0, max(n - 1, 0))], 0)
                  if n else np.zeros(0, np.int64))
    ra, dec = t.pixel_to_sky(ref["x"], ref["y"])
    detected_in = {b: np.asarray(forced[b]["psfFlux"] / forced[b]["psfFluxErr"] >= 5.0) for b in bands}
    return CoaddCatalogs(spec, ids, parent_ids, np.asarray(ra) % 360.0, np.asarray(dec), detected_in, forced, ref)


def synthesize_merge_det(cc: CoaddCatalogs) -> catalogs.AfwCatalog:
    return catalogs.afw_merge_det(cc.ra, cc.dec, cc.ids, cc.parent_ids, cc.ref_table["nChild"], cc.detected_in)


def synthesize_forced_src(cc: CoaddCatalogs, band: str) -> catalogs.AfwCatalog:
    tb = cc.forced[band]
    id_base = int(cc.ids[0]) - 1 if len(cc.ids) else 0
    cat = catalogs.afw_source_catalog(tb, cc.ra, cc.dec, id_base, forced=True)
    return cat


def synthesize_object_table(cc: CoaddCatalogs, bands: tuple[str, ...]) -> pd.DataFrame:
    """DP0.2-style ``objectTable`` of one patch: one row per object, per-band columns in nJy."""
    ref = cc.ref_table
    spec = cc.spec
    x0, y0, w, h = spec.bbox
    from explorer.sky import dc2_skymap

    ib = dc2_skymap().tract(spec.tract).patch(spec.patch_x, spec.patch_y).inner_bbox
    inner = ((ref["x"] >= ib[0] - 0.5) & (ref["x"] < ib[0] + ib[2] - 0.5)
             & (ref["y"] >= ib[1] - 0.5) & (ref["y"] < ib[1] + ib[3] - 0.5))
    df = pd.DataFrame({
        "objectId": cc.ids, "parentObjectId": cc.parent_ids,
        "coord_ra": cc.ra, "coord_dec": cc.dec,
        "x": ref["x"], "y": ref["y"],
        "tract": np.full(len(ref), spec.tract, np.int64), "patch": np.full(len(ref), spec.patch_id, np.int64),
        "refBand": pd.Series(["i" if "i" in bands else bands[0]] * len(ref), dtype=object),
        "refExtendedness": ref["extendedness"],
        "deblend_nChild": ref["nChild"].astype(np.int32),
        "detect_isPatchInner": inner,
        "detect_isPrimary": inner & (ref["nChild"] == 0),
    })
    for b in bands:
        tb = cc.forced[b]
        df[f"{b}_psfFlux"] = tb["psfFlux"]
        df[f"{b}_psfFluxErr"] = tb["psfFluxErr"]
        df[f"{b}_kronFlux"] = tb["kronFlux"]
        df[f"{b}_kronFluxErr"] = tb["kronFluxErr"]
        df[f"{b}_apFlux"] = tb["apFlux"]
        df[f"{b}_apFluxErr"] = tb["apFluxErr"]
        df[f"{b}_extendedness"] = tb["extendedness"]
        df[f"{b}_pixelFlags_saturated"] = tb["flag_saturated"]
    # DP0.2 names its PSF flux columns <band>_psfFlux; the Stack Club notebooks use <band>_psFlux too
    for b in bands:
        df[f"{b}_psFlux"] = df[f"{b}_psfFlux"]
        df[f"{b}_psFluxErr"] = df[f"{b}_psfFluxErr"]
    return df


# ----- every file of the sample, in writing order -------------------------------------------------


@dataclass
class Product:
    """One file of the sample: what it is, its Gen3 data ID, and how to make its content.

    ``kind`` is "exposure" (``make()`` returns :class:`ExposureData`, write with
    ``afwfits.write_exposure``), "afw_catalog" (an ``AfwCatalog``, ``afwfits.write_source_catalog``)
    or "dataframe" (a ``pandas.DataFrame``, ``afwfits.write_parquet``). ``data_id`` uses Gen3 keys
    (patch = sequential index); ``info`` adds what a Gen2 template needs (filter, raftName,
    detectorName, visit, tract, patch as "x,y"). ``on_disk`` is False for the one missing calexp:
    write it, register it, then delete it.
    """

    dataset_type: str
    data_id: dict
    kind: str
    make: Callable[[], object]
    info: dict = field(default_factory=dict)
    on_disk: bool = True


def iter_products(content: SampleContent):
    """Yield every :class:`Product` of the sample in a streaming order (visits, then coadd patches).

    Calling ``make()`` on each product before asking for the next reuses work (the calexp's mask
    gives its src flags; a visit's src rows make its sourceTable); products made out of order are
    still correct, just recomputed.
    """
    inst = content.instrument
    st_visits = set(content.source_table_visits())
    by_visit: dict[int, list[CalexpSpec]] = {}
    for spec in content.calexps:
        by_visit.setdefault(spec.visit, []).append(spec)
    for v in content.visits:
        specs = by_visit.get(v.id, [])
        if not specs and v.id not in st_visits:
            continue
        exposures: dict[int, ExposureData] = {}
        measured: dict[int, VisitDetectorCatalog] = {}
        for spec in specs:
            det = DETECTOR_BY_ID[spec.detector]
            data_id = {"instrument": inst, "visit": v.id, "detector": spec.detector}
            info = {"visit": v.id, "band": v.band, "filter": v.physical_filter, "detector": det.id,
                    "raftName": det.raft, "detectorName": det.name_in_raft, "bbox": spec.bbox}

            def make_calexp(v=v, spec=spec, exposures=exposures):
                exposures[spec.detector] = synthesize_calexp(content, v.id, spec.detector)
                return exposures[spec.detector]

            def make_src(v=v, spec=spec, exposures=exposures, measured=measured):
                exp = exposures.pop(spec.detector, None) or synthesize_calexp(content, v.id, spec.detector)
                measured[spec.detector] = measure_visit_detector(content, v.id, spec.detector, exp)
                return synthesize_src(content, v.id, spec.detector, measured=measured[spec.detector])

            yield Product("calexp", data_id, "exposure", make_calexp, info, spec.on_disk)
            yield Product("src", dict(data_id), "afw_catalog", make_src, dict(info))
        if v.id in st_visits:
            def make_source_table(v=v, measured=measured, specs=specs):
                for spec in specs:  # src products not made yet: measure them now (with their masks)
                    if spec.detector not in measured:
                        exp = synthesize_calexp(content, v.id, spec.detector)
                        measured[spec.detector] = measure_visit_detector(content, v.id, spec.detector, exp)
                return synthesize_source_table(content, v.id, measured)

            yield Product("sourceTable", {"instrument": inst, "visit": v.id}, "dataframe", make_source_table,
                          {"visit": v.id, "band": v.band, "filter": v.physical_filter})
    for spec in content.coadds:
        pid = {"skymap": SKYMAP_NAME, "tract": spec.tract, "patch": spec.patch_id}
        pinfo = {"tract": spec.tract, "patch": spec.patch_name, "patch_id": spec.patch_id, "bbox": spec.bbox}
        for band in content.size.coadd_bands:
            def make_coadd(spec=spec, band=band):
                return synthesize_coadd(content, spec.tract, spec.patch_x, spec.patch_y, band)

            yield Product("deepCoadd_calexp", dict(pid, band=band), "exposure", make_coadd,
                          dict(pinfo, band=band, filter=band))
        cache: dict[str, CoaddCatalogs] = {}

        def catalogs_of(spec=spec, cache=cache) -> CoaddCatalogs:
            if "cc" not in cache:
                cache["cc"] = measure_coadd_patch(content, spec.tract, spec.patch_x, spec.patch_y)
            return cache["cc"]

        yield Product("deepCoadd_mergeDet", dict(pid), "afw_catalog",
                      lambda catalogs_of=catalogs_of: synthesize_merge_det(catalogs_of()), dict(pinfo))
        for band in content.size.coadd_bands:
            yield Product("deepCoadd_forced_src", dict(pid, band=band), "afw_catalog",
                          lambda band=band, catalogs_of=catalogs_of: synthesize_forced_src(catalogs_of(), band),
                          dict(pinfo, band=band, filter=band))
        yield Product("objectTable", dict(pid), "dataframe",
                      lambda catalogs_of=catalogs_of: synthesize_object_table(catalogs_of(), content.size.coadd_bands),
                      dict(pinfo))


__all__ = [
    "SampleContent", "SizeConfig", "SIZES", "Visit", "CalexpSpec", "CoaddSpec", "ExposureData",
    "build_content", "Product", "iter_products", "synthesize_calexp", "synthesize_src", "measure_visit_detector",
    "synthesize_source_table",
    "source_table_rows", "synthesize_coadd", "measure_coadd_patch", "synthesize_merge_det",
    "synthesize_forced_src", "synthesize_object_table", "TRUTH_DTYPE",
    "CALEXP_MASK_PLANES", "COADD_MASK_PLANES", "SKYMAP_NAME", "TRACTS", "FOCUS",
    "RUN_CALEXP", "RUN_COADD", "RUN_SKYMAPS", "CHAIN_DEFAULTS", "CHAIN_RUNS",
]
