"""Read files in Rubin's current image format, the one ``lsst-images`` writes (DP2 and later).

The format (storage classes ``VisitImage``, ``DifferenceImage``, ``CellCoadd``, ``MaskedImage``;
daf_butler's ``lsst.images.formatters.GenericFormatter``) is a FITS container: a data-less primary
HDU with ``FMTVER``/``JSONADDR``/``INDXADDR`` and ``DATAMODL`` (the schema URL), tile-compressed
``IMAGE``/``MASK``/``VARIANCE`` HDUs, and a JSON-tree HDU that holds everything else (observation
info, PSF, photometric scaling, summary statistics, detector, the exact pixel -> sky mapping as
AST text, the cell grid of a coadd). lsst.images is the reference implementation of that tree,
so it is read through lsst.images' own API (``serialization.open_archive``: the tree and single
components, never the pixels). The pixel planes are read by :mod:`.fits` straight from their
HDUs, so asking for the image never decodes the mask, and a view reads only the plane it shows.

Mask planes come from each MASK HDU's ``MSKNnnnn`` (name), ``MSKMnnnn`` (bit mask) and
``MSKDnnnn`` (description) cards; more than 31 planes spill into further ``MASK`` HDUs
(``EXTVER`` 2, ...), whose bits the explorer puts after the first HDU's (see
:class:`explorer.repo.model.MaskPlane`).

Why this module is over 400 lines: it is the reader of one format; each private function maps
one part of the lsst.images tree (observation info, summary statistics, detector, photometric
scaling, PSF, cells) onto :mod:`explorer.repo.model`, in one pass over the archive. The pixel
planes are read by :mod:`.fits`, the exact sky mapping is :mod:`.ast_wcs`.
"""
from __future__ import annotations

import math
import os
from typing import Any, Optional

import numpy as np

from .errors import BadFileError
from .fitsio import clean_str, header_dict, make_wcs, naxes
from .model import CellGrid, ExposureInfo, MaskPlane, PsfImage, PsfModel

SCHEMA_PREFIX = "https://images.lsst.io/schemas/"
AB_FLUX_NJY = 3631e9

#: lsst.images schema name -> the class (and butler storage class) it is.
KINDS = {"visit_image": "VisitImage", "difference_image": "DifferenceImage", "cell_coadd": "CellCoadd",
         "masked_image": "MaskedImage", "image": "Image", "color_image": "ColorImage"}


def is_lsst_images(primary_header) -> bool:
    """Whether a primary header is that of an lsst.images FITS file."""
    model = clean_str(primary_header.get("DATAMODL")) or ""
    return model.startswith(SCHEMA_PREFIX) or (
        "JSONADDR" in primary_header and "INDXADDR" in primary_header and "FMTVER" in primary_header)


def _schema_kind(primary_header) -> Optional[str]:
    model = clean_str(primary_header.get("DATAMODL")) or ""
    name = model[len(SCHEMA_PREFIX):].rsplit("-", 1)[0] if model.startswith(SCHEMA_PREFIX) else ""
    return KINDS.get(name, name or None)


# ----- mask planes ---------------------------------------------------------------------------
def mask_schema_from_headers(headers: list) -> list[MaskPlane]:
    """Every plane of every MASK HDU (``MSKN/MSKM/MSKD`` cards), bits combined across HDUs."""
    out: list[MaskPlane] = []
    offset = 0
    for k, hdr in enumerate(headers):
        planes = []
        for card in hdr.cards:
            key = card.keyword
            if not (key.startswith("MSKN") and key[4:].isdigit()):
                continue
            n = key[4:]
            name = clean_str(card.value)
            mask = hdr.get(f"MSKM{n}")
            if not name or not isinstance(mask, (int, np.integer)) or isinstance(mask, bool) or mask <= 0:
                continue
            mask = int(mask)
            if mask & (mask - 1):  # not a single bit: the format says always 1 << n
                continue
            planes.append((mask.bit_length() - 1, name, clean_str(hdr.get(f"MSKD{n}"))))
        planes.sort()
        for hdu_bit, name, desc in planes:
            out.append(MaskPlane(name=name, bit=offset + hdu_bit, description=desc, hdu=k, hdu_bit=hdu_bit))
        if planes:
            offset += planes[-1][0] + 1
    return out


