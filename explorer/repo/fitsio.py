"""Low-level FITS access shared by the exposure and catalog readers, with astropy.

Opening files safely (signature check, lazily, memory-mapped unless gzipped), turning astropy's
many failure modes into one-line :class:`BadFileError` messages, deciding truncation from the file
itself, and small header helpers (plane labels, stored dtypes, header dicts, the FITS WCS).
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

MAX_HDUS = 512  # bound on the HDUs scanned in one file (afw exposures have < 20)


_PLANE_NAMES = {"IMAGE": "image", "MASK": "mask", "VARIANCE": "variance"}


_GZIP_MAGIC = (b"\x1f\x8b", b"BZh", b"PK\x03\x04")


def short_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def check_signature(path: str) -> bool:
    """Cheap checks before astropy: exists, not empty, looks like FITS. Returns True when gzipped."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(80)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise BadFileError(f"{path}: is a directory, not a FITS file") from None
    except OSError as exc:
        raise BadFileError(f"{path}: cannot read ({short_reason(exc)})") from None
    if not head:
        raise BadFileError(f"{path}: empty file, not FITS")
    if head.startswith(_GZIP_MAGIC):
        return True
    if not head.startswith(b"SIMPLE  ="):
        raise BadFileError(f"{path}: not a FITS file (does not start with SIMPLE)")
    return False


@contextmanager
def fits_errors(path: str, what: str = "read") -> Iterator[list]:
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
            raise BadFileError(f"{path}: corrupt or unreadable FITS ({short_reason(exc)})") from None
        raise_on_bad_warnings(path, caught)


def gzip_truncated(path: str, limit: int = 2 * 1024**3) -> bool:
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


def raise_on_bad_warnings(path: str, caught: list) -> None:
    """A truncation warning that names this file's length (others may come from other threads)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return
    for w in caught:
        msg = str(w.message)
        m = _TRUNCATION_RE.search(msg)
        if "truncated" in msg and m and int(m.group(1)) == size:
            raise BadFileError(f"{path}: truncated FITS ({short_reason(Exception(msg))})")


def open_fits(path: str, gz: bool = False):
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
    if isize != end % 2**32 and gzip_truncated(path):
        raise BadFileError(f"{path}: truncated gzip file (ends before its end-of-stream marker)")


def scan_hdus(hdul) -> list:
    """HDUs of an open file, at most MAX_HDUS of them (bounded work on hostile files)."""
    out = []
    for i in range(MAX_HDUS):
        try:
            out.append(hdul[i])
        except IndexError:
            break
    return out


def is_image_hdu(hdu) -> bool:
    from astropy.io import fits

    return isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))


def naxes(hdu) -> tuple[int, ...]:
    hdr = hdu.header
    try:
        n = int(hdr.get("NAXIS", 0))
        return tuple(int(hdr.get(f"NAXIS{i}", 0)) for i in range(1, n + 1))
    except (TypeError, ValueError):
        return ()


def is_2d_image(hdu) -> bool:
    if not is_image_hdu(hdu):
        return False
    ax = naxes(hdu)
    return len(ax) == 2 and ax[0] > 0 and ax[1] > 0


def clean_str(value: Any) -> Optional[str]:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def plane_label(hdu) -> Optional[str]:
    hdr = hdu.header
    for key in ("EXTNAME", "EXTTYPE"):
        label = clean_str(hdr.get(key))
        if label and label.upper() in _PLANE_NAMES:
            return _PLANE_NAMES[label.upper()]
    return None


def disk_dtype(hdu) -> np.dtype:
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


def output_dtype(plane: str, disk: np.dtype) -> np.dtype:
    """What read_plane returns: float32 images/variances (float64 kept), int32 masks."""
    if plane == "mask":
        return np.dtype(np.int32)
    if disk == np.float64:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def header_value(value: Any) -> Any:
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
        value = header_value(card.value)
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


def read_with_astropy(hdu, out_dtype: np.dtype) -> np.ndarray:
    """Compressed HDUs and gzipped files: astropy decompresses and applies BZERO/BSCALE."""
    data = hdu.data
    if data is None:
        raise BadFileError("HDU has no data")
    return np.array(data, dtype=out_dtype, copy=True, subok=False)  # a native-byte-order copy
