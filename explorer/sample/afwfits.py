"""Write afw-layout FITS files with astropy: Exposures (calexp, coadds) and SourceCatalogs.

The layout follows files written by lsst.afw (see shared/lsst-real: exposure-version-2.fits,
HSC-0908120-056-small.fits, the piff exp.fits, sourceCatalog-hsc-v2.fits):

Exposure
    [0] primary, no data: VisitInfo cards (EXPID, EXPTIME, DATE-AVG, BORE-RA, ...), ``EXPINFO_V``,
        ``AR_HDU`` (1-based index of ARCHIVE_INDEX) and ``<NAME>_ID`` / ``ARCHIVE_ID_<NAME>`` cards;
    [1] IMAGE float32, [2] MASK int32 with ``MP_<PLANE> = bit`` cards, [3] VARIANCE float32, each with
        ``EXTTYPE`` and ``EXTNAME``, the WCS in the image's own pixel frame, ``LTV1/LTV2 = -xy0``, the
        ``A`` alternate WCS (``CRVAL1A = x0``) and ``INHERIT = T``;
    [4] ARCHIVE_INDEX (``id, cat.archive, cat.persistable, row0, nrows, name, module``), then one
        ARCHIVE_DATA table per catalog: PhotoCalib + ChebyshevBoundedField, GaussianPsf, Detector,
        FilterLabel.
SourceCatalog
    [0] empty primary; [1] the table: a bit-packed ``flags`` column (``TFORM = 'nX'``, names in
    ``TFLAGn``), then the fields with ``TDOCn``/``TCCLSn``/``TUNITn``, ``ALIAS`` cards,
    ``AFW_TYPE = 'SOURCE'`` and ``AFW_TABLE_VERSION = 3``.

Not written (cannot be produced without afw/AST): the AST-serialised SkyWcs archive entry (the WCS is
in the image headers, as in older afw files), TransformMap and amplifier tables, Footprints.
"""
from __future__ import annotations

import os
import warnings
from typing import Iterable, Optional

import numpy as np
from astropy.io import fits

from .catalog_layouts import AfwCatalog
from .content import ExposureData

_INDEX_COLUMNS = [
    ("id", "J", "Archive ID of the persistable object that owns the records pointed at by this entry"),
    ("cat.archive", "J", "index of the catalog this entry points to, from the perspective of the archive"),
    ("cat.persistable", "J", "index of the catalog this entry points to, from the perspective of the Persistable"),
    ("row0", "J", "first row used by the persistable object in this catalog"),
    ("nrows", "J", "number of rows used by the persistable object in this catalog"),
    ("name", "64A", "unique name for the persistable object's class"),
    ("module", "64A", "Python module that should be imported to register the object's factory"),
]


def _card(header: fits.Header, key: str, value, comment: str = "") -> None:
    if isinstance(value, (np.floating,)):
        value = float(value)
    elif isinstance(value, (np.integer,)):
        value = int(value)
    elif isinstance(value, np.bool_):
        value = bool(value)
    if len(key) > 8 or "-" in key and len(key) > 8:
        key = key if key.startswith("HIERARCH ") else key
    header.append(fits.Card(key, value, comment[:46] if comment else ""), end=True)


def _afw_table(columns: list[tuple[str, str, np.ndarray, str, str, str]], ar_name: str, cat_n: int,
               flags: Optional[tuple[list[str], list[str], np.ndarray]] = None,
               extname: Optional[str] = None, index_extra: Optional[list[tuple]] = None) -> fits.BinTableHDU:
    """A BinTableHDU in afw.table style.

    ``columns``: (name, TFORM, values, doc, unit, TCCLS). ``flags``: (names, docs, (n, k) bool array).
    """
    cols = []
    if flags is not None and len(flags[0]):
        cols.append(fits.Column(name="flags", format=f"{len(flags[0])}X", array=flags[2]))
    for name, form, values, _doc, unit, _cls in columns:
        cols.append(fits.Column(name=name, format=form, array=values, unit=unit or None))
    hdu = fits.BinTableHDU.from_columns(cols)
    h = hdu.header
    offset = 0
    if flags is not None and len(flags[0]):
        h["TTYPE1"] = ("flags", "bits for all Flag fields; see also TFLAGn")
        h.set("FLAGCOL", 1, "Column number for the bitflags.", after="TFORM1")
        for k, (fname, fdoc) in enumerate(zip(flags[0], flags[1]), start=1):
            h[f"TFLAG{k}"] = fname
            h[f"TFDOC{k}"] = fdoc
        offset = 1
    for i, (name, _form, _values, doc, _unit, cls) in enumerate(columns, start=1 + offset):
        h.set(f"TTYPE{i}", name, doc[:47] if doc else None)
        h.set(f"TDOC{i}", doc, after=f"TFORM{i}")
        h.set(f"TCCLS{i}", cls, "Field template used by lsst.afw.table", after=f"TDOC{i}")
    h["EXTTYPE"] = "ARCHIVE_DATA" if ar_name not in ("ARCHIVE_INDEX",) else "ARCHIVE_INDEX"
    if extname:
        h["EXTNAME"] = extname
    h["AR_CATN"] = (cat_n, "# of this catalog relative to the start of this archive")
    for key, value, comment in index_extra or []:
        h[key] = (value, comment)
    if ar_name != "ARCHIVE_INDEX":
        h["AR_NAME"] = (ar_name, "Class name for objects stored here")
    h["HIERARCH AFW_TABLE_VERSION"] = 3
    return hdu


