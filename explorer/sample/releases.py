"""Samples shaped like Rubin's own releases: DP1 (LSSTComCam) and DP2 (LSSTCam).

``make_sample(dest, release="dp1"|"dp2")`` writes a real Gen3 Butler repository with the
release's instrument, cell-based skymap and dataset-type names, reusing the DC2 sample's content
model (:mod:`.content`: the same simulated sky, visits, pixels and measurements) under new names:

========================  ===============================  ===================================
                          dp1                              dp2
========================  ===============================  ===================================
instrument                LSSTComCam (9 detectors of R22,  LSSTCam (189 science detectors,
                          ids 0-8)                         obs_lsst ids)
physical filters          u_02 g_01 r_03 i_06 z_03 y_04    u_24 g_6 r_57 i_39 z_20 y_10
skymap                    lsst_cells_v1                    lsst_cells_v2
visit_image               ExposureF, afw FITS              VisitImage, written by lsst-images
deep_coadd                ExposureF, afw FITS              CellCoadd, written by lsst-images
source                    ArrowAstropy parquet (instrument, visit); units in the metadata: deg, nJy
object                    ArrowAstropy parquet (skymap, tract); ``{band}_psfFlux`` in nJy
difference_image          ExposureF                        DifferenceImage (lsst-images)
template_coadd            ExposureF                        CellCoadd (lsst-images)
========================  ===============================  ===================================

Difference images (the first four visit images) are the science pixels minus another noise
realisation of the same sky, so sources cancel; templates (one patch, every band) are coadds of
the same sky three times deeper.

Visit ids follow the releases' ``day_obs * 100000 + seq_num`` form. Coadds are 400 x 400
cut-outs of the patches around the field centre in the cells skymap's tract frame; they are
synthesised in the DC2 frame of the same tract (same centre, same projection; the two frames
differ by a whole-pixel shift because the cells tract is a whole number of 3000-pixel patches)
and shifted. One visit_image is registered but its file deleted, as in the DC2 sample. The second
patch's deep_coadds have one cell without data (a missing cell of the ``CellCoadd``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import afwfits, camera, content as C
from .release_files import (
    blank_cell,
    difference_image,
    object_table,
    relabel_exposure,
    source_table,
    write_arrow_astropy,
)

Progress = Optional[Callable[[str], None]]


@dataclasses.dataclass(frozen=True)
class Release:
    """What makes a sample look like one release."""

    name: str
    instrument: str
    instrument_class: str
    skymap: str
    physical_filters: dict
    image_format: str  # "afw" or "lsst.images"
    run: str
    chain: str
    detectors: tuple  # camera.DetectorGeom of the instrument's science detectors (content ids)
    detector_id: Callable[[int], int]  # content (LSSTCam numbering) id -> the instrument's id
    dither_deg: float
    reason: str

    @property
    def storage_classes(self) -> dict[str, str]:
        """Dataset type -> storage class the release registers it with."""
        lsst_images = self.image_format == "lsst.images"
        images = "VisitImage" if lsst_images else "ExposureF"
        coadds = "CellCoadd" if lsst_images else "ExposureF"
        return {"visit_image": images, "deep_coadd": coadds, "source": "ArrowAstropy", "object": "ArrowAstropy",
                "difference_image": "DifferenceImage" if lsst_images else "ExposureF", "template_coadd": coadds}


_R22 = tuple(d for d in camera.DETECTORS if d.raft == "R22")

RELEASES = {
    "dp1": Release(
        name="dp1", instrument="LSSTComCam", instrument_class="lsst.obs.lsst.LsstComCam", skymap="lsst_cells_v1",
        physical_filters={"u": "u_02", "g": "g_01", "r": "r_03", "i": "i_06", "z": "z_03", "y": "y_04"},
        image_format="afw", run="LSSTComCam/runs/DRP/DP1/v29_0_0/DM-50260", chain="LSSTComCam/DP1",
        detectors=_R22, detector_id=lambda d: d - _R22[0].id, dither_deg=0.12, reason="science_validation"),
    "dp2": Release(
        name="dp2", instrument="LSSTCam", instrument_class="lsst.obs.lsst.LsstCam", skymap="lsst_cells_v2",
        physical_filters={"u": "u_24", "g": "g_6", "r": "r_57", "i": "i_39", "z": "z_20", "y": "y_10"},
        image_format="lsst.images", run="LSSTCam/runs/DRP/DP2/v30_0_0/DM-53881", chain="LSSTCam/DP2",
        detectors=tuple(camera.DETECTORS), detector_id=lambda d: d, dither_deg=1.0, reason="field_survey_science"),
}
SKYMAPS_RUN = "skymaps"
COADD_BOX = (400, 400)
DIFFERENCE_IMAGES = 4  # difference images for the first visit images on disk
TEMPLATE_SEED_OFFSET = 7919  # another noise realisation of the same sky, for templates and differences


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


# ----- content ---------------------------------------------------------------------------------
@dataclasses.dataclass
class ReleaseContent:
    """The DC2 content model seen as the release: its tract, the cells-frame pixel offset, its visit ids."""

    release: Release
    content: C.SampleContent
    tract: int
    offset: tuple[int, int]  # cells-frame pixel = DC2-frame pixel + offset (same tract)
    visit_ids: dict  # content (DC2-style) visit id -> the release's id (day_obs * 100000 + seq_num)

    @property
    def visits(self):
        """The visits as the release registers them (release ids and physical filters)."""
        return [dataclasses.replace(v, id=self.visit_ids[v.id]) for v in self.content.visits]


def build_release_content(release: Release, seed: int) -> ReleaseContent:
    """The DC2 small sample's plan with the release's visits, detectors and cells-skymap coadds."""
    from explorer.sky import dc2_skymap, skymap_by_name

    cfg = dataclasses.replace(C.SIZES["small"], name=f"{release.name}-small", dither_deg=release.dither_deg)
    # Synthesis keeps the content's small visit ids (object ids are packed from them); the
    # registry, headers and tables use the release's day_obs * 100000 + seq_num form.
    visits = [dataclasses.replace(v, physical_filter=release.physical_filters[v.band])
              for v in C._make_visits(seed, cfg)]
    visit_ids = {v.id: v.day_obs * 100_000 + v.seq_num + 1 for v in visits}
    allowed = {d.id for d in release.detectors}
    calexps = [c for c in C._make_calexps(visits, cfg) if c.detector in allowed]
    if not any(not c.on_disk for c in calexps):  # the one registered-but-missing visit_image
        last = calexps[-1]
        calexps[-1] = dataclasses.replace(last, on_disk=False)
    cells = skymap_by_name(release.skymap)
    tract = int(cells.find_tract(*C.FOCUS).tract_id)
    t_cells, t_dc2 = cells.tract(tract), dc2_skymap().tract(tract)
    shift = np.array(t_cells.crpix) - np.array(t_dc2.crpix)
    if not np.allclose(shift, np.round(shift)):
        raise RuntimeError(f"tract {tract}: the cells and DC2 frames differ by a non-integer shift {shift}")
    offset = (int(round(shift[0])), int(round(shift[1])))
    fx, fy = (float(a) for a in t_cells.sky_to_pixel(*C.FOCUS))
    home = t_cells.find_patch(*C.FOCUS)
    px, py = home.index
    neighbour = (px + 1, py) if px + 1 < t_cells.num_patches[0] else (px - 1, py)
    coadds = []
    for ix, iy in ((px, py), neighbour):
        p = t_cells.patch(ix, iy)
        ib = p.inner_bbox
        cx = min(max(fx, ib[0] + COADD_BOX[0] / 2), ib[0] + ib[2] - COADD_BOX[0] / 2)
        cy = min(max(fy, ib[1] + COADD_BOX[1] / 2), ib[1] + ib[3] - COADD_BOX[1] / 2)
        x0, y0 = int(round(cx - COADD_BOX[0] / 2)), int(round(cy - COADD_BOX[1] / 2))
        # the cut-out snapped to the 150-pixel cell grid, so the coadd is whole cells
        cw = p.cell_inner_dimensions[0] or 1
        x0 -= (x0 - ib[0]) % cw
        y0 -= (y0 - ib[1]) % cw
        w = -(-COADD_BOX[0] // cw) * cw
        h = -(-COADD_BOX[1] // cw) * cw
        dc2_bbox = (x0 - offset[0], y0 - offset[1], w, h)
        coadds.append(C.CoaddSpec(tract, ix, iy, int(p.sequential_index), dc2_bbox))
    planted = C.planted_stars(seed, C.FOCUS[0], C.FOCUS[1], [13.0, 15.5, 16.0, 17.0])
    truth = C.TruthSky(seed, cfg.density, planted)
    content = C.SampleContent(seed=int(seed), size=cfg, visits=visits, calexps=calexps, coadds=coadds,
                              tracts=(tract,), truth=truth)
    return ReleaseContent(release, content, tract, offset, visit_ids)


# ----- registry ------------------------------------------------------------------------------
def _skymap_hash(name: str) -> bytes:
    from explorer.sky import skymap_by_name

    cfg = skymap_by_name(name).config
    return hashlib.sha1(repr(cfg).encode()).digest()


def insert_dimensions(butler, rc: ReleaseContent, progress: Progress = None) -> dict:
    """The release's instrument, visits and detectors (its own detector ids) and its cells skymap."""
    from explorer.sky import skymap_by_name

    from .gen3 import _polygon, insert_observations

    rel = rc.release
    reg = butler.registry
    counts = insert_observations(butler, rel.instrument, rel.instrument_class, rel.physical_filters, rel.detectors,
                                 rc.visits, detector_id=rel.detector_id, visit_max=2**40, target_name="DC2 field",
                                 reason=rel.reason, program=f"{rel.name.upper()} sample", progress=progress)
    sm = skymap_by_name(rel.skymap)
    t = sm.tract(rc.tract)
    reg.insertDimensionData("skymap", {"name": rel.skymap, "hash": _skymap_hash(rel.skymap),
                                       "tract_max": sm.num_tracts, "patch_nx_max": t.num_patches[0],
                                       "patch_ny_max": t.num_patches[1]})
    reg.insertDimensionData("tract", {"skymap": rel.skymap, "id": rc.tract, "region": _polygon(t.outer_vertices_deg)})
    reg.insertDimensionData("patch", *[
        {"skymap": rel.skymap, "tract": rc.tract, "id": int(p.sequential_index), "cell_x": int(p.index[0]),
         "cell_y": int(p.index[1]), "region": _polygon(p.outer_vertices_deg)} for p in t.patches()])
    return {"visit_detector_regions": counts["visit_detector_regions"], "patches_registered": len(t.patches()),
            "days": counts["days"]}


