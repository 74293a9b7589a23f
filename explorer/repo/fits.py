"""Read afw-layout exposures (calexps, coadds, calibs, raws) with astropy, without lsst.afw.

:func:`read_exposure_info` reads headers and a few archive rows only (no pixels);
:func:`read_plane` reads one pixel plane as a native-byte-order 2-D array.

The afw layouts handled (all seen in real files written by the LSST stack):

* MaskedImage planes are found by ``EXTNAME`` (afw since 2021), else ``EXTTYPE``
  (``IMAGE``/``MASK``/``VARIANCE``, every afw version), else by position (HDUs 1, 2, 3).
  Very old files hold the IMAGE in the primary HDU. A plain one-image file (a simulator raw,
  an fpacked image) is an image-only exposure.
* A raw with several tile-compressed amplifier HDUs (imSim ``SegmentNN`` with ``DATASEC`` /
  ``DETSEC`` cards) is *assembled*: the image plane is the trimmed detector image, each amplifier's
  data section placed (and flipped) where ``DETSEC`` says, which is what an astronomer expects
  to see for a CCD. Its WCS is fitted in that assembled frame to the per-amplifier header WCSs
  (the primary-HDU WCS written by imSim is in a transposed frame, so it is not used as is).
* ``xy0`` comes from ``LTV1/LTV2 = -x0/-y0`` (or the ``CRVAL1A`` LINEAR alternate WCS).
* Mask planes come from the ``MP_<NAME> = bit`` cards of the MASK HDU; they differ between files.
  Old masks are uint16 stored as int16 with ``BZERO=32768``; they are returned as int32.
* The WCS is the FITS WCS of the image HDU (with ``INHERIT=T`` cards from the primary), TAN-SIP
  included. It is in the FITS convention of the *local* pixel grid; :class:`ExposureInfo.pixel_to_sky`
  subtracts ``xy0`` and uses origin 0, which reproduces afw's 0-based parent-pixel ``pixelToSky``.
* The archive: ``AR_HDU`` (1-based) locates ARCHIVE_INDEX, whose rows (``id``, ``cat.archive``,
  ``cat.persistable``, ``row0``, ``nrows``, ``name``, ``module``) locate the PhotoCalib, FilterLabel,
  Detector and PSF rows named by the primary's ``*_ID`` / ``ARCHIVE_ID_*`` cards. Catalog number
  ``cat.archive = k`` is the k-th HDU after the index.
* Calibration: ``FLUXMAG0`` (old files; 0 means unset) or the PhotoCalib ``calibrationMean``
  (nJy per count). Zero point (AB mag of one count) = 2.5 log10(FLUXMAG0)
  = -2.5 log10(calibrationMean * 1e-9 / 3631).

Every failure to parse a file (not FITS, truncated, corrupt) raises :class:`BadFileError` with a
one-line message naming the file. Work on hostile files is bounded: at most ``MAX_HDUS`` HDUs are
scanned and only the archive rows needed are read.
"""
from __future__ import annotations

import math
import os
import re
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import numpy as np

from .errors import BadFileError, ExplorerError
from .model import PLANES, ExposureInfo, PsfModel

MAX_HDUS = 512  # bound on the HDUs scanned in one file (afw exposures have < 20)
MAX_ARCHIVE_ROWS = 100_000  # bound on the ARCHIVE_INDEX rows read
AB_FLUX_NJY = 3631e9  # flux of AB magnitude 0, in nJy

_PLANE_NAMES = {"IMAGE": "image", "MASK": "mask", "VARIANCE": "variance"}
_GZIP_MAGIC = (b"\x1f\x8b", b"BZh", b"PK\x03\x04")

# FITS card -> readable visit_info key, following afw's VisitInfo names (units in the comments).
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


