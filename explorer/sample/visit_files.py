"""The files of one visit/detector: its calexp (image, mask, variance, metadata) and source catalogs.

Synthesised deterministically from the seed (:mod:`explorer.sample.plan`), so that the Gen3 and
Gen2 writers produce identical pixels and rows: the truth sky rendered through the visit's optics
and PSF with sky noise, then measured (tier-A truth, S/N >= 5) into ``src`` and ``sourceTable``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from . import camera, catalog_layouts, catalogs, optics, render
from .camera import DETECTOR_BY_ID, GAIN, INSTRUMENT, READ_NOISE_E
from .plan import CALEXP_MASK_PLANES, EXPOSURE_TIME, OBSERVATORY, SampleContent, Visit


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
                   measured: Optional[VisitDetectorCatalog] = None) -> catalog_layouts.AfwCatalog:
    """The ``src`` SourceCatalog of one visit/detector (afw layout, instFlux in ADU, radians)."""
    m = measured or measure_visit_detector(content, visit, detector, exposure)
    return catalog_layouts.afw_source_catalog(m.table, m.ra, m.dec, _src_id_base(visit, detector),
                                       exposure_id=visit * 1000 + detector)


def source_table_rows(m: VisitDetectorCatalog) -> pd.DataFrame:
    """One visit/detector's measured sources as ``sourceTable`` rows (fluxes in nJy)."""
    v = m.visit
    return catalog_layouts.source_table_dataframe(m.table, m.ids, m.parent_ids, m.ra, m.dec, v.id, m.detector,
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
        empty = np.zeros(0)
        return catalog_layouts.source_table_dataframe(catalogs.Table({}), empty, empty, empty, empty, visit, 0,
                                                      "", "", 1.0)
    return pd.concat(parts, ignore_index=True)
