"""Write the dp2 sample's images with lsst-images itself: ``VisitImage`` and ``CellCoadd`` FITS files.

The pixels, masks, WCS and PSF come from the DC2 content model (:class:`.content.ExposureData`);
this module only builds the lsst.images objects (image and variance in nJy, the mask with its
schema and plane descriptions, the sky projection from the exposure's FITS WCS on its detector or
tract frame, a Gaussian or per-cell PSF, observation info, photometric scaling, a one-detector
camera for the ``Detector``) and lets lsst.images write them, as DP2's ``GenericFormatter`` does.

The camera frame set is built from AST frames through lsst.images' AST bridge (the only way to
give a ``Detector`` its frames without afw); that bridge is a private module of lsst.images.
"""
from __future__ import annotations

import math
import os

import numpy as np

from . import camera
from .content import EXPOSURE_TIME, OBSERVATORY

#: What the sample's afw plane names mean, as lsst.images schemas describe planes.
PLANE_DOCS = {
    "BAD": "Bad pixel in the instrument, including bad amplifiers.",
    "SAT": "Pixel was saturated.",
    "INTRP": "Pixel value was interpolated from its neighbours.",
    "CR": "A cosmic ray affected this pixel.",
    "EDGE": "Pixel is too close to the image edge to be processed.",
    "DETECTED": "Pixel was part of a detected source.",
    "DETECTED_NEGATIVE": "Pixel was part of a negative detection.",
    "SUSPECT": "Pixel value is above the linear regime.",
    "NO_DATA": "No data was available for this pixel.",
    "CROSSTALK": "Pixel was affected by crosstalk and corrected accordingly.",
    "NOT_DEBLENDED": "Pixel is in a footprint too large to deblend.",
    "UNMASKEDNAN": "Pixel is NaN and was not masked otherwise.",
    "CLIPPED": "Pixel was clipped from at least one input.",
    "INEXACT_PSF": "The PSF model is inexact here.",
    "REJECTED": "At least one input was rejected here.",
    "SENSOR_EDGE": "Pixel is near a sensor edge in at least one input.",
}


def _mask(data, bbox):
    from lsst.images import Mask, MaskPlane, MaskSchema

    names = [n for n, _ in sorted(data.mask_planes.items(), key=lambda kv: kv[1])]
    schema = MaskSchema([MaskPlane(n, PLANE_DOCS.get(n, f"{n} (afw plane)")) for n in names])
    mask = Mask(0, schema=schema, bbox=bbox)
    bits = np.asarray(data.mask)
    for n in names:
        sel = (bits & (1 << int(data.mask_planes[n]))) != 0
        if sel.any():
            mask.set(n, sel)
    return mask


def _fits_wcs(data):
    from astropy.io import fits
    from astropy.wcs import WCS

    hdr = fits.Header()
    for key, value, *_ in data.wcs_cards:
        hdr[key] = value
    return WCS(hdr, relax=True)


def _camera(instrument: str, det: camera.DetectorGeom, det_id: int):
    """A one-detector camera frame set: detector pixels -> focal plane (mm) -> field angle (rad)."""
    from lsst.images._transforms import _ast as ast
    from lsst.images.cameras import CameraFrameSet

    fp = ast.Frame(2, "Ident=FOCAL_PLANE,Domain=FOCAL_PLANE")
    fp.setUnit(1, "mm")
    fp.setUnit(2, "mm")
    frames = ast.FrameSet(fp)
    cx, cy = det.fp_x_mm, det.fp_y_mm
    to_fp = ast.CmpMap(ast.CmpMap(ast.ShiftMap([-(det.nx - 1) / 2.0, -(det.ny - 1) / 2.0]),
                                  ast.ZoomMap(2, camera.PIXEL_SIZE_MM), True), ast.ShiftMap([cx, cy]), True)
    pix = ast.Frame(2, f"Ident=DETECTOR_{det_id},Domain=PIXELS,Bottom(1)=0,Top(1)={det.nx},"
                       f"Bottom(2)=0,Top(2)={det.ny}")
    frames.addFrame(ast.FrameSet.BASE, to_fp.inverted(), pix)
    rad_per_mm = math.radians(camera.PIXEL_SCALE_ARCSEC / 3600.0) / camera.PIXEL_SIZE_MM
    frames.addFrame(ast.FrameSet.BASE, ast.ZoomMap(2, rad_per_mm), ast.Frame(2, "Ident=FIELD_ANGLE,Domain=FIELD_ANGLE"))
    return CameraFrameSet(instrument, frames)