# ----------------------------------------------------------------------------------------------
# opening files safely
# ----------------------------------------------------------------------------------------------
def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_signature(path: str) -> bool:
    """Cheap checks before astropy: exists, not empty, looks like FITS. Returns True when gzipped."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(80)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise BadFileError(f"{path}: is a directory, not a FITS file") from None
    except OSError as exc:
        raise BadFileError(f"{path}: cannot read ({_short(exc)})") from None
    if not head:
        raise BadFileError(f"{path}: empty file, not FITS")
    if head.startswith(_GZIP_MAGIC):
        return True
    if not head.startswith(b"SIMPLE  ="):
        raise BadFileError(f"{path}: not a FITS file (does not start with SIMPLE)")
    return False


@contextmanager
def _fits_errors(path: str, what: str = "read") -> Iterator[list]:
    """Turn astropy's many exception types and truncation warnings into one-line BadFileErrors."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield caught
        except (ExplorerError, FileNotFoundError):
            raise
        except MemoryError:
            raise BadFileError(f"{path}: cannot {what}: file claims more data than fits in memory") from None
        except Exception as exc:  # astropy raises OSError, ValueError, TypeError, KeyError, zlib.error...
            raise BadFileError(f"{path}: corrupt or unreadable FITS ({_short(exc)})") from None
        _raise_on_bad_warnings(path, caught)


def _gzip_truncated(path: str, limit: int = 2 * 1024**3) -> bool:
    """True when a gzipped file ends before its end-of-stream marker (reads at most ``limit`` bytes)."""
    import gzip
    import zlib

    try:
        with gzip.open(path, "rb") as fh:
            total = 0
            while total < limit:
                chunk = fh.read(16 * 1024**2)
                if not chunk:
                    return False
                total += len(chunk)
    except (EOFError, zlib.error, OSError):
        return True
    return False


_TRUNCATION_RE = re.compile(r"actual file length \((\d+)\)")


def _raise_on_bad_warnings(path: str, caught: list) -> None:
    """A truncation warning that names this file's length (others may come from other threads)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return
    for w in caught:
        msg = str(w.message)
        m = _TRUNCATION_RE.search(msg)
        if "truncated" in msg and m and int(m.group(1)) == size:
            raise BadFileError(f"{path}: truncated FITS ({_short(Exception(msg))})")


def _open(path: str, gz: bool = False):
    """astropy's open, lazily, memory-mapped unless the whole file is gzipped (no seekable bytes)."""
    from astropy.io import fits

    return fits.open(path, memmap=not gz, lazy_load_hdus=True, mode="readonly")


def _padded_end(hdu) -> Optional[int]:
    offset, nbytes = getattr(hdu, "_data_offset", None), getattr(hdu, "_data_size", None)
    if not isinstance(offset, int) or not isinstance(nbytes, int):
        return None
    return offset + -(-nbytes // 2880) * 2880


def check_complete(path: str, hdus: list, gz: bool, all_scanned: bool = False) -> None:
    """Raise BadFileError when the file is shorter (or its HDU chain more broken) than its headers say.

    astropy only *warns* about truncation, silently stops at a corrupt header, and silently drops
    a truncated HDU from a gzipped file; and ``warnings.catch_warnings`` is process-global, so a
    warning seen in one thread may belong to another thread's file. These checks use only this
    file: declared data spans against the file size; after a full scan, an unparsed ``XTENSION``
    where the HDU chain stopped; for gzip, the uncompressed size in the gzip trailer (ISIZE)
    against the end of the last HDU (a full decompression confirms before failing).
    """
    if not hdus:
        return
    if not gz:
        size = os.path.getsize(path)
        for i, hdu in enumerate(hdus):
            offset, nbytes = getattr(hdu, "_data_offset", None), getattr(hdu, "_data_size", None)
            if isinstance(offset, int) and isinstance(nbytes, int) and offset + nbytes > size:
                raise BadFileError(f"{path}: truncated: HDU {i} needs {offset + nbytes} bytes, the file has {size}")
        end = _padded_end(hdus[-1])
        if all_scanned and len(hdus) < MAX_HDUS and end is not None and end + 8 <= size:
            with open(path, "rb") as fh:
                fh.seek(end)
                if fh.read(8) == b"XTENSION":
                    raise BadFileError(f"{path}: corrupt FITS: HDU {len(hdus)} has an unreadable header")
        return
    if not all_scanned:
        return
    end = _padded_end(hdus[-1])
    if end is None:
        return
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        isize = int.from_bytes(fh.read(4), "little")
    if isize != end % 2**32 and _gzip_truncated(path):
        raise BadFileError(f"{path}: truncated gzip file (ends before its end-of-stream marker)")


def _hdus(hdul) -> list:
    """HDUs of an open file, at most MAX_HDUS of them (bounded work on hostile files)."""
    out = []
    for i in range(MAX_HDUS):
        try:
            out.append(hdul[i])
        except IndexError:
            break
    return out


# ----------------------------------------------------------------------------------------------
# header helpers
# ----------------------------------------------------------------------------------------------
def _is_image_hdu(hdu) -> bool:
    from astropy.io import fits

    return isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))


