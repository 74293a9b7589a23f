"""The afw archive of an exposure file, and the metadata afw stores in headers, read without afw.

``AR_HDU`` (1-based) in the primary header locates ARCHIVE_INDEX, whose rows (``id``,
``cat.archive``, ``cat.persistable``, ``row0``, ``nrows``, ``name``, ``module``; ``cat_archive``
in very old files) locate the PhotoCalib, FilterLabel, Detector and PSF rows named by the
primary's ``*_ID`` / ``ARCHIVE_ID_*`` cards. Catalog number ``cat.archive = k`` is the k-th HDU
after the index. VisitInfo lives in header cards (EXPTIME, DATE-AVG, BORE-RA, ...).

Calibration: ``FLUXMAG0`` (old files; 0 means unset) or the PhotoCalib ``calibrationMean``
(nJy per count). Zero point (AB mag of one count) = 2.5 log10(FLUXMAG0)
= -2.5 log10(calibrationMean * 1e-9 / 3631).
"""
from __future__ import annotations

import math
import re
from typing import Any, Optional

import numpy as np

from .fitsio import clean_str, header_value, pixel_scale_arcsec
from .model import PsfModel

MAX_ARCHIVE_ROWS = 100_000  # bound on the ARCHIVE_INDEX rows read


AB_FLUX_NJY = 3631e9  # flux of AB magnitude 0, in nJy


VISIT_INFO_CARDS: dict[str, tuple[str, ...]] = {
    "exposure_id": ("IDNUM", "EXPID", "EXP-ID", "OBSID"),
    "exposure_time": ("EXPTIME",),  # s
    "dark_time": ("DARKTIME",),  # s
    "date": ("DATE-AVG",),  # ISO, in time_system
    "time_system": ("TIMESYS",),
    "date_obs": ("DATE-OBS",),  # start of exposure
    "mjd_obs": ("MJD-OBS",),
    "ut1": ("UT1",),
    "era": ("ERA",),  # earth rotation angle, deg
    "boresight_ra": ("BORE-RA",),  # deg
    "boresight_dec": ("BORE-DEC",),  # deg
    "boresight_az": ("BORE-AZ",),  # deg
    "boresight_alt": ("BORE-ALT",),  # deg
    "boresight_airmass": ("BORE-AIRMASS", "AIRMASS"),
    "boresight_rot_angle": ("ROTANG", "ROTANGLE"),  # deg
    "rot_type": ("ROTTYPE",),
    "observatory_longitude": ("OBS-LONG",),  # deg
    "observatory_latitude": ("OBS-LAT",),  # deg
    "observatory_elevation": ("OBS-ELEV",),  # m
    "air_temperature": ("AIRTEMP",),  # C
    "air_pressure": ("AIRPRESS",),  # Pa
    "humidity": ("HUMIDITY",),  # percent
    "instrument": ("INSTRUMENT", "INSTRUME"),
    "telescope": ("TELESCOP",),
    "focus_z": ("FOCUSZ",),  # mm
    "observation_type": ("OBSTYPE", "IMGTYPE", "DATA-TYP"),
    "science_program": ("PROGRAM", "PROP-ID"),
    "observation_reason": ("REASON",),
    "object": ("OBJECT",),
    "has_simulated_content": ("HAS-SIMULATED-CONTENT", "SIMULATE"),
    "filter": ("FILTER",),
}


def decode_cell(value: Any) -> Any:
    """A FITS table cell as plain Python (variable-length char arrays become strings)."""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "US":  # afw 'PA' strings come back one character per element
            return "".join(c if c else " " for c in value.tolist()).strip()
        if value.size <= 64:
            return value.tolist()
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


