"""Read afw-layout exposures (calexps, coadds, calibs, raws) with astropy, without lsst.afw.

:func:`read_exposure_info` reads headers and a few archive rows only (no pixels);
:func:`read_plane` reads one pixel plane as a native-byte-order 2-D array.

The afw layouts handled (all seen in real files written by the LSST stack):

* MaskedImage planes are found by ``EXTNAME`` (afw since 2021), else ``EXTTYPE``
  (``IMAGE``/``MASK``/``VARIANCE``, every afw version), else by position (HDUs 1, 2, 3).
  Very old files hold the IMAGE in the primary HDU. A plain one-image file (a simulator raw,
  an fpacked image) is an image-only exposure.
* A raw with several tile-compressed amplifier HDUs (imSim ``SegmentNN`` with ``DATASEC`` /
  ``DETSEC`` cards) is *assembled* into the trimmed detector image (:mod:`.amp_assembly`).
* ``xy0`` comes from ``LTV1/LTV2 = -x0/-y0`` (or the ``CRVAL1A`` LINEAR alternate WCS).
* Mask planes come from the ``MP_<NAME> = bit`` cards of the MASK HDU; they differ between files.
  Old masks are uint16 stored as int16 with ``BZERO=32768``; they are returned as int32.
* The WCS is the FITS WCS of the image HDU (with ``INHERIT=T`` cards from the primary), TAN-SIP
  included. It is in the FITS convention of the *local* pixel grid; :class:`ExposureInfo.pixel_to_sky`
  subtracts ``xy0`` and uses origin 0, which reproduces afw's 0-based parent-pixel ``pixelToSky``.
* PhotoCalib/FLUXMAG0, FilterLabel, Detector, PSF and VisitInfo come from the afw archive and
  header cards (:mod:`.afw_archive`); opening, error handling and header helpers live in
  :mod:`.fitsio`.

Every failure to parse a file (not FITS, truncated, corrupt) raises :class:`BadFileError` with a
one-line message naming the file. Work on hostile files is bounded: at most ``MAX_HDUS`` HDUs are
scanned and only the archive rows needed are read.
"""
from __future__ import annotations

import math
import os
from typing import Optional

import numpy as np

from . import afw_archive
from .amp_assembly import amp_segments, assemble, assembled_shape, assembled_wcs, parse_section
from .errors import BadFileError, ExplorerError
from .fitsio import (MAX_HDUS, check_complete, check_signature, clean_str, disk_dtype, fits_errors, header_dict,
                     is_2d_image, make_wcs, naxes, open_fits, output_dtype, plane_label, read_with_astropy,
                     scan_hdus)
from .model import PLANES, ExposureInfo, MaskPlane


def _xy0(hdr) -> tuple[int, int]:
    def one(ltv: str, crval: str, ctype: str) -> int:
        v = hdr.get(ltv)
        if isinstance(v, (int, float)) and math.isfinite(v) and abs(v) < 2**31:  # afw's xy0 is int32
            return int(round(-v))
        if clean_str(hdr.get(ctype)) == "LINEAR":
            c = hdr.get(crval)
            if isinstance(c, (int, float)) and math.isfinite(c) and abs(c) < 2**31:
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