# ----- JSON tree -> our model ------------------------------------------------------------------
def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _time_iso(t: Any) -> Optional[str]:
    try:
        return t.tai.isot
    except Exception:
        return None


def _visit_info(obs: Any) -> dict[str, Any]:
    """ObservationInfo (astro_metadata_translator) -> the explorer's visit_info keys."""
    if obs is None:
        return {}
    out: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        if value is None:
            return
        if hasattr(value, "unit") and hasattr(value, "value"):  # Quantity / Angle
            value = float(np.asarray(value.value))
        if isinstance(value, (np.integer,)):
            value = int(value)
        if isinstance(value, (np.floating,)):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            return
        out[key] = value

    g = lambda name: getattr(obs, name, None)  # noqa: E731
    put("exposure_id", g("exposure_id"))
    put("visit", g("visit_id"))
    put("observation_id", g("observation_id"))
    put("exposure_time", g("exposure_time"))
    put("dark_time", g("dark_time"))
    begin, end = g("datetime_begin"), g("datetime_end")
    if begin is not None and end is not None:
        try:
            put("date", (begin.tai + (end.tai - begin.tai) / 2).isot)
        except Exception:
            pass
    put("date_begin", _time_iso(begin) if begin is not None else None)
    put("date_end", _time_iso(end) if end is not None else None)
    if begin is not None:
        out["time_system"] = "TAI"
        try:
            put("mjd_obs", float(begin.tai.mjd))
        except Exception:
            pass
    radec = g("tracking_radec")
    if radec is not None:
        try:
            put("boresight_ra", float(radec.ra.deg))
            put("boresight_dec", float(radec.dec.deg))
        except Exception:
            pass
    altaz = g("altaz_begin")
    if altaz is not None:
        try:
            put("boresight_az", float(altaz.az.deg))
            put("boresight_alt", float(altaz.alt.deg))
        except Exception:
            pass
    put("boresight_airmass", g("boresight_airmass"))
    put("boresight_rot_angle", g("boresight_rotation_angle"))
    put("rot_type", g("boresight_rotation_coord"))
    loc = g("location")
    if loc is not None:
        try:
            geo = loc.to_geodetic()
            put("observatory_longitude", float(geo.lon.deg))
            put("observatory_latitude", float(geo.lat.deg))
            put("observatory_elevation", float(geo.height.to_value("m")))
        except Exception:
            pass
    for key, name in (("instrument", "instrument"), ("telescope", "telescope"),
                      ("observation_type", "observation_type"), ("science_program", "science_program"),
                      ("observation_reason", "observation_reason"), ("object", "object"),
                      ("has_simulated_content", "has_simulated_content"), ("filter", "physical_filter"),
                      ("physical_filter", "physical_filter"), ("day_obs", "day_obs"),
                      ("exposure_group", "exposure_group")):
        put(key, g(name))
    for key in ("relative_humidity", "pressure", "temperature"):
        put(key, g(key))
    return {k: v for k, v in out.items() if isinstance(v, (str, int, float, bool))}


def _summary_stats(stats: Any) -> dict[str, Any]:
    if stats is None:
        return {}
    try:
        raw = stats.model_dump()
    except Exception:
        return {}
    out = {}
    for k, v in raw.items():
        if k in ("schema_version", "min_read_version", "schema_url", "metadata", "butler_info"):
            continue
        if _finite(v):
            out[k] = v
        elif isinstance(v, (list, tuple)) and v and all(_finite(x) for x in v):
            out[k] = list(v)
    return out


def _detector(tree: Any) -> Optional[dict[str, Any]]:
    det = getattr(tree, "detector", None)
    attrs = getattr(det, "attributes", None) if det is not None else None
    if attrs is None:
        return None
    out = {"id": getattr(attrs, "id", None), "name": getattr(attrs, "name", None),
           "serial": getattr(attrs, "serial", None)}
    if getattr(attrs, "physical_type", None):
        out["physical_type"] = attrs.physical_type
    dtype = getattr(attrs, "type", None)
    if dtype is not None:
        out["type"] = getattr(dtype, "value", str(dtype))
    return out


def _pixel_unit(tree: Any) -> Optional[str]:
    data = getattr(getattr(tree, "image", None), "data", None)
    unit = getattr(data, "unit", None)
    return None if unit is None else unit.to_string()