def _naxes(hdu) -> tuple[int, ...]:
    hdr = hdu.header
    try:
        n = int(hdr.get("NAXIS", 0))
        return tuple(int(hdr.get(f"NAXIS{i}", 0)) for i in range(1, n + 1))
    except (TypeError, ValueError):
        return ()


def _is_2d_image(hdu) -> bool:
    if not _is_image_hdu(hdu):
        return False
    ax = _naxes(hdu)
    return len(ax) == 2 and ax[0] > 0 and ax[1] > 0


def _str(value: Any) -> Optional[str]:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _plane_label(hdu) -> Optional[str]:
    hdr = hdu.header
    for key in ("EXTNAME", "EXTTYPE"):
        label = _str(hdr.get(key))
        if label and label.upper() in _PLANE_NAMES:
            return _PLANE_NAMES[label.upper()]
    return None


def _disk_dtype(hdu) -> np.dtype:
    """numpy dtype of the values stored (after BZERO for unsigned ints), from the header only."""
    hdr = hdu.header
    bitpix = int(hdr.get("BITPIX", 0))
    bzero = hdr.get("BZERO", 0) or 0
    bscale = hdr.get("BSCALE", 1) or 1
    base = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64, -32: np.float32, -64: np.float64}.get(bitpix)
    if base is None:
        raise BadFileError(f"HDU with unsupported BITPIX={bitpix}")
    if bscale == 1 and bitpix in (16, 32, 64) and bzero == 2 ** (bitpix - 1):
        return np.dtype({16: np.uint16, 32: np.uint32, 64: np.uint64}[bitpix])
    if bitpix > 0 and (bscale != 1 or bzero != 0):
        return np.dtype(np.float32 if bitpix <= 16 else np.float64)
    return np.dtype(base)