#: What afw's standard mask planes mean (afw ``Mask`` plane docs); afw files carry only names.
AFW_PLANE_DESCRIPTIONS = {
    "BAD": "This pixel is known to be bad (e.g. the amplifier is not working).",
    "SAT": "This pixel is saturated and has bloomed.",
    "INTRP": "This pixel has been interpolated over. Check other mask planes for the reason.",
    "CR": "This pixel is contaminated by a cosmic ray.",
    "EDGE": "This pixel is too close to the edge to be processed properly.",
    "DETECTED": "This pixel lies within an object's Footprint.",
    "DETECTED_NEGATIVE": "This pixel lies within an object's Footprint, and the detection was looking "
                         "for pixels *below* a specified level.",
    "SUSPECT": "This pixel is untrustworthy (e.g. contains an instrumental flux in ADU above the "
               "correctable non-linear regime).",
    "NO_DATA": "There was no data at this pixel location (e.g. no input images at this location in a "
               "coadd, or extremely high vignetting, such that there is no incoming signal).",
    "CROSSTALK": "This pixel was corrected for crosstalk.",
    "UNMASKEDNAN": "This pixel is NaN but was not masked by any other plane.",
    "CLIPPED": "This pixel was clipped from at least one input when coadding.",
    "REJECTED": "At least one input was rejected at this pixel when coadding.",
    "INEXACT_PSF": "The coadd PSF is inexact here (an input was rejected or clipped).",
    "SENSOR_EDGE": "This pixel is near the sensor edge in at least one input.",
    "STREAK": "A satellite or other streak crosses this pixel.",
    "NOT_DEBLENDED": "This pixel is in a footprint that was not deblended.",
    "VIGNETTED": "This pixel is vignetted.",
}


def _afw_mask_schema(planes: dict[str, int]) -> list[MaskPlane]:
    return [MaskPlane(name=name, bit=bit, description=AFW_PLANE_DESCRIPTIONS.get(name), hdu=0, hdu_bit=bit)
            for name, bit in sorted(planes.items(), key=lambda kv: kv[1])]