def _plane_header(kind: str, data: ExposureData) -> fits.Header:
    h = fits.Header()
    for key, value, comment in data.wcs_cards:
        _card(h, key, value, comment)
    x0, y0 = data.xy0
    _card(h, "LTV1", float(-x0))
    _card(h, "LTV2", float(-y0))
    _card(h, "INHERIT", True)
    _card(h, "EXTTYPE", kind)
    _card(h, "EXTNAME", kind)
    if kind == "MASK":
        for name, bit in sorted(data.mask_planes.items()):
            key = f"MP_{name}"
            h.append(fits.Card(f"HIERARCH {key}" if len(key) > 8 else key, int(bit)), end=True)
    for key, value, comment in (
            ("CTYPE1A", "LINEAR", "Type of projection"), ("CTYPE2A", "LINEAR", "Type of projection"),
            ("CRPIX1A", 1.0, "Column Pixel Coordinate of Reference"),
            ("CRPIX2A", 1.0, "Row Pixel Coordinate of Reference"),
            ("CRVAL1A", float(x0), "Column pixel of Reference Pixel"),
            ("CRVAL2A", float(y0), "Row pixel of Reference Pixel"),
            ("CUNIT1A", "PIXEL", "Column unit"), ("CUNIT2A", "PIXEL", "Row unit")):
        _card(h, key, value, comment)
    return h


