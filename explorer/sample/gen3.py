"""Write the sample as a real Gen3 Butler repository with lsst-daf-butler.

Order of work: ``Butler.makeRepo``; dimension records (instrument, filters, the 189 detectors,
day_obs/group/exposure/visit with timespans and sky regions, visit_detector_region, the DC2
skymap with its tracts and patches); dataset types and RUN/CHAINED collections; then the files,
streamed: each is synthesised from the content model, written into a staging folder inside the
repository and ingested with ``transfer="move"`` in batches, so at most one image is in memory and
nothing is left behind. Dataset ids are ``DATAID_TYPE_RUN`` UUIDs (reproducible from the data ID,
type and run). Finally the one missing calexp's file is deleted, the datastore records get the
real obs_base formatter names, and ``sample_manifest.json`` records the truth.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import afwfits, camera, content as C, optics
from .formatters import STAND_INS, CatalogStandInFormatter, ExposureStandInFormatter

Progress = Optional[Callable[[str], None]]

PARQUET_FORMATTER = "lsst.daf.butler.formatters.parquet.ParquetFormatter"
EXPOSURE_STAND_IN = f"{ExposureStandInFormatter.__module__}.{ExposureStandInFormatter.__name__}"
CATALOG_STAND_IN = f"{CatalogStandInFormatter.__module__}.{CatalogStandInFormatter.__name__}"

DATASET_TYPES = {
    # name: (dimensions, storage class, run)
    "calexp": (("instrument", "visit", "detector"), "ExposureF", C.RUN_CALEXP),
    "src": (("instrument", "visit", "detector"), "SourceCatalog", C.RUN_CALEXP),
    "sourceTable": (("instrument", "visit"), "DataFrame", C.RUN_CALEXP),
    "deepCoadd_calexp": (("band", "skymap", "tract", "patch"), "ExposureF", C.RUN_COADD),
    "deepCoadd_forced_src": (("band", "skymap", "tract", "patch"), "SourceCatalog", C.RUN_COADD),
    "deepCoadd_mergeDet": (("skymap", "tract", "patch"), "SourceCatalog", C.RUN_COADD),
    "objectTable": (("skymap", "tract", "patch"), "DataFrame", C.RUN_COADD),
}


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


def _timespan(begin, end):
    import astropy.time
    from lsst.daf.butler import Timespan

    return Timespan(astropy.time.Time(begin.replace(tzinfo=None), scale="tai"),
                    astropy.time.Time(end.replace(tzinfo=None), scale="tai"))


def _polygon(vertices):
    from explorer.sky.regions import to_sphgeom_polygon

    return to_sphgeom_polygon(vertices)


def insert_observations(butler, instrument: str, instrument_class: str, physical_filters: dict,
                        detectors, visits, *, detector_id: Optional[Callable[[int], int]] = None,
                        visit_max: int = 33554432, target_name: str = "DC2", reason: str = "imsim",
                        program: str = "DC2 Run2.2i", progress: Progress = None) -> dict:
    """The instrument's dimension records: instrument, physical filters, detectors, day_obs,
    group, exposure, visit (region: the hull of the detectors' corners), visit_definition,
    visit_system_membership and visit_detector_region.

    ``detectors``: :class:`camera.DetectorGeom` of the science detectors (content ids);
    ``detector_id`` maps a content id to the id the instrument registers (default: the same), so a
    release numbering its detectors otherwise (LSSTComCam: 0-8) shares this code. Returns counts.
    """
    from datetime import datetime, timedelta, timezone

    det_id = detector_id or (lambda d: d)
    reg = butler.registry
    inst = instrument
    reg.insertDimensionData("instrument", {
        "name": inst, "visit_max": visit_max, "exposure_max": visit_max, "detector_max": 1000,
        "class_name": instrument_class, "visit_system": 0})
    reg.insertDimensionData("physical_filter", *[
        {"instrument": inst, "name": pf, "band": band} for band, pf in physical_filters.items()])
    reg.insertDimensionData("detector", *[
        {"instrument": inst, "id": det_id(d.id), "full_name": d.full_name, "name_in_raft": d.name_in_raft,
         "raft": d.raft, "purpose": d.purpose} for d in detectors])
    reg.insertDimensionData("visit_system", {"instrument": inst, "id": 0, "name": "one-to-one"})
    days = sorted({v.day_obs for v in visits})

    def day_span(d: int):
        start = datetime.strptime(str(d), "%Y%m%d").replace(tzinfo=timezone.utc) + timedelta(hours=12)
        return _timespan(start, start + timedelta(days=1))

    reg.insertDimensionData("day_obs", *[{"instrument": inst, "id": d, "timespan": day_span(d)} for d in days])
    reg.insertDimensionData("group", *[{"instrument": inst, "name": str(v.id)} for v in visits])
    exposures, visit_rows, defs, members, vdr = [], [], [], [], []
    for v in visits:
        ts = _timespan(*v.timespan_tai())
        common = {"instrument": inst, "id": v.id, "day_obs": v.day_obs, "physical_filter": v.physical_filter,
                  "exposure_time": C.EXPOSURE_TIME, "target_name": target_name, "observation_reason": reason,
                  "science_program": program, "zenith_angle": v.zenith_angle, "azimuth": v.azimuth,
                  "seq_num": v.seq_num, "timespan": ts}
        exposures.append(dict(common, obs_id=str(v.id), group=str(v.id), dark_time=C.EXPOSURE_TIME,
                              observation_type="science", seq_start=v.seq_num, seq_end=v.seq_num,
                              tracking_ra=v.ra, tracking_dec=v.dec, sky_angle=v.sky_angle,
                              has_simulated=True, can_see_sky=True))
        corners = [optics.detector_corners_sky(v.pointing, d) for d in detectors]
        visit_rows.append(dict(common, name=str(v.id), region=_polygon(np.concatenate(corners))))
        defs.append({"instrument": inst, "exposure": v.id, "visit": v.id})
        members.append({"instrument": inst, "visit_system": 0, "visit": v.id})
        for d, c in zip(detectors, corners):
            vdr.append({"instrument": inst, "visit": v.id, "detector": det_id(d.id), "region": _polygon(c)})
    reg.insertDimensionData("exposure", *exposures)
    reg.insertDimensionData("visit", *visit_rows)
    reg.insertDimensionData("visit_definition", *defs)
    reg.insertDimensionData("visit_system_membership", *members)
    _say(progress, f"registering {len(vdr)} visit_detector_region records")
    for i in range(0, len(vdr), 5000):
        reg.insertDimensionData("visit_detector_region", *vdr[i:i + 5000])
    return {"visit_detector_regions": len(vdr), "days": len(days)}


def insert_dimensions(butler, content: C.SampleContent, progress: Progress = None) -> dict:
    """All dimension records of the sample. Returns counts for the manifest."""
    from explorer.sky import dc2_skymap

    reg = butler.registry
    counts = insert_observations(butler, content.instrument, camera.INSTRUMENT_CLASS, content.physical_filters,
                                 content.detectors, content.visits, progress=progress)
    # the DC2 skymap, with tract and patch regions = outer sky polygons (as lsst.skymap registers them)
    sm = dc2_skymap()
    reg.insertDimensionData("skymap", {
        "name": C.SKYMAP_NAME, "hash": content.skymap_hash(), "tract_max": C.SKYMAP_TRACT_MAX,
        "patch_nx_max": C.SKYMAP_PATCH_MAX, "patch_ny_max": C.SKYMAP_PATCH_MAX})
    tracts, patches = [], []
    for tid in content.tracts:
        t = sm.tract(tid)
        tracts.append({"skymap": C.SKYMAP_NAME, "id": tid, "region": _polygon(t.outer_vertices_deg)})
        for p in t.patches():
            px, py = p.index
            patches.append({"skymap": C.SKYMAP_NAME, "tract": tid, "id": int(p.sequential_index),
                            "cell_x": int(px), "cell_y": int(py), "region": _polygon(p.outer_vertices_deg)})
    reg.insertDimensionData("tract", *tracts)
    reg.insertDimensionData("patch", *patches)
    return {"visit_detector_regions": counts["visit_detector_regions"], "patches_registered": len(patches),
            "days": counts["days"]}


def register_collections_and_types(butler) -> None:
    from lsst.daf.butler import CollectionType, DatasetType

    reg = butler.registry
    for name, (dims, sc, _run) in DATASET_TYPES.items():
        reg.registerDatasetType(DatasetType(name, dims, sc, universe=reg.dimensions))
    for run in (C.RUN_CALEXP, C.RUN_COADD, C.RUN_SKYMAPS):
        reg.registerRun(run)
    reg.registerCollection(C.CHAIN_RUNS, CollectionType.CHAINED)
    reg.setCollectionChain(C.CHAIN_RUNS, [C.RUN_CALEXP, C.RUN_COADD])
    reg.registerCollection(C.CHAIN_DEFAULTS, CollectionType.CHAINED,
                           doc="DC2 Run2.2i defaults: processed visits, coadds and the skymap")
    reg.setCollectionChain(C.CHAIN_DEFAULTS, [C.RUN_CALEXP, C.RUN_COADD, C.RUN_SKYMAPS])


class _Ingester:
    """Collects staged files and ingests them into the butler in batches (transfer="move")."""

    def __init__(self, butler, staging: Path, batch: int = 48):
        from lsst.daf.butler import DatasetIdGenEnum

        self.butler = butler
        self.staging = staging
        self.batch = batch
        self.pending = []
        self.refs = {}
        self.bytes = defaultdict(int)
        self.counts = defaultdict(int)
        self._mode = DatasetIdGenEnum.DATAID_TYPE_RUN
        self._types = {name: butler.get_dataset_type(name) for name in DATASET_TYPES}

    def ref(self, dataset_type: str, data_id: dict):
        from lsst.daf.butler import DatasetRef

        dt = self._types[dataset_type]
        coord = self.butler.registry.expandDataId(data_id, dimensions=dt.dimensions)
        return DatasetRef(dt, coord, run=DATASET_TYPES[dataset_type][2], id_generation_mode=self._mode)

    def stage_path(self, name: str) -> Path:
        return self.staging / name

    def add(self, dataset_type: str, data_id: dict, path: Path, formatter: str):
        from lsst.daf.butler import FileDataset

        ref = self.ref(dataset_type, data_id)
        self.bytes[dataset_type] += path.stat().st_size
        self.counts[dataset_type] += 1
        self.pending.append(FileDataset(path=str(path), refs=[ref], formatter=formatter))
        self.refs[(dataset_type, data_id_key(data_id))] = ref
        if len(self.pending) >= self.batch:
            self.flush()
        return ref

    def flush(self) -> None:
        if self.pending:
            self.butler.ingest(*self.pending, transfer="move")
            self.pending = []


def data_id_key(data_id: dict) -> str:
    """A data ID as a stable string, e.g. ``detector=42,instrument=LSSTCam-imSim,visit=159408``."""
    return ",".join(f"{k}={v}" for k, v in sorted(data_id.items()))


def _fix_formatters(root: Path) -> int:
    """Replace the ingest-time stand-in formatter names by the real obs_base ones."""
    con = sqlite3.connect(os.fspath(root / "gen3.sqlite3"))
    try:
        n = 0
        for stand_in, real in STAND_INS.items():
            cur = con.execute("UPDATE file_datastore_records SET formatter = ? WHERE formatter = ?", (real, stand_in))
            n += cur.rowcount
        con.commit()
    finally:
        con.close()
    return n


def write_gen3(content: C.SampleContent, dest: Path, progress: Progress = None) -> dict:
    """Write the Gen3 repository at ``dest`` (must not exist or be empty). Returns the manifest dict."""
    from lsst.daf.butler import Butler

    t_start = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    Butler.makeRepo(os.fspath(dest))
    butler = Butler(os.fspath(dest), writeable=True)
    staging = dest / ".sample-staging"
    staging.mkdir()
    manifest: dict = {"layout": "gen3"}
    try:
        _say(progress, "registering instrument, detectors, visits and the DC2 skymap")
        manifest["registry"] = insert_dimensions(butler, content, progress)
        register_collections_and_types(butler)
        ing = _Ingester(butler, staging)
        rows = defaultdict(dict)
        calexp_info = []
        coadd_info = {}
        n_cal = len(content.calexps)
        done_cal = 0
        formatters = {"exposure": EXPOSURE_STAND_IN, "afw_catalog": CATALOG_STAND_IN, "dataframe": PARQUET_FORMATTER}
        for prod in C.iter_products(content):
            dtype, data_id, info = prod.dataset_type, prod.data_id, prod.info
            if dtype == "calexp":
                done_cal += 1
                det = camera.DETECTOR_BY_ID[data_id["detector"]]
                _say(progress, f"calexp {done_cal}/{n_cal}: visit {info['visit']} {info['band']} detector "
                               f"{det.id} ({det.full_name}) {info['bbox'][2]}x{info['bbox'][3]}")
            elif dtype == "deepCoadd_calexp" and (data_id["tract"], data_id["patch"]) not in coadd_info:
                _say(progress, f"coadd patch {len(coadd_info) + 1}/{len(content.coadds)}: tract {data_id['tract']} "
                               f"patch {info['patch']} {info['bbox'][2]}x{info['bbox'][3]}, "
                               f"bands {''.join(content.size.coadd_bands)}")
                coadd_info[(data_id["tract"], data_id["patch"])] = {
                    "tract": data_id["tract"], "patch": data_id["patch"], "patch_name": info["patch"],
                    "patch_xy": [int(a) for a in info["patch"].split(",")], "bbox": list(info["bbox"]),
                    "bands": list(content.size.coadd_bands)}
            data = prod.make()
            ext = "parq" if prod.kind == "dataframe" else "fits"
            path = ing.stage_path(f"{dtype}_{'_'.join(str(v) for _, v in sorted(data_id.items()))}.{ext}")
            if prod.kind == "exposure":
                afwfits.write_exposure(path, data, _butler_cards(ing.ref(dtype, data_id)))
            elif prod.kind == "afw_catalog":
                afwfits.write_source_catalog(path, data)
            else:
                afwfits.write_parquet(path, data)
            ref = ing.add(dtype, data_id, path, formatters[prod.kind])
            if dtype == "calexp":
                calexp_info.append({
                    "visit": info["visit"], "detector": info["detector"],
                    "detector_name": f"{info['raftName']}_{info['detectorName']}",
                    "band": info["band"], "physical_filter": info["filter"], "bbox": list(info["bbox"]),
                    "xy0": [info["bbox"][0], info["bbox"][1]], "on_disk": prod.on_disk,
                    "dataset_id": str(ref.id), "stats": data.stats,
                    "zero_point": content.visit_by_id[info["visit"]].zero_point,
                    "psf_sigma_px": content.visit_by_id[info["visit"]].psf_sigma_px,
                })
            elif dtype == "src":
                rows["src"][f"{info['visit']},{info['detector']}"] = len(data)
            elif dtype == "sourceTable":
                rows["sourceTable"][str(info["visit"])] = len(data)
                if content.size.source_table_all_detectors:
                    _say(progress, f"sourceTable visit {info['visit']}: {len(data)} rows "
                                   f"({sum(rows['sourceTable'].values())} so far)")
            elif dtype in ("deepCoadd_mergeDet", "objectTable"):
                rows[dtype][f"{data_id['tract']},{data_id['patch']}"] = len(data)
            elif dtype == "deepCoadd_forced_src":
                rows[dtype][f"{data_id['tract']},{data_id['patch']},{data_id['band']}"] = len(data)
            del data
        coadd_info = list(coadd_info.values())
        ing.flush()
        # ---- metadata is not data: one calexp stays registered while its file goes away
        miss = content.missing_calexp
        miss_id = {"instrument": content.instrument, "visit": miss.visit, "detector": miss.detector}
        miss_ref = ing.refs[("calexp", data_id_key(miss_id))]
        miss_uri = butler.getURI(miss_ref)
        os.remove(miss_uri.ospath)
        miss_rel = os.path.relpath(miss_uri.ospath, dest)
    finally:
        butler.close()
        shutil.rmtree(staging, ignore_errors=True)
    fixed = _fix_formatters(dest)
    paths: dict = defaultdict(dict)
    check = Butler(os.fspath(dest), writeable=False)
    try:
        for (dtype, key), ref in ing.refs.items():
            paths[dtype][key] = os.path.relpath(check.getURI(ref).ospath, dest)
    finally:
        check.close()
    for info in calexp_info:
        info["path"] = paths["calexp"][data_id_key({"instrument": content.instrument, "visit": info["visit"],
                                                    "detector": info["detector"]})]
    manifest.update({
        "calexps": calexp_info,
        "missing": {"dataset_type": "calexp", "data_id": miss_id, "path": miss_rel,
                    "dataset_id": str(miss_ref.id), "run": C.RUN_CALEXP},
        "coadds": coadd_info,
        "rows": {k: dict(v) for k, v in rows.items()},
        "row_totals": {k: int(sum(v.values())) for k, v in rows.items()},
        "datasets": dict(ing.counts),
        "bytes_by_dataset_type": dict(ing.bytes),
        "formatter_records_rewritten": fixed,
        "paths": {k: dict(v) for k, v in paths.items()},
        "write_seconds": round(time.perf_counter() - t_start, 2),
    })
    return manifest


def _butler_cards(ref) -> list[tuple]:
    """Provenance cards the butler's FITS formatters add to every file they write."""
    cards = [("LSST BUTLER ID", str(ref.id), "Dataset ID"),
             ("LSST BUTLER RUN", ref.run, "Run collection"),
             ("LSST BUTLER DATASETTYPE", ref.datasetType.name, "Dataset type")]
    for k, v in ref.dataId.required.items():
        cards.append((f"LSST BUTLER DATAID {k.upper()}", v, "Data identifier"))
    return cards