DIMENSIONS = {
    "visit_image": ("instrument", "visit", "detector"),
    "deep_coadd": ("band", "skymap", "tract", "patch"),
    "source": ("instrument", "visit"),
    "object": ("skymap", "tract"),
    "difference_image": ("instrument", "visit", "detector"),
    "template_coadd": ("band", "skymap", "tract", "patch"),
}


def _register(butler, rel: Release) -> None:
    from lsst.daf.butler import CollectionType, DatasetType

    reg = butler.registry
    for name, dims in DIMENSIONS.items():
        reg.registerDatasetType(DatasetType(name, dims, rel.storage_classes[name], universe=reg.dimensions))
    reg.registerRun(rel.run)
    reg.registerRun(SKYMAPS_RUN)
    reg.registerCollection(rel.chain, CollectionType.CHAINED, doc=f"{rel.name.upper()}-like sample: everything")
    reg.setCollectionChain(rel.chain, [rel.run, SKYMAPS_RUN])


def write_release(dest: Path, release_name: str, seed: int, progress: Progress = None) -> dict:
    """Write the release-shaped sample at ``dest`` (an empty or absent directory); the manifest."""
    from lsst.daf.butler import Butler, DatasetIdGenEnum, DatasetRef, FileDataset

    from .gen3 import EXPOSURE_STAND_IN, PARQUET_FORMATTER, _fix_formatters

    rel = RELEASES[release_name]
    t0 = time.perf_counter()
    _say(progress, f"planning the {release_name} sample ({rel.instrument}, {rel.skymap}, seed {seed})")
    rc = build_release_content(rel, seed)
    content = rc.content
    dest.mkdir(parents=True, exist_ok=True)
    Butler.makeRepo(os.fspath(dest))
    butler = Butler(os.fspath(dest), writeable=True)
    staging = dest / ".sample-staging"
    staging.mkdir()
    manifest: dict = {"layout": "gen3", "release": rel.name, "instrument": rel.instrument,
                      "instrument_class": rel.instrument_class, "skymap": rel.skymap, "tracts": [rc.tract],
                      "collections": {"defaults": rel.chain, "run": rel.run, "skymaps_run": SKYMAPS_RUN},
                      "storage_classes": rel.storage_classes, "physical_filters": rel.physical_filters,
                      "seed": int(seed), "image_format": rel.image_format}
    refs: dict = {}
    counts: dict = defaultdict(int)
    images: list = []
    coadds: list = []
    try:
        _say(progress, f"registering {rel.instrument}, its detectors, visits and the {rel.skymap} skymap")
        manifest["registry"] = insert_dimensions(butler, rc, progress)
        _register(butler, rel)
        types = {name: butler.get_dataset_type(name) for name in DIMENSIONS}
        pending = []

        def add(name: str, data_id: dict, path: Path, formatter: str):
            coord = butler.registry.expandDataId(data_id, dimensions=types[name].dimensions)
            ref = DatasetRef(types[name], coord, run=rel.run, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
            pending.append(FileDataset(path=str(path), refs=[ref], formatter=formatter))
            refs[(name, tuple(sorted(data_id.items())))] = ref
            counts[name] += 1
            return ref

        image_formatter = EXPOSURE_STAND_IN
        if rel.image_format == "lsst.images":
            from . import lsst_images_writer as LW

            image_formatter = "lsst.images.formatters.GenericFormatter"
        object_frames: list = []
        # the same sky with other noise (and a deeper template stack): templates and the images a
        # difference is taken against
        other = dataclasses.replace(content, seed=content.seed + TEMPLATE_SEED_OFFSET,
                                    size=dataclasses.replace(content.size, coadd_depth=3 * content.size.coadd_depth))
        for prod in C.iter_products(content):
            dtype, data_id, info = prod.dataset_type, prod.data_id, prod.info
            if dtype in ("src", "deepCoadd_mergeDet", "deepCoadd_forced_src"):
                continue  # not in the releases' names (their catalogs are tables)
            key = "_".join(str(v) for _, v in sorted(data_id.items()))
            if dtype == "calexp":
                v = dataclasses.replace(content.visit_by_id[data_id["visit"]], id=rc.visit_ids[data_id["visit"]])
                det_id = rel.detector_id(data_id["detector"])
                new_id = {"instrument": rel.instrument, "visit": v.id, "detector": det_id}
                _say(progress, f"visit_image visit {v.id} {v.band} detector {det_id}")
                data = relabel_exposure(prod.make(), rc, coadd=False)
                path = staging / f"visit_image_{v.id}_{det_id}.fits"
                if rel.image_format == "afw":
                    afwfits.write_exposure(path, data)
                else:
                    LW.write_visit_image(path, data, v, rel, det_id)
                ref = add("visit_image", new_id, path, image_formatter)
                images.append({"visit": v.id, "detector": det_id, "band": v.band, "physical_filter": v.physical_filter,
                               "bbox": list(info["bbox"]), "on_disk": prod.on_disk, "dataset_id": str(ref.id)})
                if prod.on_disk and counts["difference_image"] < DIFFERENCE_IMAGES:
                    diff = difference_image(data, relabel_exposure(
                        C.synthesize_calexp(other, data_id["visit"], data_id["detector"]), rc, coadd=False))
                    path = staging / f"difference_image_{v.id}_{det_id}.fits"
                    if rel.image_format == "afw":
                        afwfits.write_exposure(path, diff)
                    else:
                        LW.write_visit_image(path, diff, v, rel, det_id, difference=True)
                    add("difference_image", new_id, path, image_formatter)
            elif dtype == "sourceTable":
                df = source_table(rc, prod.make())
                path = staging / f"source_{key}.parq"
                write_arrow_astropy(path, df)
                add("source", {"instrument": rel.instrument, "visit": rc.visit_ids[data_id["visit"]]}, path,
                    PARQUET_FORMATTER)
            elif dtype == "deepCoadd_calexp":
                spec = next(c for c in content.coadds if c.patch_id == data_id["patch"])
                _say(progress, f"deep_coadd tract {rc.tract} patch {spec.patch_name} band {data_id['band']}")
                data = relabel_exposure(prod.make(), rc, coadd=True)
                missing_cell = None
                if spec is not content.coadds[0]:  # a cell without inputs, as cell coadds have at edges
                    data, missing_cell = blank_cell(data, rc, spec)
                path = staging / f"deep_coadd_{key}.fits"
                new_id = {"skymap": rel.skymap, "tract": rc.tract, "patch": spec.patch_id, "band": data_id["band"]}
                if rel.image_format == "afw":
                    afwfits.write_exposure(path, data)
                else:
                    LW.write_cell_coadd(path, data, rc, spec)
                add("deep_coadd", new_id, path, image_formatter)
                if spec is content.coadds[0]:  # templates: one patch, a deeper stack of other visits
                    tdata = relabel_exposure(C.synthesize_coadd(other, spec.tract, spec.patch_x, spec.patch_y,
                                                                 data_id["band"]), rc, coadd=True)
                    path = staging / f"template_coadd_{key}.fits"
                    if rel.image_format == "afw":
                        afwfits.write_exposure(path, tdata)
                    else:
                        LW.write_cell_coadd(path, tdata, rc, spec)
                    add("template_coadd", new_id, path, image_formatter)
                coadds.append({"tract": rc.tract, "patch": spec.patch_id, "patch_xy": [spec.patch_x, spec.patch_y],
                               "band": data_id["band"], "xy0": list(data.xy0),
                               "shape": [int(data.image.shape[0]), int(data.image.shape[1])],
                               "missing_cells": [missing_cell] if missing_cell else []})
            elif dtype == "objectTable":
                object_frames.append(prod.make())
            if len(pending) >= 48:
                butler.ingest(*pending, transfer="move")
                pending = []
        df = object_table(rc, object_frames)
        path = staging / f"object_{rc.tract}.parq"
        write_arrow_astropy(path, df)
        add("object", {"skymap": rel.skymap, "tract": rc.tract}, path, PARQUET_FORMATTER)
        butler.ingest(*pending, transfer="move")
        miss = next(i for i in images if not i["on_disk"])
        miss_ref = refs[("visit_image", tuple(sorted({"instrument": rel.instrument, "visit": miss["visit"],
                                                       "detector": miss["detector"]}.items())))]
        miss_path = butler.getURI(miss_ref).ospath
        os.remove(miss_path)
        manifest["missing"] = {"dataset_type": "visit_image", "data_id": {
            "instrument": rel.instrument, "visit": miss["visit"], "detector": miss["detector"]},
            "path": os.path.relpath(miss_path, dest)}
        manifest["object_rows"] = int(len(df))
    finally:
        butler.close()
        shutil.rmtree(staging, ignore_errors=True)
    manifest["formatter_records_rewritten"] = _fix_formatters(dest) if rel.image_format == "afw" else 0
    check = Butler(os.fspath(dest), writeable=False)
    try:
        for entry in images:
            ref = refs[("visit_image", tuple(sorted({"instrument": rel.instrument, "visit": entry["visit"],
                                                      "detector": entry["detector"]}.items())))]
            entry["path"] = os.path.relpath(check.getURI(ref).ospath, dest)
    finally:
        check.close()
    manifest.update({"visit_images": images, "coadds": coadds, "datasets": dict(counts),
                     "visits": [{"id": v.id, "band": v.band, "physical_filter": v.physical_filter, "ra": v.ra,
                                 "dec": v.dec, "day_obs": v.day_obs} for v in rc.visits],
                     "write_seconds": round(time.perf_counter() - t0, 2)})
    return manifest