def _detector(instrument: str, det: camera.DetectorGeom, det_id: int, visit: int):
    import astropy.units as u
    from lsst.images import Box
    from lsst.images.cameras import Detector, DetectorAttributes, DetectorType, Orientation

    attrs = DetectorAttributes(
        name=det.full_name, id=det_id, type=DetectorType.SCIENCE, serial=det.serial,
        bbox=Box.factory[0:det.ny, 0:det.nx],
        orientation=Orientation(focal_plane_x=det.fp_x_mm, focal_plane_y=det.fp_y_mm, focal_plane_z=0.0,
                                pixel_reference_x=(det.nx - 1) / 2.0, pixel_reference_y=(det.ny - 1) / 2.0,
                                yaw=0.0 * u.rad, pitch=0.0 * u.rad, roll=0.0 * u.rad),
        pixel_size=camera.PIXEL_SIZE_MM, physical_type=det.serial.split("-")[0])
    return Detector(attrs, [], _camera(instrument, det, det_id), visit=visit)


def _obs_info(v, rel, det: camera.DetectorGeom, det_id: int):
    import astropy.units as u
    from astro_metadata_translator import ObservationInfo
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    begin, end = v.timespan_tai()
    return ObservationInfo(
        telescope="Simonyi Survey Telescope", instrument=rel.instrument,
        location=EarthLocation.from_geodetic(OBSERVATORY["lon"], OBSERVATORY["lat"], OBSERVATORY["elev"]),
        exposure_id=v.id, visit_id=v.id, physical_filter=v.physical_filter,
        datetime_begin=Time(begin.replace(tzinfo=None), scale="tai"),
        datetime_end=Time(end.replace(tzinfo=None), scale="tai"),
        exposure_time=EXPOSURE_TIME * u.s, exposure_time_requested=EXPOSURE_TIME * u.s,
        dark_time=EXPOSURE_TIME * u.s, boresight_airmass=float(v.airmass),
        boresight_rotation_angle=float(v.rot_angle) * u.deg, boresight_rotation_coord="sky",
        detector_num=det_id, detector_name=det.name_in_raft, detector_unique_name=det.full_name,
        detector_serial=det.serial, detector_group=det.raft, object="DC2 field",
        tracking_radec=SkyCoord(v.ra * u.deg, v.dec * u.deg, frame="icrs"),
        science_program=f"{rel.name.upper()} sample", observation_type="science",
        observation_id=str(v.id), observation_reason=rel.reason, has_simulated_content=True,
        can_see_sky=True)


def write_visit_image(path: str | os.PathLike, data, v, rel, det_id: int, difference: bool = False) -> int:
    """Write one visit image (``data``: the content's ExposureData, pixels in nJy) with lsst.images;
    a ``DifferenceImage`` when ``difference``."""
    import astropy.units as u
    from lsst.images import (Box, DetectorFrame, DifferenceImage, Image, ObservationSummaryStats, SkyProjection,
                             VisitImage)
    from lsst.images.fields import ChebyshevField
    from lsst.images.psfs import GaussianPointSpreadFunction

    det_geom = camera.DETECTOR_BY_ID[next(d.id for d in rel.detectors if rel.detector_id(d.id) == det_id)]
    ny, nx = data.image.shape
    x0, y0 = data.xy0
    bbox = Box.factory[y0:y0 + ny, x0:x0 + nx]
    det_box = Box.factory[0:det_geom.ny, 0:det_geom.nx]
    frame = DetectorFrame(instrument=rel.instrument, visit=v.id, detector=det_id, bbox=det_box)
    projection = SkyProjection.from_fits_wcs(_fits_wcs(data), frame, pixel_bounds=det_box, x0=x0, y0=y0)
    calib = float(data.stats.get("njy_per_adu", data.photo_calib[0])) / camera.GAIN  # nJy per electron
    image = Image(np.asarray(data.image, np.float32), bbox=bbox, unit=u.nJy, sky_projection=projection)
    variance = Image(np.asarray(data.variance, np.float32), bbox=bbox, unit=u.nJy ** 2)
    zp = -2.5 * math.log10(calib * 1e-9 / 3631.0)
    stats = ObservationSummaryStats(psfSigma=float(data.psf_sigma), zeroPoint=zp, ra=float(v.ra), dec=float(v.dec),
                                    pixelScale=camera.PIXEL_SCALE_ARCSEC, expTime=EXPOSURE_TIME)
    obj = (DifferenceImage if difference else VisitImage)(
        image, mask=_mask(data, bbox), variance=variance, sky_projection=projection,
        obs_info=_obs_info(v, rel, det_geom, det_id), summary_stats=stats,
        photometric_scaling=ChebyshevField(det_box, np.array([[calib]]), unit=u.nJy / u.electron),
        psf=GaussianPointSpreadFunction(float(data.psf_sigma), det_box, 25),
        detector=_detector(rel.instrument, det_geom, det_id, v.id), band=v.band,
        metadata={"SEEING": float(dict((k, val) for k, val, *_ in data.primary_cards).get("SEEING", 0.0))})
    obj.write(os.fspath(path))
    return os.path.getsize(path)