class AfwArchive:
    """The afw archive of an exposure: the index rows and on-demand access to the data rows."""

    def __init__(self, path: str, hdus: list, primary_hdr):
        self.path = path
        self.hdus = hdus
        self.rows: list[dict[str, Any]] = []
        self.index_hdu: Optional[int] = None
        ar_hdu = primary_hdr.get("AR_HDU")
        idx = None
        if isinstance(ar_hdu, (int, np.integer)) and 1 <= int(ar_hdu) <= len(hdus):
            idx = int(ar_hdu) - 1  # AR_HDU is 1-based
        if idx is None or str(hdus[idx].header.get("EXTTYPE", "")).strip() != "ARCHIVE_INDEX":
            idx = next((i for i, h in enumerate(hdus)
                        if str(h.header.get("EXTTYPE", "")).strip() == "ARCHIVE_INDEX"
                        or str(h.header.get("EXTNAME", "")).strip() == "ARCHIVE_INDEX"), None)
        if idx is None:
            return
        self.index_hdu = idx
        hdu = hdus[idx]
        nrows = int(hdu.header.get("NAXIS2", 0) or 0)
        if nrows <= 0:
            return
        data = hdu.data
        names = {n.lower(): n for n in data.columns.names}

        def col(*cands: str) -> Optional[str]:
            return next((names[c] for c in cands if c in names), None)

        c_id, c_ar, c_ps = col("id"), col("cat.archive", "cat_archive"), col("cat.persistable", "cat_persistable")
        c_r0, c_nr, c_nm, c_md = col("row0"), col("nrows"), col("name"), col("module")
        n = min(nrows, MAX_ARCHIVE_ROWS)

        def ints(c: Optional[str], default: Optional[int]) -> list:
            return [default] * n if c is None else [int(v) for v in np.asarray(data[c][:n]).tolist()]

        def strs(c: Optional[str]) -> list:
            if c is None:
                return [None] * n
            return [(v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)).strip()
                    for v in np.asarray(data[c][:n]).tolist()]

        columns = zip(ints(c_id, None), strs(c_nm), strs(c_md), ints(c_ar, None), ints(c_ps, 0),
                      ints(c_r0, 0), ints(c_nr, 0))
        for aid, name, module, cat, pers, row0, nr in columns:
            self.rows.append({"id": aid, "name": name, "module": module, "cat_archive": cat,
                              "cat_persistable": pers, "row0": row0, "nrows": nr,
                              "hdu": idx + cat if cat is not None else None})

    def find(self, archive_id: Optional[int], name: Optional[str] = None, persistable: int = 0) -> Optional[dict]:
        for row in self.rows:
            if archive_id is not None and row["id"] != archive_id:
                continue
            if name is not None and row["name"] != name:
                continue
            if row["cat_persistable"] == persistable:
                return row
        return None

    def records(self, row: dict, limit: int = 1) -> list[dict[str, Any]]:
        """The first ``limit`` data rows an index row points at, as plain dicts."""
        hdu_i = row.get("hdu")
        if hdu_i is None or not (0 <= hdu_i < len(self.hdus)):
            return []
        hdu = self.hdus[hdu_i]
        n = int(hdu.header.get("NAXIS2", 0) or 0)
        data = hdu.data
        out = []
        for k in range(row["row0"], min(row["row0"] + max(row["nrows"], 1), row["row0"] + limit, n)):
            rec = data[k]
            out.append({name: decode_cell(rec[name]) for name in data.columns.names})
        return out


def _archive_id(primary_hdr, component: str, *old: str) -> Optional[int]:
    for key in (f"ARCHIVE_ID_{component}", f"{component}_ID") + old:
        v = primary_hdr.get(key)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return int(v)
    return None


def _component(archive: AfwArchive, primary_hdr, component: str, *old: str) -> Optional[tuple[dict, dict]]:
    aid = _archive_id(primary_hdr, component, *old)
    if aid is None:
        return None
    row = archive.find(aid)
    if row is None:
        return None
    recs = archive.records(row)
    return (row, recs[0]) if recs else None


def photo_calib(archive: AfwArchive, primary) -> tuple[Optional[dict], Optional[float]]:
    fm0 = primary.get("FLUXMAG0")
    if isinstance(fm0, (int, float)) and not isinstance(fm0, bool) and math.isfinite(fm0) and fm0 > 0:
        err = primary.get("FLUXMAG0ERR")
        mean = AB_FLUX_NJY / fm0  # nJy per count, as afw converts an old Calib to a PhotoCalib
        calib = {"mean": mean}
        if isinstance(err, (int, float)) and math.isfinite(err):
            calib["err"] = mean * err / fm0
        return calib, 2.5 * math.log10(fm0)
    comp = _component(archive, primary, "PHOTOCALIB")
    if comp is None:
        return None, None
    rec = comp[1]
    mean = rec.get("calibrationMean")
    if not isinstance(mean, (int, float)) or not math.isfinite(mean) or mean <= 0:
        return None, None
    calib = {"mean": float(mean)}
    err = rec.get("calibrationErr")
    if isinstance(err, (int, float)) and math.isfinite(err):
        calib["err"] = float(err)
    return calib, -2.5 * math.log10(mean * 1e-9 / 3631.0)


_BAND_RE = re.compile(r"^[ugrizyYUBVRIJHK]$")