def exposure_hdus(data: ExposureData, extra_cards: Iterable[tuple] = ()) -> fits.HDUList:
    """The HDUList of an afw Exposure (see module docstring)."""
    # archive: id 1 PhotoCalib, 2 ChebyshevBoundedField, 3 GaussianPsf, 4 Detector, 5 FilterLabel
    ny, nx = data.image.shape
    x0, y0 = data.xy0
    mean, err = data.photo_calib
    photo = _afw_table([
        ("calibrationMean", "D", np.array([mean]), "mean calibration on this PhotoCalib's domain", "count", "Scalar"),
        ("calibrationErr", "D", np.array([err]), "1-sigma error on calibrationMean", "count", "Scalar"),
        ("field", "J", np.array([2], np.int32), "archive ID of the BoundedField object", "", "Scalar"),
        ("version", "J", np.array([1], np.int32), "version of this PhotoCalib", "", "Scalar"),
    ], "PhotoCalib", 1, flags=(["isConstant"], ["Is this spatially-constant?"], np.array([[True]])),
        extname="PhotoCalib")
    cheb = _afw_table([
        ("order_x", "J", np.array([0], np.int32), "maximum Chebyshev function order in x", "", "Scalar"),
        ("bbox_min_x", "J", np.array([x0], np.int32), "bounding box (minimum)", "pixel", "Scalar"),
        ("bbox_min_y", "J", np.array([y0], np.int32), "bounding box (minimum)", "pixel", "Scalar"),
        ("bbox_max_x", "J", np.array([x0 + nx - 1], np.int32), "bounding box (maximum)", "pixel", "Scalar"),
        ("bbox_max_y", "J", np.array([y0 + ny - 1], np.int32), "bounding box (maximum)", "pixel", "Scalar"),
        ("coefficients", "1D", np.array([mean]), "Chebyshev function coefficients, ordered by y then x", "", "Array"),
    ], "ChebyshevBoundedField", 2, extname="ChebyshevBoundedField")
    dim = int(2 * np.ceil(5 * data.psf_sigma) + 1)
    psf = _afw_table([
        ("dimensions_x", "J", np.array([dim], np.int32), "width/height of realization of Psf", "pixel", "Scalar"),
        ("dimensions_y", "J", np.array([dim], np.int32), "width/height of realization of Psf", "pixel", "Scalar"),
        ("sigma", "D", np.array([data.psf_sigma]), "radius of Gaussian", "pixel", "Scalar"),
    ], "GaussianPsf", 3, extname="GaussianPsf")
    band, physical = data.filter_label
    filt = _afw_table([
        ("band", "32A", np.array([band]), "Name of the band.", "", "String"),
        ("physical", "32A", np.array([physical]), "Name of the physical filter.", "", "String"),
    ], "FilterLabel", 5, flags=(["band_exists", "physical_exists"],
                                ["Existence flag for band", "Existence flag for physical"],
                                np.array([[True, True]])), extname="FilterLabel")
    archive = [photo, cheb, psf]
    index_rows = [(1, 1, 0, 0, 1, "PhotoCalib", "lsst.afw.image"),
                  (2, 2, 0, 0, 1, "ChebyshevBoundedField", "lsst.afw.math"),
                  (3, 3, 0, 0, 1, "GaussianPsf", "lsst.afw.detection")]
    ids = {"PHOTOCALIB": 1, "PSF": 3, "FILTER": 5}
    if data.detector is not None:
        d = data.detector
        bx0, by0, bw, bh = d["bbox"]
        det = _afw_table([
            ("name", "PA()", np.array([d["name"]], dtype=object), "Name of the detector", "", "String"),
            ("id", "J", np.array([d["id"]], np.int32), "Integer ID for the detector", "", "Scalar"),
            ("type", "J", np.array([0], np.int32), "Raw DetectorType enum value", "", "Scalar"),
            ("serial", "PA()", np.array([d["serial"]], dtype=object), "Serial name of the detector", "", "String"),
            ("bbox_min_x", "J", np.array([bx0], np.int32), "Detector bounding box (minimum)", "pixel", "Scalar"),
            ("bbox_min_y", "J", np.array([by0], np.int32), "Detector bounding box (minimum)", "pixel", "Scalar"),
            ("bbox_max_x", "J", np.array([bx0 + bw - 1], np.int32), "Detector bounding box (maximum)", "pixel",
             "Scalar"),
            ("bbox_max_y", "J", np.array([by0 + bh - 1], np.int32), "Detector bounding box (maximum)", "pixel",
             "Scalar"),
            ("pixelSize_x", "D", np.array([d["pixel_mm"]]), "Physical pixel size", "mm", "Scalar"),
            ("pixelSize_y", "D", np.array([d["pixel_mm"]]), "Physical pixel size", "mm", "Scalar"),
            ("fpPosition_x", "D", np.array([d["fp_mm"][0]]), "Focal plane position of reference point", "mm", "Scalar"),
            ("fpPosition_y", "D", np.array([d["fp_mm"][1]]), "Focal plane position of reference point", "mm", "Scalar"),
            ("refPoint_x", "D", np.array([(bw - 1) / 2.0]), "Pixel position of reference point", "pixel", "Scalar"),
            ("refPoint_y", "D", np.array([(bh - 1) / 2.0]), "Pixel position of reference point", "pixel", "Scalar"),
            ("yaw", "D", np.array([0.0]), "Rotation about Z (X to Y), 1st rotation", "rad", "Angle"),
            ("pitch", "D", np.array([0.0]), "Rotation about Y' (Z'=Z to X'), 2nd rotation", "rad", "Angle"),
            ("roll", "D", np.array([0.0]), "Rotation about X'' (Y''=Y' to Z''), 3rd rotation", "rad", "Angle"),
            ("transformMap", "J", np.array([0], np.int32), "Archive ID of TransformMap", "", "Scalar"),
            ("physicalType", "PA()", np.array([d["physical_type"]], dtype=object), "Physical type of the detector",
             "", "String"),
        ], "Detector", 4, extname="Detector")
        archive.append(det)
        index_rows.append((4, 4, 0, 0, 1, "Detector", "lsst.afw.cameraGeom"))
        ids["DETECTOR"] = 4
    archive.append(filt)
    index_rows.append((5, len(archive), 0, 0, 1, "FilterLabel", "lsst.afw.image"))
    # the FilterLabel catalog number follows the others
    filt.header["AR_CATN"] = len(archive)
    rows = sorted(index_rows, key=lambda r: r[0])
    index = _afw_table([
        (name, form, np.array([r[i] for r in rows]) if form != "J" else np.array([r[i] for r in rows], np.int32),
         doc, "", "String" if form.endswith("A") else "Scalar")
        for i, (name, form, doc) in enumerate(_INDEX_COLUMNS)
    ], "ARCHIVE_INDEX", 0, extname="ARCHIVE_INDEX",
        index_extra=[("AR_NCAT", len(archive) + 1, "# of catalogs in this archive, including the index")])
    primary = fits.PrimaryHDU()
    ph = primary.header
    ph.append(fits.Card("HIERARCH EXPINFO_V", 2), end=True)
    ph.append(fits.Card("AR_HDU", 5, "HDU (1-indexed) containing the archive used to"), end=True)
    for name, aid in ids.items():
        ph.append(fits.Card(f"HIERARCH {name}_ID", aid, f"archive ID for generic component '{name}'"), end=True)
        ph.append(fits.Card(f"HIERARCH ARCHIVE_ID_{name}", aid, f"archive ID for generic component '{name}'"), end=True)
    for key, value, comment in list(data.primary_cards) + list(extra_cards):
        if isinstance(value, (np.floating,)):
            value = float(value)
        elif isinstance(value, (np.integer,)):
            value = int(value)
        k = key if (len(key) <= 8 and " " not in key) else f"HIERARCH {key}"
        ph.append(fits.Card(k, value, comment or ""), end=True)
    hdus = [primary]
    for kind, arr in (("IMAGE", data.image), ("MASK", data.mask), ("VARIANCE", data.variance)):
        hdus.append(fits.ImageHDU(data=arr, header=_plane_header(kind, data)))
    hdus.append(index)
    hdus.extend(archive)
    return fits.HDUList(hdus)