def _output_dtype(plane: str, disk: np.dtype) -> np.dtype:
    """What read_plane returns: float32 images/variances (float64 kept), int32 masks."""
    if plane == "mask":
        return np.dtype(np.int32)
    if disk == np.float64:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _header_value(value: Any) -> Any:
    """A header value as plain JSON-able Python (astropy's Undefined becomes None)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return None if type(value).__name__ == "Undefined" else str(value)


def header_dict(header) -> dict[str, Any]:
    """Header cards as {keyword: value}; repeated keywords become lists, COMMENT/HISTORY joined lists."""
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for card in header.cards:
        key = card.keyword
        if not key:
            continue
        value = _header_value(card.value)
        if key in ("COMMENT", "HISTORY"):
            out.setdefault(key, []).append(str(value))
        elif key in out:
            if key not in repeated:
                out[key] = [out[key]]
                repeated.add(key)
            out[key].append(value)
        else:
            out[key] = value
    return out


def _xy0(hdr) -> tuple[int, int]:
    def one(ltv: str, crval: str, ctype: str) -> int:
        v = hdr.get(ltv)
        if isinstance(v, (int, float)) and math.isfinite(v):
            return int(round(-v))
        if _str(hdr.get(ctype)) == "LINEAR":
            c = hdr.get(crval)
            if isinstance(c, (int, float)) and math.isfinite(c):
                return int(round(c))
        return 0

    return one("LTV1", "CRVAL1A", "CTYPE1A"), one("LTV2", "CRVAL2A", "CTYPE2A")


def _mask_planes(hdr) -> dict[str, int]:
    planes: dict[str, int] = {}
    for card in hdr.cards:
        key = card.keyword
        if key.startswith("MP_") and isinstance(card.value, (int, np.integer)) and not isinstance(card.value, bool):
            bit = int(card.value)
            if 0 <= bit < 64:
                planes[key[3:]] = bit
    return dict(sorted(planes.items(), key=lambda kv: kv[1]))


_WCS_KEY = re.compile(r"^(CTYPE|CRPIX|CRVAL|CDELT|CUNIT|CD\d_|PC\d_|PV\d_|CROTA|[AB]P?_|LONPOLE|LATPOLE|"
                      r"RADESYS|RADECSYS|EQUINOX|EPOCH|WCSAXES|MJD-OBS|DATE-OBS|SIP)")


def _wcs_header(image_hdr, primary_hdr):
    """The image HDU's WCS cards, over the primary's when ``INHERIT=T`` (FITS inheritance convention)."""
    from astropy.io import fits

    hdr = fits.Header()
    sources = [image_hdr]
    if primary_hdr is not None and primary_hdr is not image_hdr and image_hdr.get("INHERIT", False) is True:
        sources.insert(0, primary_hdr)
    for source in sources:
        for card in source.cards:
            if _WCS_KEY.match(card.keyword):
                hdr[card.keyword] = card.value
    hdr["NAXIS"] = 2
    hdr["NAXIS1"] = int(image_hdr.get("NAXIS1", 0) or 0)
    hdr["NAXIS2"] = int(image_hdr.get("NAXIS2", 0) or 0)
    return hdr


def make_wcs(image_hdr, primary_hdr=None):
    """A celestial astropy WCS from an image header (INHERIT-merged), or None when there is none."""
    from astropy.wcs import WCS

    hdr = _wcs_header(image_hdr, primary_hdr)
    ctype1 = str(hdr.get("CTYPE1", "")).upper()
    ctype2 = str(hdr.get("CTYPE2", "")).upper()
    if not (ctype1.startswith(("RA", "GLON", "ELON")) and ctype2.startswith(("DEC", "GLAT", "ELAT"))):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wcs = WCS(hdr, naxis=2, relax=True, fix=True)
        except Exception:
            return None
    if not wcs.has_celestial:
        return None
    return wcs


def pixel_scale_arcsec(wcs, x: float = 0.0, y: float = 0.0) -> Optional[float]:
    """Mean pixel scale (arcsec) at local pixel (x, y), from the WCS's local Jacobian."""
    if wcs is None:
        return None
    try:
        from astropy.coordinates import SkyCoord
        import astropy.units as u

        pts = np.array([[x, y], [x + 1, y], [x, y + 1]], dtype=float)
        ra, dec = wcs.all_pix2world(pts[:, 0], pts[:, 1], 0)
        c = SkyCoord(ra * u.deg, dec * u.deg)
        dx = c[0].separation(c[1]).arcsec
        dy = c[0].separation(c[2]).arcsec
        scale = math.sqrt(dx * dy)
        return scale if math.isfinite(scale) and scale > 0 else None
    except Exception:
        return None


# ----------------------------------------------------------------------------------------------
# the afw archive
# ----------------------------------------------------------------------------------------------
def _decode(value: Any) -> Any:
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


