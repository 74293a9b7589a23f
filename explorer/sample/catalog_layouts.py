"""The sample's measured catalogs laid out as the pipelines write them.

:func:`afw_source_catalog` and :func:`afw_merge_det` lay a :class:`~explorer.sample.catalogs.Table`
out as afw SourceCatalog schemas (fields, packed flags, aliases, header cards) for
``afwfits.write_source_catalog``; :func:`source_table_dataframe` as the parquet ``sourceTable`` rows
of the Gen3 era (fluxes in nJy, angles in degrees). The measurements themselves are made by
:mod:`explorer.sample.catalogs`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .catalogs import PIXEL_FLAGS, SRC_FLAGS, Table

# ----- afw SourceCatalog layout -----------------------------------------------------------------


@dataclass
class AfwField:
    """One field of an afw table schema: name, numpy dtype, doc, unit and afw class (TCCLS)."""

    name: str
    dtype: str  # numpy dtype
    doc: str
    unit: str = ""
    cls: str = "Scalar"  # TCCLS


@dataclass
class AfwCatalog:
    """An afw SourceCatalog ready to write: fields, flag bits and header keywords."""

    fields: list[AfwField]
    data: dict[str, np.ndarray]
    flag_names: list[str]
    flag_docs: list[str]
    flags: np.ndarray  # (n, n_flags) bool
    aliases: list[str] = field(default_factory=list)
    header: list[tuple] = field(default_factory=list)  # extra cards for the table HDU

    def __len__(self) -> int:
        return int(self.flags.shape[0])


def _ids(prefix: int, n: int) -> np.ndarray:
    return np.int64(prefix) + np.arange(1, n + 1, dtype=np.int64)


def afw_source_catalog(t: Table, ra_deg: np.ndarray, dec_deg: np.ndarray, id_base: int,
                       forced: bool = False, exposure_id: int = 0) -> AfwCatalog:
    """Lay out a measured table as an afw SourceCatalog (src / deepCoadd_forced_src schema)."""
    n = len(t)
    ids = _ids(id_base, n)
    parent = (np.where(t["parent_index"] >= 0, ids[np.clip(t["parent_index"], 0, max(n - 1, 0))], 0)
              if n else np.zeros(0, np.int64))
    cen = "base_TransformedCentroid" if forced else "base_SdssCentroid"
    centroid_from = "transformed reference" if forced else "Sdss Centroid algorithm"
    f64, f32 = "f8", "f4"
    fields = [
        AfwField("id", "i8", "unique ID"),
        AfwField("coord_ra", f64, "position in ra/dec", "rad", "Angle"),
        AfwField("coord_dec", f64, "position in ra/dec", "rad", "Angle"),
        AfwField("parent", "i8", "unique ID of parent source"),
        AfwField("deblend_nChild", "i4", "Number of children this object has (defaults to 0)"),
        AfwField(f"{cen}_x", f64, f"centroid from {centroid_from}", "pixel"),
        AfwField(f"{cen}_y", f64, f"centroid from {centroid_from}", "pixel"),
    ]
    if not forced:
        fields += [AfwField(f"{cen}_xErr", f32, "1-sigma uncertainty on x position", "pixel"),
                   AfwField(f"{cen}_yErr", f32, "1-sigma uncertainty on y position", "pixel"),
                   AfwField("base_SdssShape_xx", f64, "elliptical Gaussian adaptive moments", "pixel^2"),
                   AfwField("base_SdssShape_yy", f64, "elliptical Gaussian adaptive moments", "pixel^2"),
                   AfwField("base_SdssShape_xy", f64, "elliptical Gaussian adaptive moments", "pixel^2")]
    fields += [
        AfwField("base_CircularApertureFlux_12_0_instFlux", f64, "instFlux within 12.000000-pixel aperture", "count"),
        AfwField("base_CircularApertureFlux_12_0_instFluxErr", f64, "1-sigma instFlux uncertainty", "count"),
        AfwField("base_PsfFlux_instFlux", f64, "instFlux derived from linear least-squares fit of PSF model", "count"),
        AfwField("base_PsfFlux_instFluxErr", f64, "1-sigma instFlux uncertainty", "count"),
        AfwField("base_PsfFlux_area", f32, "effective area of PSF", "pixel"),
        AfwField("ext_photometryKron_KronFlux_instFlux", f64, "flux from Kron Flux algorithm", "count"),
        AfwField("ext_photometryKron_KronFlux_instFluxErr", f64, "1-sigma instFlux uncertainty", "count"),
        AfwField("ext_photometryKron_KronFlux_radius", f32, "Kron radius (sqrt(a*b))"),
        AfwField("base_ClassificationExtendedness_value", f64, "Set to 1 for extended sources, 0 for point sources."),
        AfwField("base_FootprintArea_value", "i4", "Number of pixels in the source's detection footprint.", "pixel"),
    ]
    so2 = 0.5 * (t["xx"] + t["yy"]) if n else np.zeros(0)
    data = {
        "id": ids, "coord_ra": np.radians(ra_deg), "coord_dec": np.radians(dec_deg), "parent": parent,
        "deblend_nChild": t["nChild"].astype(np.int32),
        f"{cen}_x": t["x"], f"{cen}_y": t["y"],
        "base_CircularApertureFlux_12_0_instFlux": t["apFlux"],
        "base_CircularApertureFlux_12_0_instFluxErr": t["apFluxErr"],
        "base_PsfFlux_instFlux": t["psfFlux"], "base_PsfFlux_instFluxErr": t["psfFluxErr"],
        "base_PsfFlux_area": np.full(n, 0.0, np.float32) + (4 * np.pi * np.median(so2) if n else 0.0),
        "ext_photometryKron_KronFlux_instFlux": t["kronFlux"],
        "ext_photometryKron_KronFlux_instFluxErr": t["kronFluxErr"],
        "ext_photometryKron_KronFlux_radius": t["kronRadius"],
        "base_ClassificationExtendedness_value": t["extendedness"],
        "base_FootprintArea_value": np.round(np.pi * 9.0 * so2).astype(np.int32),
    }
    if not forced:
        data.update({f"{cen}_xErr": t["xErr"], f"{cen}_yErr": t["yErr"],
                     "base_SdssShape_xx": t["xx"], "base_SdssShape_yy": t["yy"], "base_SdssShape_xy": t["xy"]})
    names = [f for f, _ in SRC_FLAGS]
    docs = [d for _, d in SRC_FLAGS]
    if forced:
        drop = {"calib_detected", "calib_psf_candidate", "calib_psf_used", "calib_psf_reserved",
                "calib_astrometry_used", "calib_photometry_used", "calib_photometry_reserved",
                "base_SdssShape_flag"}
        keep = [i for i, nme in enumerate(names) if nme not in drop]
        names = [names[i].replace("base_SdssCentroid", cen) for i in keep]
        docs = [docs[i] for i in keep]
    flags = np.zeros((n, len(names)), dtype=bool)
    col = {nme: i for i, nme in enumerate(names)}

    def setf(name, values):
        if name in col:
            flags[:, col[name]] = values

    for name, _, _ in PIXEL_FLAGS:
        setf(f"base_PixelFlags_flag_{name}", t[f"flag_{name}"])
    edge = t["flag_edge"]
    satc = t["flag_saturatedCenter"]
    setf("base_PixelFlags_flag", np.zeros(n, bool))
    setf("base_PsfFlux_flag", satc | edge)
    setf("base_PsfFlux_flag_edge", edge)
    setf(f"{cen}_flag", satc)
    setf(f"{cen}_flag_edge", edge)
    setf("ext_photometryKron_KronFlux_flag", satc | edge)
    setf("ext_photometryKron_KronFlux_flag_edge", edge)
    setf("base_ClassificationExtendedness_flag", satc)
    setf("deblend_deblendedAsPsf", (t["parent_index"] >= 0) & t["is_star"])
    if not forced:
        snr = t["psfFlux"] / t["psfFluxErr"]
        cand = t["is_star"] & (snr > 50) & ~t["flag_saturated"] & ~edge & ~t["is_parent"] & (t["parent_index"] < 0)
        # deterministic 20 % reserve, from the object order
        reserve = cand & (np.arange(n) % 5 == 0)
        setf("calib_detected", snr > 10)
        setf("calib_psf_candidate", cand)
        setf("calib_psf_used", cand & ~reserve)
        setf("calib_psf_reserved", reserve)
        setf("calib_astrometry_used", (snr > 20) & ~t["flag_saturated"] & ~t["is_parent"])
        setf("calib_photometry_used", cand & ~reserve)
        setf("calib_photometry_reserved", reserve)
    aliases = [f"slot_Centroid:{cen}", "slot_PsfFlux:base_PsfFlux", "slot_ApFlux:base_CircularApertureFlux_12_0",
               "slot_CalibFlux:base_CircularApertureFlux_12_0", "slot_ModelFlux:ext_photometryKron_KronFlux"]
    if not forced:
        aliases.append("slot_Shape:base_SdssShape")
    header = [("base_CircularApertureFlux_radii", 12.0, ""),
              ("ext_photometryKron_KronFlux_nRadiusForFlux", 2.5, "")]
    if exposure_id:
        header.append(("NOISE_EXPOSURE_ID", int(exposure_id), ""))
    return AfwCatalog(fields, data, names, docs, flags, aliases, header)


def afw_merge_det(ra_deg: np.ndarray, dec_deg: np.ndarray, ids: np.ndarray, parent: np.ndarray,
                  n_child: np.ndarray, detected_in: dict[str, np.ndarray]) -> AfwCatalog:
    """deepCoadd_mergeDet: the union of the per-band coadd detections, with merge_* flags."""
    n = len(ids)
    fields = [
        AfwField("id", "i8", "unique ID"),
        AfwField("coord_ra", "f8", "position in ra/dec", "rad", "Angle"),
        AfwField("coord_dec", "f8", "position in ra/dec", "rad", "Angle"),
        AfwField("parent", "i8", "unique ID of parent source"),
        AfwField("deblend_nChild", "i4", "Number of children this object has (defaults to 0)"),
    ]
    data = {"id": ids, "coord_ra": np.radians(ra_deg), "coord_dec": np.radians(dec_deg), "parent": parent,
            "deblend_nChild": n_child.astype(np.int32)}
    names, docs, cols = [], [], []
    for band, det in detected_in.items():
        names += [f"merge_footprint_{band}", f"merge_peak_{band}"]
        docs += [f"Detection footprint overlapped with a detection from filter {band}",
                 f"Peak detected in filter {band}"]
        cols += [det, det]
    names += ["merge_footprint_sky", "merge_peak_sky"]
    docs += ["Detection footprint overlapped with a detection from filter sky", "Peak detected in filter sky"]
    cols += [np.zeros(n, bool), np.zeros(n, bool)]
    flags = np.column_stack(cols) if cols else np.zeros((n, 0), bool)
    return AfwCatalog(fields, data, names, docs, flags, [], [])


# ----- parquet tables ---------------------------------------------------------------------------


def source_table_dataframe(t: Table, source_ids: np.ndarray, parent_ids: np.ndarray, ra_deg: np.ndarray,
                           dec_deg: np.ndarray, visit: int, detector: int, band: str, physical_filter: str,
                           calib_njy: float) -> pd.DataFrame:
    """One detector's rows of a DP0.2-style ``sourceTable`` (fluxes in nJy, angles in degrees)."""
    n = len(t)
    return pd.DataFrame({
        "sourceId": source_ids.astype(np.int64),
        "coord_ra": ra_deg, "coord_dec": dec_deg, "ra": ra_deg, "dec": dec_deg,
        "visit": np.full(n, visit, np.int64), "detector": np.full(n, detector, np.int64),
        "ccdVisitId": np.full(n, visit * 1000 + detector, np.int64),
        "band": pd.Series([band] * n, dtype=object), "physical_filter": pd.Series([physical_filter] * n, dtype=object),
        "parentSourceId": parent_ids.astype(np.int64),
        "x": t["x"], "y": t["y"], "xErr": t["xErr"], "yErr": t["yErr"],
        "psFlux": t["psfFlux"] * calib_njy, "psFluxErr": t["psfFluxErr"] * calib_njy,
        "apFlux": t["apFlux"] * calib_njy, "apFluxErr": t["apFluxErr"] * calib_njy,
        "kronFlux": t["kronFlux"] * calib_njy, "kronFluxErr": t["kronFluxErr"] * calib_njy,
        "ixx": t["xx"], "iyy": t["yy"], "ixy": t["xy"],
        "extendedness": t["extendedness"],
        "deblend_nChild": t["nChild"].astype(np.int32),
        "detect_isPrimary": (t["nChild"] == 0),
        "pixelFlags_saturated": t["flag_saturated"], "pixelFlags_saturatedCenter": t["flag_saturatedCenter"],
        "pixelFlags_cr": t["flag_cr"], "pixelFlags_bad": t["flag_bad"], "pixelFlags_edge": t["flag_edge"],
        "pixelFlags_interpolated": t["flag_interpolated"], "pixelFlags_suspect": t["flag_suspect"],
    })