def _writeto(hdul: fits.HDUList, path: str | os.PathLike) -> None:
    # afw also truncates long HIERARCH comments; astropy warns about each one, which is noise here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Card is too long", category=fits.verify.VerifyWarning)
        hdul.writeto(os.fspath(path), overwrite=True, output_verify="silentfix")


def write_exposure(path: str | os.PathLike, data: ExposureData, extra_cards: Iterable[tuple] = ()) -> int:
    """Write an afw-layout Exposure FITS file; returns its size in bytes."""
    _writeto(exposure_hdus(data, extra_cards), path)
    return os.path.getsize(path)


def _tform(dtype: str) -> str:
    return {"i8": "K", "i4": "J", "f8": "D", "f4": "E", "i2": "I", "?": "L"}[np.dtype(dtype).str[1:]]


def catalog_hdus(cat: AfwCatalog) -> fits.HDUList:
    """The HDUList of an afw SourceCatalog (see module docstring)."""
    columns = [(f.name, _tform(f.dtype), np.asarray(cat.data[f.name]).astype(f.dtype), f.doc, f.unit, f.cls)
               for f in cat.fields]
    hdu = _afw_table(columns, "SOURCE", 0, flags=(cat.flag_names, cat.flag_docs, cat.flags))
    h = hdu.header
    for key in ("EXTTYPE", "AR_CATN", "AR_NAME", "AFW_TABLE_VERSION"):
        if key in h:
            del h[key]
    for alias in cat.aliases:
        h.append(fits.Card("ALIAS", alias), end=True)
    for key, value, comment in cat.header:
        k = key if len(key) <= 8 else f"HIERARCH {key}"
        h.append(fits.Card(k, value, comment or ""), end=True)
    h.append(fits.Card("HIERARCH AFW_TABLE_VERSION", 3), end=True)
    h.append(fits.Card("AFW_TYPE", "SOURCE"), end=True)
    return fits.HDUList([fits.PrimaryHDU(), hdu])


def write_source_catalog(path: str | os.PathLike, cat: AfwCatalog) -> int:
    """Write an afw SourceCatalog FITS file; returns its size in bytes."""
    _writeto(catalog_hdus(cat), path)
    return os.path.getsize(path)


def write_parquet(path: str | os.PathLike, df) -> int:
    """Write a DataFrame as the butler's ParquetFormatter would (pyarrow, pandas metadata kept)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, os.fspath(path), compression="snappy")
    return os.path.getsize(path)