def filter_label(archive: AfwArchive, primary) -> Optional[dict]:
    comp = _component(archive, primary, "FILTER")
    if comp is not None and comp[0]["name"] == "FilterLabel":
        rec = comp[1]
        flags = rec.get("flags") or [True, True]
        band = rec.get("band") if flags and flags[0] else None
        physical = rec.get("physical") if len(flags) > 1 and flags[1] else None
        return {"band": band or None, "physical": physical or None}
    name = clean_str(primary.get("FILTER"))
    if not name or name == "_unknown_":
        return None
    # Old afw files store a filter *name*; a single-letter one is a band, anything else a physical filter.
    if _BAND_RE.match(name):
        return {"band": name, "physical": None}
    return {"band": None, "physical": name}


def detector(archive: AfwArchive, primary) -> Optional[dict]:
    det: dict[str, Any] = {}
    comp = _component(archive, primary, "DETECTOR")
    if comp is not None and comp[0]["name"] == "Detector":
        rec = comp[1]
        det = {"id": rec.get("id"), "name": rec.get("name"), "serial": rec.get("serial")}
        if rec.get("physicalType"):
            det["physical_type"] = rec["physicalType"]
    name = clean_str(primary.get("DETNAME")) or clean_str(primary.get("CHIPID"))
    serial = clean_str(primary.get("DETSER"))
    if name and not det.get("name"):
        det["name"] = name
    if serial and not det.get("serial"):
        det["serial"] = serial
    if not det:
        return None
    det.setdefault("id", None)
    det.setdefault("name", None)
    det.setdefault("serial", None)
    return det


def psf_model(archive: AfwArchive, primary, wcs, shape) -> Optional[PsfModel]:
    aid = _archive_id(primary, "PSF")
    if aid is None:
        return None
    row = archive.find(aid)
    if row is None:
        return None
    kind = row["name"] or "unknown"
    recs = archive.records(row)
    params: dict[str, Any] = {}
    if recs:
        params = {k: v for k, v in recs[0].items()
                  if isinstance(v, (int, float, str, bool)) and not (isinstance(v, str) and len(v) > 200)}
    sigma = params.get("sigma") if kind == "GaussianPsf" else None
    if sigma is None:
        for key in ("sigma", "sigma1"):
            if isinstance(params.get(key), (int, float)):
                sigma = params[key]
                break
    fwhm = None
    if isinstance(sigma, (int, float)) and sigma > 0:
        scale = pixel_scale_arcsec(wcs, (shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0) if wcs is not None else None
        if scale:
            fwhm = float(sigma) * 2.0 * math.sqrt(2.0 * math.log(2.0)) * scale
    return PsfModel(kind=kind, sigma_pixels=float(sigma) if isinstance(sigma, (int, float)) else None,
                    fwhm_arcsec=fwhm, params=params)


def visit_info(*headers) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, cards in VISIT_INFO_CARDS.items():
        for hdr in headers:
            if hdr is None:
                continue
            found = False
            for card in cards:
                if card in hdr:
                    value = header_value(hdr[card])
                    if isinstance(value, str):
                        value = value.strip()
                    if value is None or value == "":
                        continue
                    out[key] = value
                    found = True
                    break
            if found:
                break
    return out


MAX_SKYWCS_BYTES = 16 * 1024**2  # an AST SkyWcs is a few kB (a distorted one ~100 kB)


def skywcs_row(archive: AfwArchive, primary) -> Optional[bytes]:
    """The raw AST text of the exposure's archived ``SkyWcs`` (``wcs`` column), or None.

    afw (since 2018) persists every SkyWcs as its AST FrameSet; older files hold ``TanWcs`` rows
    (FITS-style numbers) instead, which the header's FITS WCS already describes.
    """
    aid = _archive_id(primary, "SKYWCS", "WCS_ID")
    row = archive.find(aid, "SkyWcs") if aid is not None else None
    if row is None:
        row = archive.find(None, "SkyWcs")
    if row is None:
        return None
    hdu_i = row.get("hdu")
    if hdu_i is None or not (0 <= hdu_i < len(archive.hdus)):
        return None
    hdu = archive.hdus[hdu_i]
    try:
        data = hdu.data
        if "wcs" not in [n.lower() for n in data.columns.names]:
            return None
        name = next(n for n in data.columns.names if n.lower() == "wcs")
        if not 0 <= row["row0"] < len(data):
            return None
        cell = data[row["row0"]][name]
    except Exception:
        return None
    raw = np.asarray(cell)
    if raw.size == 0 or raw.size > MAX_SKYWCS_BYTES:
        return None
    if raw.dtype.kind in "ui":
        return raw.astype(np.uint8, copy=False).tobytes()
    return bytes(str(cell), "ascii", "replace")