def _zero_point(image_unit: Optional[str], scaling: Optional[float]) -> Optional[float]:
    """AB magnitude of one pixel unit: nJy images need no scaling, instrumental ones do."""
    if image_unit is not None:
        import astropy.units as u

        try:
            njy = (1 * u.Unit(image_unit)).to_value(u.nJy)
            if njy > 0:
                return -2.5 * math.log10(njy / AB_FLUX_NJY)
        except (u.UnitConversionError, ValueError, TypeError):
            pass
    if scaling is not None and scaling > 0:
        return -2.5 * math.log10(scaling / AB_FLUX_NJY)
    return None


def _psf(reader: Any, tree: Any, centre: tuple[float, float], scale: Optional[float]) -> Optional[PsfModel]:
    if getattr(tree, "psf", None) is None:
        return None
    model = tree.psf
    kind = type(model).__name__.replace("SerializationModel", "")
    params: dict[str, Any] = {}
    for key in ("sigma", "stamp_size"):
        if _finite(getattr(model, key, None)):
            params[key] = getattr(model, key)
    sigma = params.get("sigma")
    image = None
    try:
        psf = reader.get_component("psf")
        kind = type(psf).__name__
        kernel = psf.compute_kernel_image(x=centre[0], y=centre[1])
        arr = np.array(kernel.array, dtype=np.float64)
        image = PsfImage(array=arr, x=centre[0], y=centre[1])
        if sigma is None:
            sigma = moment_sigma(arr)
    except Exception:
        psf = None
    fwhm = float(sigma) * 2.0 * math.sqrt(2.0 * math.log(2.0)) * scale if sigma and scale else None
    return PsfModel(kind=kind, sigma_pixels=float(sigma) if sigma else None, fwhm_arcsec=fwhm,
                    params=params, image=image)


def moment_sigma(arr: np.ndarray) -> Optional[float]:
    """Gaussian-equivalent sigma (pixels) of a kernel image from its second moments."""
    a = np.clip(np.asarray(arr, float), 0, None)
    total = a.sum()
    if not total > 0:
        return None
    ny, nx = a.shape
    y, x = np.mgrid[0:ny, 0:nx]
    cx, cy = (a * x).sum() / total, (a * y).sum() / total
    ixx = (a * (x - cx) ** 2).sum() / total
    iyy = (a * (y - cy) ** 2).sum() / total
    s = math.sqrt(max((ixx + iyy) / 2.0, 0.0))
    return s if s > 0 else None


def _cells(reader: Any, tree: Any, sky_frame: Any, shape: tuple[int, int], xy0: tuple[int, int]) -> Optional[CellGrid]:
    """The cell grid of a cell coadd: from the PSF's cell bounds (which list the missing cells),
    else from the patch definition; one PSF image per present cell."""
    psf_tree = getattr(tree, "psf", None)
    bounds = getattr(psf_tree, "bounds", None)
    patch = getattr(tree, "patch", None)
    if bounds is None or not hasattr(bounds, "grid"):
        if patch is None:
            return None
    grid = bounds.grid if bounds is not None and hasattr(bounds, "grid") else patch.cells
    cy, cx = int(grid.cell_shape.y), int(grid.cell_shape.x)
    gx0, gy0 = int(grid.bbox.x.start), int(grid.bbox.y.start)
    rows, cols = int(grid.bbox.y.size) // cy, int(grid.bbox.x.size) // cx
    (ny, nx), (x0, y0) = shape, xy0
    i0, j0 = (int(y0) - gy0) // cy, (int(x0) - gx0) // cx
    i1, j1 = math.ceil((int(y0) + ny - gy0) / cy), math.ceil((int(x0) + nx - gx0) / cx)
    missing = sorted((int(c.i), int(c.j)) for c in getattr(bounds, "missing", ()) or ())
    psfs: list[PsfImage] = []
    try:
        psf = reader.get_component("psf")
        for index in psf.bounds.cell_indices():
            kernel = psf[index]
            bx, by, bw, bh = gx0 + index.j * cx, gy0 + index.i * cy, cx, cy
            psfs.append(PsfImage(array=np.array(kernel.array, dtype=np.float64), x=bx + (bw - 1) / 2.0,
                                 y=by + (bh - 1) / 2.0, cell=(int(index.i), int(index.j))))
    except Exception:
        pass
    out = CellGrid(grid_origin=(gx0, gy0), cell_shape=(cy, cx), grid_size=(rows, cols), first_cell=(i0, j0),
                   num_cells=(i1 - i0, j1 - j0), missing=missing, psfs=psfs)
    if sky_frame is not None:
        out.skymap = getattr(sky_frame, "skymap", None)
        out.tract = getattr(sky_frame, "tract", None)
    if patch is not None:
        out.patch = int(patch.id)
        out.patch_index = (int(patch.index.x), int(patch.index.y))
        ib = patch.inner_bbox
        out.patch_inner_bbox = (int(ib.x.start), int(ib.y.start), int(ib.x.size), int(ib.y.size))
    return out