def write_cell_coadd(path: str | os.PathLike, data, rc, spec) -> int:
    """Write one cell coadd: ``data`` is in the cells tract frame (xy0 shifted), whole 150-pixel cells."""
    import astropy.units as u
    from lsst.images import Box, Image, SkyProjection, TractFrame
    from lsst.images.cells import CellCoadd, CellGrid, CellGridBounds, CellPointSpreadFunction, PatchDefinition
    from lsst.images import YX

    from explorer.sky import skymap_by_name

    t = skymap_by_name(rc.release.skymap).tract(rc.tract)
    p = t.patch(spec.patch_x, spec.patch_y)
    ny, nx = data.image.shape
    x0, y0 = data.xy0
    bbox = Box.factory[y0:y0 + ny, x0:x0 + nx]
    tract_box = Box.factory[0:t.bbox[3], 0:t.bbox[2]]
    frame = TractFrame(skymap=rc.release.skymap, tract=rc.tract, bbox=tract_box)
    projection = SkyProjection.from_fits_wcs(_fits_wcs(data), frame, pixel_bounds=tract_box, x0=x0, y0=y0)
    ob = p.outer_bbox
    cw = p.cell_inner_dimensions[0]
    grid = CellGrid(bbox=Box.factory[ob[1]:ob[1] + ob[3], ob[0]:ob[0] + ob[2]], cell_shape=YX(cw, cw))
    # no data in a cell -> that cell is missing (the content's NO_DATA corner)
    nodata_bit = 1 << int(data.mask_planes["NO_DATA"])
    ni, nj = ny // cw, nx // cw
    missing = set()
    from lsst.images.cells import CellIJ

    gi0, gj0 = (y0 - ob[1]) // cw, (x0 - ob[0]) // cw
    for i in range(ni):
        for j in range(nj):
            block = np.asarray(data.mask)[i * cw:(i + 1) * cw, j * cw:(j + 1) * cw]
            if np.all(block & nodata_bit):
                missing.add(CellIJ(i=gi0 + i, j=gj0 + j))
    bounds = CellGridBounds(grid=grid, bbox=bbox, missing=frozenset(missing))
    sigma = float(data.psf_sigma)
    r = 10
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    psfs = np.empty((ni, nj, 2 * r + 1, 2 * r + 1))
    for i in range(ni):
        for j in range(nj):
            s = sigma * (1.0 + 0.02 * (i - j))  # a PSF that varies from cell to cell
            k = np.exp(-(xx ** 2 + yy ** 2) / (2 * s * s))
            psfs[i, j] = k / k.sum()
    image = Image(np.asarray(data.image, np.float32), bbox=bbox, unit=u.nJy, sky_projection=projection)
    variance = Image(np.asarray(data.variance, np.float32), bbox=bbox, unit=u.nJy ** 2)
    ib = p.inner_bbox
    patch = PatchDefinition(id=int(p.sequential_index), index=YX(int(p.index[1]), int(p.index[0])),
                            inner_bbox=Box.factory[ib[1]:ib[1] + ib[3], ib[0]:ib[0] + ib[2]], cells=grid)
    obj = CellCoadd(image, mask=_mask(data, bbox), variance=variance, sky_projection=projection,
                    band=dict((k, val) for k, val, *_ in data.primary_cards).get("FILTER"),
                    psf=CellPointSpreadFunction(psfs, bounds=bounds), patch=patch)
    obj.write(os.fspath(path))
    return os.path.getsize(path)