class _Archive:
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
            out.append({name: _decode(rec[name]) for name in data.columns.names})
        return out


def _archive_id(primary_hdr, component: str, *old: str) -> Optional[int]:
    for key in (f"ARCHIVE_ID_{component}", f"{component}_ID") + old:
        v = primary_hdr.get(key)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return int(v)
    return None


def _component(archive: _Archive, primary_hdr, component: str, *old: str) -> Optional[tuple[dict, dict]]:
    aid = _archive_id(primary_hdr, component, *old)
    if aid is None:
        return None
    row = archive.find(aid)
    if row is None:
        return None
    recs = archive.records(row)
    return (row, recs[0]) if recs else None


def _photo_calib(archive: _Archive, primary) -> tuple[Optional[dict], Optional[float]]:
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


def _filter_label(archive: _Archive, primary) -> Optional[dict]:
    comp = _component(archive, primary, "FILTER")
    if comp is not None and comp[0]["name"] == "FilterLabel":
        rec = comp[1]
        flags = rec.get("flags") or [True, True]
        band = rec.get("band") if flags and flags[0] else None
        physical = rec.get("physical") if len(flags) > 1 and flags[1] else None
        return {"band": band or None, "physical": physical or None}
    name = _str(primary.get("FILTER"))
    if not name or name == "_unknown_":
        return None
    # Old afw files store a filter *name*; a single-letter one is a band, anything else a physical filter.
    if _BAND_RE.match(name):
        return {"band": name, "physical": None}
    return {"band": None, "physical": name}


def _detector(archive: _Archive, primary) -> Optional[dict]:
    det: dict[str, Any] = {}
    comp = _component(archive, primary, "DETECTOR")
    if comp is not None and comp[0]["name"] == "Detector":
        rec = comp[1]
        det = {"id": rec.get("id"), "name": rec.get("name"), "serial": rec.get("serial")}
        if rec.get("physicalType"):
            det["physical_type"] = rec["physicalType"]
    name = _str(primary.get("DETNAME")) or _str(primary.get("CHIPID"))
    serial = _str(primary.get("DETSER"))
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


def _psf(archive: _Archive, primary, wcs, shape) -> Optional[PsfModel]:
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


def _visit_info(*headers) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, cards in VISIT_INFO_CARDS.items():
        for hdr in headers:
            if hdr is None:
                continue
            found = False
            for card in cards:
                if card in hdr:
                    value = _header_value(hdr[card])
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


# ----------------------------------------------------------------------------------------------
# multi-amplifier raws
# ----------------------------------------------------------------------------------------------
_SEC_RE = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


def _section(value: Any) -> Optional[tuple[int, int, int, int]]:
    m = _SEC_RE.match(str(value or ""))
    return tuple(int(g) for g in m.groups()) if m else None  # type: ignore[return-value]


def _amp_segments(hdus: list) -> list[tuple[int, tuple, tuple]]:
    """[(hdu index, DATASEC, DETSEC)] when the file is a raw made of several amplifier HDUs."""
    segs = []
    for i, hdu in enumerate(hdus):
        if i == 0 or not _is_2d_image(hdu) or _plane_label(hdu) in ("mask", "variance"):
            continue
        data_sec, det_sec = _section(hdu.header.get("DATASEC")), _section(hdu.header.get("DETSEC"))
        if data_sec and det_sec:
            segs.append((i, data_sec, det_sec))
    return segs if len(segs) >= 2 else []


def _assembled_shape(segs) -> tuple[int, int]:
    nx = max(max(d[0], d[1]) for _, _, d in segs)
    ny = max(max(d[2], d[3]) for _, _, d in segs)
    return ny, nx


