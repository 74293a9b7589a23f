"""The DC2 sample's files relabelled for a release (DP1, DP2): exposures, difference images, tables.

:mod:`explorer.sample.releases` writes a release-shaped repository from the DC2 content model; the
pieces here turn one synthesised file into the release's: instrument, detector and skymap names
and the cells tract frame in exposures (:func:`relabel_exposure`), difference images, a coadd
cell without data, and the ``source``/``object`` tables written as daf_butler's ArrowAstropy
storage class does (:func:`write_arrow_astropy`).
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
import pandas as pd

from . import content as C

if TYPE_CHECKING:
    from .releases import ReleaseContent


def relabel_exposure(data: C.ExposureData, rc: ReleaseContent, *, coadd: bool) -> C.ExposureData:
    """The DC2 synthesis relabelled for the release: instrument and detector ids, skymap and frame."""
    rel = rc.release
    cards = []
    for key, value, comment in data.primary_cards:
        if key in ("INSTRUMENT", "INSTRUME"):
            value = rel.instrument
        elif key == "SKYMAP":
            value = rel.skymap
        elif key == "PROGRAM":
            value = f"{rel.name.upper()} sample"
        elif key == "REASON":
            value = rel.reason
        elif key in ("EXPID", "IDNUM") and value in rc.visit_ids:
            value = rc.visit_ids[value]
        elif key == "CCDVISIT" and data.detector is not None:
            visit = value // 1000
            value = rc.visit_ids.get(visit, visit) * 1000 + rel.detector_id(data.detector["id"])
        cards.append((key, value, comment))
    det = None
    if data.detector is not None:
        det = dict(data.detector, id=rel.detector_id(data.detector["id"]))
    xy0 = data.xy0
    if coadd:
        xy0 = (xy0[0] + rc.offset[0], xy0[1] + rc.offset[1])
        return dataclasses.replace(data, primary_cards=cards, detector=det, xy0=xy0)
    # The releases' visit images are calibrated: pixels in nJy (PhotoCalib mean 1).
    calib, err = data.photo_calib
    cards = [c for c in cards if c[0] not in ("BUNIT",)] + [("BUNIT", "nJy", "pixel units")]
    stats = dict(data.stats, njy_per_adu=float(calib))
    return dataclasses.replace(data, image=(data.image * np.float32(calib)).astype(np.float32),
                               variance=(data.variance * np.float32(calib) ** 2).astype(np.float32),
                               photo_calib=(1.0, float(err) / float(calib)), primary_cards=cards, detector=det,
                               xy0=xy0, stats=stats)


def difference_image(science: C.ExposureData, other: C.ExposureData) -> C.ExposureData:
    """A difference image: the science pixels minus another realisation of the same sky (both nJy),
    so sources cancel and noise, cosmic rays and saturation residuals remain; variances add."""
    image = (science.image - other.image).astype(np.float32)
    variance = (science.variance + other.variance).astype(np.float32)
    cards = [c for c in science.primary_cards if c[0] != "IMGTYPE"] + [("IMGTYPE", "DIFFERENCE", "")]
    return dataclasses.replace(science, image=image, variance=variance, primary_cards=cards,
                               stats=dict(science.stats, kind="difference"))


def blank_cell(data: C.ExposureData, rc: ReleaseContent, spec: C.CoaddSpec) -> tuple[C.ExposureData, list[int]]:
    """The coadd with its last cell (top right of the cut-out) holding no data: NaN pixels and
    variance, only NO_DATA set; so the sample has a missing cell (``CellCoadd`` lists it as such).
    Returns the coadd and the cell's (i, j) in the patch's cell grid."""
    from explorer.sky import skymap_by_name

    p = skymap_by_name(rc.release.skymap).tract(rc.tract).patch(spec.patch_x, spec.patch_y)
    cw = int(p.cell_inner_dimensions[0])
    ny, nx = data.image.shape
    ys, xs = slice(ny - cw, ny), slice(nx - cw, nx)
    image, variance, mask = data.image.copy(), data.variance.copy(), data.mask.copy()
    image[ys, xs] = np.nan
    variance[ys, xs] = np.nan
    mask[ys, xs] = 1 << int(data.mask_planes["NO_DATA"])
    ob = p.outer_bbox
    cell = [(data.xy0[1] + ny - cw - ob[1]) // cw, (data.xy0[0] + nx - cw - ob[0]) // cw]
    return dataclasses.replace(data, image=image, variance=variance, mask=mask), cell


def object_table(rc: ReleaseContent, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One tract's ``object`` table from the patches' DP0.2-style rows, in the cells frame."""
    from explorer.sky import skymap_by_name

    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return df
    t = skymap_by_name(rc.release.skymap).tract(rc.tract)
    df["x"] = df["x"] + rc.offset[0]
    df["y"] = df["y"] + rc.offset[1]
    inner = np.zeros(len(df), bool)
    for pid in np.unique(df["patch"]):
        p = t.patch_from_sequential(int(pid))
        ib = p.inner_bbox
        rows = df["patch"].to_numpy() == pid
        inner[rows] = ((df["x"][rows] >= ib[0] - 0.5) & (df["x"][rows] < ib[0] + ib[2] - 0.5)
                       & (df["y"][rows] >= ib[1] - 0.5) & (df["y"][rows] < ib[1] + ib[3] - 0.5)).to_numpy()
    df["detect_isPatchInner"] = inner
    df["detect_isPrimary"] = inner & (df["deblend_nChild"].to_numpy() == 0)
    df = df.drop(columns=[c for c in df.columns if c.endswith(("_psFlux", "_psFluxErr"))])
    return df


def source_table(rc: ReleaseContent, df: pd.DataFrame) -> pd.DataFrame:
    """A visit's DC2 ``sourceTable`` as the release's ``source`` table (ids and column names)."""
    rel = rc.release
    df = df.copy()
    if len(df):
        det = df["detector"].to_numpy()
        df["detector"] = np.array([rel.detector_id(int(d)) for d in det], np.int64)
        df["visit"] = np.array([rc.visit_ids[int(v)] for v in df["visit"].to_numpy()], np.int64)
        df["ccdVisitId"] = df["visit"].to_numpy() * 1000 + df["detector"].to_numpy()
    df = df.rename(columns={"psFlux": "psfFlux", "psFluxErr": "psfFluxErr"})
    return df


def unit_of(column: str) -> Optional[str]:
    """The unit a release table gives a column (Rubin's schemas: degrees, nJy, pixels)."""
    if column in ("coord_ra", "coord_dec", "ra", "dec"):
        return "deg"
    if column.endswith(("Flux", "FluxErr")):
        return "nJy"
    if column in ("x", "y", "xErr", "yErr"):
        return "pix"
    return None


def write_arrow_astropy(path: Path, df: pd.DataFrame) -> int:
    """Write a table as daf_butler's ArrowAstropy storage class does: parquet whose
    ``table_meta_yaml`` carries each column's unit (so a reader knows nJy from counts)."""
    import astropy.table
    import astropy.units as u
    import pyarrow.parquet as pq
    from lsst.daf.butler.formatters.parquet import astropy_to_arrow

    table = astropy.table.Table.from_pandas(df)
    for name in table.colnames:
        unit = unit_of(name)
        if unit is not None:
            table[name].unit = u.Unit(unit)
    pq.write_table(astropy_to_arrow(table), os.fspath(path), compression="snappy")
    return os.path.getsize(path)