def _gaussian_psf_image(psf, shape, xy0):
    """afw's GaussianPsf kernel image (``dimensions_x`` x ``dimensions_y``, unit sum) at the image
    centre; None for other PSF kinds, whose models need afw or Piff to evaluate."""
    if psf.kind != "GaussianPsf" or not psf.sigma_pixels:
        return None
    nx = int(psf.params.get("dimensions_x") or psf.params.get("width") or 0)
    ny = int(psf.params.get("dimensions_y") or psf.params.get("height") or 0)
    if not (0 < nx <= 257 and 0 < ny <= 257):
        nx = ny = 2 * int(math.ceil(4 * psf.sigma_pixels)) + 1
    from .model import PsfImage

    y, x = np.mgrid[0:ny, 0:nx]
    s = float(psf.sigma_pixels)
    k = np.exp(-((x - nx // 2) ** 2 + (y - ny // 2) ** 2) / (2 * s * s))
    return PsfImage(array=k / k.sum(), x=xy0[0] + (shape[1] - 1) / 2.0, y=xy0[1] + (shape[0] - 1) / 2.0)


def _afw_sky(archive, primary, shape, xy0):
    """The exact AST mapping of the archived afw SkyWcs, or None (no archive row, unreadable)."""
    from .ast_wcs import AstSkyMapping

    comp = afw_archive.skywcs_row(archive, primary)
    if comp is None:
        return None
    try:
        return AstSkyMapping.from_afw_skywcs(comp)
    except ExplorerError:
        return None
    except Exception:  # an AST failure on a hostile row must not cost the exposure
        return None


def _find_planes(hdus: list) -> dict[str, int]:
    planes: dict[str, int] = {}
    for i, hdu in enumerate(hdus):
        if not is_2d_image(hdu):
            continue
        label = plane_label(hdu)
        if label and label not in planes:
            planes[label] = i
    if planes:
        return planes
    # No EXTNAME/EXTTYPE: afw order by position (1, 2, 3) when those look like a MaskedImage,
    # else the first 2-D image is an image-only exposure.
    if len(hdus) >= 4 and all(is_2d_image(hdus[i]) for i in (1, 2, 3)):
        shapes = {naxes(hdus[i]) for i in (1, 2, 3)}
        if len(shapes) == 1 and disk_dtype(hdus[2]).kind in "iu":
            return {"image": 1, "mask": 2, "variance": 3}
    first = next((i for i, h in enumerate(hdus) if is_2d_image(h)), None)
    return {"image": first} if first is not None else {}


def read_exposure_info(path: str | os.PathLike) -> ExposureInfo:
    """Headers and archive of an afw-layout exposure FITS file: everything but the pixels."""
    from astropy.io import fits

    path = os.fspath(path)
    gz = check_signature(path)
    with fits_errors(path):
        with open_fits(path, gz) as hdul:
            hdus = scan_hdus(hdul)
            if not hdus:
                raise BadFileError(f"{path}: no HDUs")
            check_complete(path, hdus, gz, all_scanned=True)
            primary = hdus[0].header
            from . import lsst_images

            if lsst_images.is_lsst_images(primary):
                return lsst_images.read_exposure_info(path, hdus)
            segs = amp_segments(hdus)
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
                shape = assembled_shape(segs)
                xy0 = (0, 0)
                wcs = assembled_wcs(hdus, segs, primary)
            else:
                nx, ny = naxes(image_hdu)
                shape = (ny, nx)
                xy0 = _xy0(image_hdr)
                wcs = make_wcs(image_hdr, primary)
                for name, i in plane_hdus.items():
                    if naxes(hdus[i]) != (nx, ny):
                        raise BadFileError(f"{path}: {name} plane is {naxes(hdus[i])[::-1]}, image is {shape}")
            mask_planes = _mask_planes(hdus[plane_hdus["mask"]].header) if "mask" in plane_hdus else {}
            plane_dtypes = {name: output_dtype(name, disk_dtype(hdus[i])).name for name, i in plane_hdus.items()}
            compressed = gz or any(isinstance(hdus[i], fits.CompImageHDU) for i in plane_hdus.values())
            archive = afw_archive.AfwArchive(path, hdus, primary)
            photo_calib, zero_point = afw_archive.photo_calib(archive, primary)
            filter_label = afw_archive.filter_label(archive, primary)
            detector = afw_archive.detector(archive, primary)
            psf = afw_archive.psf_model(archive, primary, wcs, shape)
            visit_info = afw_archive.visit_info(primary, image_hdr if image_hdr is not primary else None)
            if segs:
                visit_info["amplifiers"] = len(segs)
            metadata = header_dict(primary)
            sky = None if segs else _afw_sky(archive, primary, shape, xy0)
            # no archived SkyWcs: the header's FITS WCS is the file's WCS, as afw itself reads it
            header_wcs_exact = wcs is not None and afw_archive.skywcs_row(archive, primary) is None
    if sky is not None and wcs is None:
        from .ast_wcs import approximate_fits_wcs

        wcs = approximate_fits_wcs(sky, shape, xy0)  # for code that wants an astropy WCS; not for positions
    if psf is not None and psf.image is None:
        psf.image = _gaussian_psf_image(psf, shape, xy0)
    if sky is not None and psf is not None and psf.sigma_pixels and psf.fwhm_arcsec is None:
        scale = sky.pixel_scale_arcsec(xy0[0] + (shape[1] - 1) / 2.0, xy0[1] + (shape[0] - 1) / 2.0)
        if scale:
            psf.fwhm_arcsec = psf.sigma_pixels * 2.0 * math.sqrt(2.0 * math.log(2.0)) * scale
    return ExposureInfo(
        path=path, shape=shape, xy0=xy0, plane_hdus=plane_hdus, mask_planes=mask_planes, wcs=wcs,
        metadata=metadata, visit_info=visit_info, zero_point_mag=zero_point, photo_calib=photo_calib,
        filter_label=filter_label, detector=detector, psf=psf, archive=archive.rows,
        compressed=compressed, plane_dtypes=plane_dtypes, sky=sky, header_wcs_exact=header_wcs_exact,
        mask_schema=_afw_mask_schema(mask_planes),
        mask_hdus=[plane_hdus["mask"]] if "mask" in plane_hdus else [])


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
    gz = check_signature(path)
    if plane == "mask" and len(info.mask_hdus) > 1:
        return _read_combined_mask(path, info, gz)
    with fits_errors(path, f"read the {plane} plane"):
        with open_fits(path, gz) as hdul:
            try:
                hdu = hdul[index]  # lazily parses headers up to this HDU only
            except IndexError:
                raise BadFileError(f"{path}: HDU {index} of the {plane} plane is missing (file changed?)") from None
            hdr = hdu.header
            if plane == "image" and parse_section(hdr.get("DETSEC")) and parse_section(hdr.get("DATASEC")):
                all_hdus = scan_hdus(hdul)
                segs = amp_segments(all_hdus)
                if segs:
                    return assemble(all_hdus, segs)
            disk = disk_dtype(hdu)
            out_dtype = output_dtype(plane, disk)
            from astropy.io import fits

            if not gz and not isinstance(hdu, fits.CompImageHDU):
                arr = _read_raw_segment(path, hdu, out_dtype)
            else:
                _check_decompressed_size(path, hdu, plane)
                arr = read_with_astropy(hdu, out_dtype)
    expect = info.shape
    if arr.shape != tuple(expect):
        raise BadFileError(f"{path}: {plane} plane has shape {arr.shape}, expected {tuple(expect)}")
    return arr


def _read_combined_mask(path: str, info: ExposureInfo, gz: bool) -> np.ndarray:
    """Several MASK HDUs (lsst.images, > 31 planes) as one int64 array with the bits of
    ``info.mask_schema``: HDU k's planes moved to the bits that follow HDU k-1's."""
    from astropy.io import fits

    out = np.zeros(info.shape, dtype=np.int64)
    with fits_errors(path, "read the mask planes"):
        with open_fits(path, gz) as hdul:
            for k, index in enumerate(info.mask_hdus):
                hdu = hdul[index]
                if not gz and not isinstance(hdu, fits.CompImageHDU):
                    arr = _read_raw_segment(path, hdu, np.dtype(np.int32))
                else:
                    _check_decompressed_size(path, hdu, "mask")
                    arr = read_with_astropy(hdu, np.dtype(np.int32))
                if arr.shape != tuple(info.shape):
                    raise BadFileError(f"{path}: MASK HDU {k + 1} has shape {arr.shape}, expected {tuple(info.shape)}")
                planes = [p for p in info.mask_schema if p.hdu == k and p.hdu_bit is not None]
                if not planes:
                    continue
                shifts = {p.bit - p.hdu_bit for p in planes}
                wide = arr.astype(np.int64) & 0xFFFFFFFF  # the HDU's 32 bits, never sign-extended
                if len(shifts) == 1:  # the usual case: one shift moves the whole HDU
                    used = 0
                    for p in planes:
                        used |= 1 << p.hdu_bit
                    out |= (wide & used) << shifts.pop()
                else:
                    for p in planes:
                        out |= ((wide >> p.hdu_bit) & 1) << p.bit
    return out


MAX_DECOMPRESSED_BYTES = 4 * 1024**3  # one decompressed plane; LSST planes are < 100 MB


def _check_decompressed_size(path: str, hdu, plane: str) -> None:
    """Refuse a compressed plane whose header claims more than MAX_DECOMPRESSED_BYTES, before astropy
    allocates it: a few MB of gzip or tile-compressed zeros can claim gigabytes (a decompression bomb)."""
    nx, ny = naxes(hdu) if len(naxes(hdu)) == 2 else (0, 0)
    claimed = nx * ny * max(disk_dtype(hdu).itemsize, 4)
    if claimed > MAX_DECOMPRESSED_BYTES:
        raise BadFileError(f"{path}: the {plane} plane claims {ny} x {nx} pixels ({claimed / 1024**3:.1f} GiB "
                           f"decompressed), more than the {MAX_DECOMPRESSED_BYTES // 1024**3} GiB allowed")


def _read_raw_segment(path: str, hdu, out_dtype: np.dtype) -> np.ndarray:
    """Fast path: memory-map the HDU's data bytes (big-endian) and convert in one copy."""
    hdr = hdu.header
    nx, ny = naxes(hdu)
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