def _amp_placement(data_sec, det_sec):
    """Slices of the amp array and of the detector array, and the flips, for one amplifier."""
    ax0, ax1, ay0, ay1 = data_sec
    dx0, dx1, dy0, dy1 = det_sec
    amp = (slice(min(ay0, ay1) - 1, max(ay0, ay1)), slice(min(ax0, ax1) - 1, max(ax0, ax1)))
    det = (slice(min(dy0, dy1) - 1, max(dy0, dy1)), slice(min(dx0, dx1) - 1, max(dx0, dx1)))
    flip_x = (ax1 - ax0) * (dx1 - dx0) < 0
    flip_y = (ay1 - ay0) * (dy1 - dy0) < 0
    return amp, det, flip_x, flip_y


def _det_to_amp(x: np.ndarray, y: np.ndarray, data_sec, det_sec) -> tuple[np.ndarray, np.ndarray]:
    """1-based amp pixel coordinates of 1-based detector coordinates inside one amp's DETSEC."""
    ax0, ax1, ay0, ay1 = data_sec
    dx0, dx1, dy0, dy1 = det_sec
    sx = (ax1 - ax0) / (dx1 - dx0) if dx1 != dx0 else 1.0
    sy = (ay1 - ay0) / (dy1 - dy0) if dy1 != dy0 else 1.0
    return ax0 + (x - dx0) * sx, ay0 + (y - dy0) * sy


