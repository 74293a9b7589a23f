"""The files of one coadd patch: the coadd of each band and its catalogs (detections, forced, objects).

Synthesised deterministically from the seed (:mod:`explorer.sample.plan`): the truth sky on the
tract's WCS at the coadd depth and PSF, detected in every band, merged, and force-measured.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import camera, catalog_layouts, catalogs, render
from .camera import BANDS, GAIN, READ_NOISE_E
from .plan import (
    COADD_MASK_PLANES,
    COADD_PSF_FWHM,
    EXPOSURE_TIME,
    SKYMAP_NAME,
    SKY_MAG,
    ZP_1E_PER_S,
    CoaddSpec,
    SampleContent,
)
from .visit_files import ExposureData


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


def synthesize_merge_det(cc: CoaddCatalogs) -> catalog_layouts.AfwCatalog:
    """``deepCoadd_mergeDet`` of one patch: the merged detections, with the bands each was found in."""
    return catalog_layouts.afw_merge_det(cc.ra, cc.dec, cc.ids, cc.parent_ids, cc.ref_table["nChild"], cc.detected_in)


def synthesize_forced_src(cc: CoaddCatalogs, band: str) -> catalog_layouts.AfwCatalog:
    """``deepCoadd_forced_src`` of one patch and band: forced photometry on the reference positions."""
    tb = cc.forced[band]
    id_base = int(cc.ids[0]) - 1 if len(cc.ids) else 0
    cat = catalog_layouts.afw_source_catalog(tb, cc.ra, cc.dec, id_base, forced=True)
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