# ----- the reader --------------------------------------------------------------------------------
def read_exposure_info(path: str | os.PathLike, hdus: list) -> ExposureInfo:
    """An :class:`ExposureInfo` for an lsst.images FITS file whose HDUs astropy has listed.

    ``hdus``: the file's HDUs (lazily loaded astropy HDUs; only headers are used here).
    """
    from .ast_wcs import AstSkyMapping

    path = os.fspath(path)
    primary = hdus[0].header
    plane_hdus: dict[str, int] = {}
    mask_hdus: list[tuple[int, int]] = []
    extra: dict[str, int] = {}
    for i, hdu in enumerate(hdus[1:], start=1):
        name = (clean_str(hdu.header.get("EXTNAME")) or "").upper()
        if name == "MASK":
            mask_hdus.append((int(hdu.header.get("EXTVER", 1) or 1), i))
        elif name in ("IMAGE", "VARIANCE"):
            plane_hdus.setdefault(name.lower(), i)
        elif name and len(naxes(hdu)) >= 2 and name not in ("JSON", "INDEX"):
            extra[name] = i
    mask_hdus.sort()
    if mask_hdus:
        plane_hdus["mask"] = mask_hdus[0][1]
    if "image" not in plane_hdus:
        raise BadFileError(f"{path}: lsst.images file without an IMAGE HDU (schema {primary.get('DATAMODL')})")
    image_hdr = hdus[plane_hdus["image"]].header
    nx, ny = naxes(hdus[plane_hdus["image"]])
    for name, i in plane_hdus.items():
        if naxes(hdus[i]) != (nx, ny):
            raise BadFileError(f"{path}: {name} plane is {naxes(hdus[i])[::-1]}, image is {(ny, nx)}")
    for _, i in mask_hdus:
        if naxes(hdus[i]) != (nx, ny):
            raise BadFileError(f"{path}: a MASK HDU is {naxes(hdus[i])[::-1]}, image is {(ny, nx)}")
    schema = mask_schema_from_headers([hdus[i].header for _, i in mask_hdus])

    from lsst.images import serialization as ser

    try:
        with ser.open_archive(path, partial=True) as reader:
            tree = reader.get_tree()
            info = _from_tree(path, reader, tree, primary, (ny, nx), AstSkyMapping)
    except BadFileError:
        raise
    except Exception as exc:  # pydantic validation, unknown schema, broken JSON ...
        raise BadFileError(f"{path}: lsst.images could not read its JSON tree "
                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
    if not schema and getattr(getattr(tree, "mask", None), "planes", None):
        schema = [MaskPlane(name=p.name, bit=b, description=p.description, hdu=b // 31, hdu_bit=b % 31)
                  for b, p in enumerate(tree.mask.planes) if p is not None]
    info.plane_hdus = plane_hdus
    info.mask_hdus = [i for _, i in mask_hdus]
    info.mask_schema = schema
    info.mask_planes = {p.name: p.bit for p in schema}
    info.extra_planes = extra
    wide = bool(schema) and max(p.bit for p in schema) >= 31
    info.plane_dtypes = {"image": "float32", "variance": "float32", **({"mask": "int64" if wide else "int32"}
                                                                        if mask_hdus else {})}
    for name in ("image", "variance"):
        if name in plane_hdus:
            bitpix = int(hdus[plane_hdus[name]].header.get("ZBITPIX", hdus[plane_hdus[name]].header.get("BITPIX", -32)))
            if bitpix == -64:
                info.plane_dtypes[name] = "float64"
    from astropy.io import fits

    info.compressed = any(isinstance(hdus[i], fits.CompImageHDU) for i in plane_hdus.values())
    header_wcs = make_wcs(image_hdr, None)
    if header_wcs is not None:
        info.wcs = header_wcs
    elif info.sky is not None:
        from .ast_wcs import approximate_fits_wcs

        info.wcs = approximate_fits_wcs(info.sky, info.shape, info.xy0)
    return info


def _from_tree(path: str, reader: Any, tree: Any, primary, shape: tuple[int, int], AstSkyMapping) -> ExposureInfo:
    img = tree.image
    yx0 = tuple(int(v) for v in img.yx0)
    xy0 = (yx0[1], yx0[0])
    ny, nx = shape
    kind = _schema_kind(primary) or type(tree).__name__.replace("SerializationModel", "").split("[")[0]

    # Exact sky mapping: lsst.images' own projection object, its pixel -> sky AST mapping as text.
    sky = None
    sky_frame = None
    if getattr(tree, "sky_projection", None) is not None:
        try:
            frames = tree.sky_projection.pixel_to_sky.frames
            sky_frame = frames[0] if frames else None
        except Exception:
            sky_frame = None
        try:
            projection = reader.get_component("sky_projection")
            sky = AstSkyMapping(projection.pixel_to_sky_transform.show(simplified=True), source="lsst.images (AST)")
        except Exception as exc:
            raise BadFileError(f"{path}: cannot read the sky projection "
                               f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None

    centre = (xy0[0] + (nx - 1) / 2.0, xy0[1] + (ny - 1) / 2.0)
    scale = sky.pixel_scale_arcsec(*centre) if sky is not None else None

    image_unit = _pixel_unit(tree)
    units = {"image": image_unit} if image_unit else {}
    var = getattr(getattr(tree, "variance", None), "data", None)
    if getattr(var, "unit", None) is not None:
        units["variance"] = var.unit.to_string()

    photo_calib = None
    scaling = None
    if getattr(tree, "photometric_scaling", None) is not None:
        try:
            field = reader.get_component("photometric_scaling")
            scaling = float(np.asarray(field(x=centre[0], y=centre[1])))
            unit = getattr(field, "unit", None)
            photo_calib = {"mean": scaling, "unit": None if unit is None else unit.to_string(),
                           "constant": bool(getattr(field, "is_constant", False))}
        except Exception:
            scaling = None
    stats = _summary_stats(getattr(tree, "summary_stats", None))
    zero_point = _zero_point(image_unit, scaling)
    if photo_calib is not None and scaling:
        photo_calib["zero_point_instrumental"] = -2.5 * math.log10(scaling / AB_FLUX_NJY)

    obs = getattr(tree, "obs_info", None)
    visit_info = _visit_info(obs)
    band = getattr(tree, "band", None)
    physical = getattr(obs, "physical_filter", None) if obs is not None else None
    filter_label = {"band": band, "physical": physical} if (band or physical) else None
    detector = _detector(tree)
    if sky_frame is not None and getattr(sky_frame, "frame_type", None) == "DETECTOR":
        visit_info.setdefault("visit", getattr(sky_frame, "visit", None))
        visit_info.setdefault("instrument", getattr(sky_frame, "instrument", None))
        if detector is None:
            detector = {"id": getattr(sky_frame, "detector", None), "name": None, "serial": None}
    visit_info = {k: v for k, v in visit_info.items() if v is not None}

    metadata = header_dict(primary)
    for key, value in (getattr(tree, "metadata", None) or {}).items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            metadata.setdefault(str(key), value)

    info = ExposureInfo(
        path=path, shape=(ny, nx), xy0=xy0, plane_hdus={}, mask_planes={}, wcs=None, metadata=metadata,
        visit_info=visit_info, zero_point_mag=zero_point, photo_calib=photo_calib, filter_label=filter_label,
        detector=detector, psf=_psf(reader, tree, centre, scale), archive=[], compressed=True,
        format="lsst.images", kind=kind, sky=sky, units=units, summary_stats=stats)
    if kind == "CellCoadd" or getattr(tree, "patch", None) is not None:
        info.cells = _cells(reader, tree, sky_frame, (ny, nx), xy0)
    return info