def _assembled_wcs(hdus, segs, primary_hdr):
    """A TAN-SIP WCS of the assembled detector frame, fitted to the per-amplifier header WCSs."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u
    from astropy.wcs.utils import fit_wcs_from_points

    xs, ys, ras, decs = [], [], [], []
    for i, data_sec, det_sec in segs:
        w = make_wcs(hdus[i].header, primary_hdr)
        if w is None:
            return None
        dx0, dx1, dy0, dy1 = det_sec
        gx, gy = np.meshgrid(np.linspace(min(dx0, dx1), max(dx0, dx1), 4),
                             np.linspace(min(dy0, dy1), max(dy0, dy1), 4))
        gx, gy = gx.ravel(), gy.ravel()
        axp, ayp = _det_to_amp(gx, gy, data_sec, det_sec)
        ra, dec = w.all_pix2world(axp, ayp, 1)
        xs.append(gx - 1)  # 0-based detector pixels
        ys.append(gy - 1)
        ras.append(ra)
        decs.append(dec)
    x, y = np.concatenate(xs), np.concatenate(ys)
    world = SkyCoord(np.concatenate(ras) * u.deg, np.concatenate(decs) * u.deg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wcs = fit_wcs_from_points((x, y), world, projection="TAN", sip_degree=3)
        except Exception:
            return None
    return wcs


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------
def _find_planes(hdus: list) -> dict[str, int]:
    planes: dict[str, int] = {}
    for i, hdu in enumerate(hdus):
        if not _is_2d_image(hdu):
            continue
        label = _plane_label(hdu)
        if label and label not in planes:
            planes[label] = i
    if planes:
        return planes
    # No EXTNAME/EXTTYPE: afw order by position (1, 2, 3) when those look like a MaskedImage,
    # else the first 2-D image is an image-only exposure.
    if len(hdus) >= 4 and all(_is_2d_image(hdus[i]) for i in (1, 2, 3)):
        shapes = {_naxes(hdus[i]) for i in (1, 2, 3)}
        if len(shapes) == 1 and _disk_dtype(hdus[2]).kind in "iu":
            return {"image": 1, "mask": 2, "variance": 3}
    first = next((i for i, h in enumerate(hdus) if _is_2d_image(h)), None)
    return {"image": first} if first is not None else {}


def read_exposure_info(path: str | os.PathLike) -> ExposureInfo:
    """Headers and archive of an afw-layout exposure FITS file: everything but the pixels."""
    from astropy.io import fits

    path = os.fspath(path)
    gz = _check_signature(path)
    with _fits_errors(path):
        with _open(path, gz) as hdul:
            hdus = _hdus(hdul)
            if not hdus:
                raise BadFileError(f"{path}: no HDUs")
            check_complete(path, hdus, gz, all_scanned=True)
            primary = hdus[0].header
            segs = _amp_segments(hdus)
            plane_hdus = {"image": segs[0][0]} if segs else _find_planes(hdus)
            ar_hdu = primary.get("AR_HDU")
            archive_missing = isinstance(ar_hdu, int) and not isinstance(ar_hdu, bool) \
                and ar_hdu > len(hdus) and len(hdus) < MAX_HDUS
            if archive_missing:
                raise BadFileError(f"{path}: truncated? the primary header puts the archive at HDU {ar_hdu} "
                                   f"(1-based) but the file has only {len(hdus)} HDUs")
            if "image" not in plane_hdus:
                kinds = sorted({str(h.header.get("EXTTYPE") or h.header.get("EXTNAME") or type(h).__name__).strip()
                                for h in hdus})
                raise BadFileError(f"{path}: no image HDU (this FITS file holds {', '.join(kinds)}; "
                                   "is it a catalog?)")
            image_hdu = hdus[plane_hdus["image"]]
            image_hdr = image_hdu.header
            if segs:
                shape = _assembled_shape(segs)
                xy0 = (0, 0)
                wcs = _assembled_wcs(hdus, segs, primary)
            else:
                nx, ny = _naxes(image_hdu)
                shape = (ny, nx)
                xy0 = _xy0(image_hdr)
                wcs = make_wcs(image_hdr, primary)
                for name, i in plane_hdus.items():
                    if _naxes(hdus[i]) != (nx, ny):
                        raise BadFileError(f"{path}: {name} plane is {_naxes(hdus[i])[::-1]}, image is {shape}")
            mask_planes = _mask_planes(hdus[plane_hdus["mask"]].header) if "mask" in plane_hdus else {}
            plane_dtypes = {name: _output_dtype(name, _disk_dtype(hdus[i])).name for name, i in plane_hdus.items()}
            compressed = gz or any(isinstance(hdus[i], fits.CompImageHDU) for i in plane_hdus.values())
            archive = _Archive(path, hdus, primary)
            photo_calib, zero_point = _photo_calib(archive, primary)
            filter_label = _filter_label(archive, primary)
            detector = _detector(archive, primary)
            psf = _psf(archive, primary, wcs, shape)
            visit_info = _visit_info(primary, image_hdr if image_hdr is not primary else None)
            if segs:
                visit_info["amplifiers"] = len(segs)
            metadata = header_dict(primary)
    return ExposureInfo(
        path=path, shape=shape, xy0=xy0, plane_hdus=plane_hdus, mask_planes=mask_planes, wcs=wcs,
        metadata=metadata, visit_info=visit_info, zero_point_mag=zero_point, photo_calib=photo_calib,
        filter_label=filter_label, detector=detector, psf=psf, archive=archive.rows,
        compressed=compressed, plane_dtypes=plane_dtypes)


def read_plane(path: str | os.PathLike, plane: str, info: Optional[ExposureInfo] = None) -> np.ndarray:
    """One pixel plane ("image", "mask", "variance") as a native-byte-order 2-D array.

    Images and variances are float32 (float64 when stored so), masks int32 (old uint16 masks are
    widened with their BZERO applied). Uncompressed planes are copied straight from a memory map
    of the file's data segment with one byteswapping ``astype``; compressed planes and gzipped
    files go through astropy.
    """
    path = os.fspath(path)
    if plane not in PLANES:
        raise ExplorerError(f"unknown plane {plane!r}; planes are {', '.join(PLANES)}")
    if info is None:
        info = read_exposure_info(path)
    if plane not in info.plane_hdus:
        raise ExplorerError(f"{path} has no {plane} plane (it has {', '.join(info.planes)})")
    index = info.plane_hdus[plane]
    gz = _check_signature(path)
    with _fits_errors(path, f"read the {plane} plane"):
        with _open(path, gz) as hdul:
            try:
                hdu = hdul[index]  # lazily parses headers up to this HDU only
            except IndexError:
                raise BadFileError(f"{path}: HDU {index} of the {plane} plane is missing (file changed?)") from None
            if plane == "image" and _section(hdu.header.get("DETSEC")) and _section(hdu.header.get("DATASEC")):
                all_hdus = _hdus(hdul)
                segs = _amp_segments(all_hdus)
                if segs:
                    return _assemble(all_hdus, segs)
            disk = _disk_dtype(hdu)
            out_dtype = _output_dtype(plane, disk)
            from astropy.io import fits

            if not gz and not isinstance(hdu, fits.CompImageHDU):
                arr = _read_raw_segment(path, hdu, out_dtype)
            else:
                arr = _read_with_astropy(hdu, out_dtype)
    expect = info.shape
    if arr.shape != tuple(expect):
        raise BadFileError(f"{path}: {plane} plane has shape {arr.shape}, expected {tuple(expect)}")
    return arr


def _read_raw_segment(path: str, hdu, out_dtype: np.dtype) -> np.ndarray:
    """Fast path: memory-map the HDU's data bytes (big-endian) and convert in one copy."""
    hdr = hdu.header
    nx, ny = _naxes(hdu)
    bitpix = int(hdr["BITPIX"])
    raw_dtype = np.dtype({8: "u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}[bitpix])
    offset = int(hdu._data_offset)
    nbytes = nx * ny * raw_dtype.itemsize
    size = os.path.getsize(path)
    if offset + nbytes > size:
        raise BadFileError(f"{path}: truncated: pixel data needs {offset + nbytes} bytes, file has {size}")
    mapped = np.memmap(path, dtype=raw_dtype, mode="r", offset=offset, shape=(ny, nx))
    # A plain-ndarray view: results of astype are then ordinary arrays that own their memory (an
    # np.memmap subclass would be sized as 0 bytes by the cache and keep the file mapped).
    raw = mapped.view(np.ndarray)
    try:
        bzero = hdr.get("BZERO", 0) or 0
        bscale = hdr.get("BSCALE", 1) or 1
        if bzero == 0 and bscale == 1:
            return raw.astype(out_dtype)  # one pass: byteswap (+ widen) into native memory
        if bscale == 1 and float(bzero).is_integer() and out_dtype.kind in "iu":
            out = raw.astype(out_dtype)  # e.g. int16 + BZERO=32768 (an afw uint16 mask) -> int32
            out += int(bzero)
            return out
        out = raw.astype(np.float64 if out_dtype == np.float64 or bitpix > 16 else np.float32)
        out *= bscale
        out += bzero
        return out.astype(out_dtype, copy=False)
    finally:
        del raw, mapped


def _read_with_astropy(hdu, out_dtype: np.dtype) -> np.ndarray:
    """Compressed HDUs and gzipped files: astropy decompresses and applies BZERO/BSCALE."""
    data = hdu.data
    if data is None:
        raise BadFileError("HDU has no data")
    return np.array(data, dtype=out_dtype, copy=True, subok=False)  # a native-byte-order copy


def _assemble(hdus, segs) -> np.ndarray:
    ny, nx = _assembled_shape(segs)
    out = np.zeros((ny, nx), dtype=np.float32)
    for i, data_sec, det_sec in segs:
        hdu = hdus[i]
        amp = _read_with_astropy(hdu, np.dtype(np.float32))
        a, d, fx, fy = _amp_placement(data_sec, det_sec)
        piece = amp[a]
        if fx:
            piece = piece[:, ::-1]
        if fy:
            piece = piece[::-1, :]
        target = out[d]
        if piece.shape != target.shape:
            raise BadFileError(f"amplifier HDU {i}: DATASEC {data_sec} does not match DETSEC {det_sec}")
        target[...] = piece
    return out
