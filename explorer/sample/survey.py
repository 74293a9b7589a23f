"""A survey-scale, registry-heavy Gen3 repository: millions of registry rows, a handful of files.

``repo-explorer make-sample DIR --size survey`` writes, with the real ``lsst-daf-butler``, what a
Rubin data release looks like to the registry: an LSSTCam-like instrument (the 189 science
detectors of :mod:`.camera`), thousands of visits spread over a block of DC2 tracts, one
``visit_detector_region`` per (visit, detector) with its real sky polygon (so the registry's
spatial joins work), a ``calexp`` registered for every one of them and a ``deepCoadd_calexp`` for
every patch of every tract in six bands. Only a handful of small calexp files are written (the
first visit's first detectors); every other dataset is registered without a file, which is what
``inventory --check-files`` then reports as missing.

It is built for speed: dimension records and datasets go in with bulk inserts (``expand=False``,
data IDs built by hand), detector polygons are computed per visit with numpy, and dataset ids are
reproducible (``DATAID_TYPE_RUN``). :func:`survey_size` gives the named sizes; the benchmark
(``bench/growth.py``) builds smaller ones with :func:`write_survey` directly.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import afwfits, camera, optics

Progress = Optional[Callable[[str], None]]

INSTRUMENT = "LSSTCam-survey"
SKYMAP = "DC2"
RUN_CALEXP = "survey/runs/calexp"
RUN_COADD = "survey/runs/coadd"
CHAIN = "survey/defaults"
CENTER = (60.0, -35.0)  # where the block of tracts is centred (RA, Dec deg)
FIRST_VISIT = 2025_00001 // 100 * 100  # 202500000: LSSTCam-style large visit ids
BATCH = 20000  # rows per insert call
FILES_ON_DISK = 4  # calexps of the first visit written as real (small) files


@dataclass(frozen=True)
class SurveySize:
    """How many visits (x 189 detectors) and tracts (x patches x 6 bands)."""

    name: str
    visits: int
    tracts: int

    def expected_datasets(self, patches_per_tract: int = 49) -> int:
        return self.visits * len(camera.DETECTORS) + self.tracts * patches_per_tract * len(camera.BANDS)


SURVEY_SIZES = {
    "survey": SurveySize("survey", visits=5000, tracts=200),  # ~ 1.0 M datasets
    "survey-250k": SurveySize("survey-250k", visits=1250, tracts=50),
    "survey-25k": SurveySize("survey-25k", visits=125, tracts=5),
}


def survey_size(name: str) -> SurveySize:
    return SURVEY_SIZES[name]


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


def choose_tracts(n: int, center: tuple[float, float] = CENTER) -> list[int]:
    """The ``n`` DC2 tracts whose centres are nearest ``center``: a compact block of sky."""
    from explorer.sky import dc2_skymap
    from explorer.sky.geometry import radec_to_xyz

    sm = dc2_skymap()
    ra, dec = sm.all_tract_centers()
    dots = radec_to_xyz(ra, dec) @ radec_to_xyz(*center)
    return sorted(int(t) for t in np.argsort(-dots)[:n])


def _detector_fp_corners() -> tuple[np.ndarray, np.ndarray]:
    """Focal-plane (u, v) of the 4 outer pixel corners of every detector: arrays (n_det, 4)."""
    us, vs = [], []
    for d in camera.DETECTORS:
        xs = np.array([-0.5, d.nx - 0.5, d.nx - 0.5, -0.5])
        ys = np.array([-0.5, -0.5, d.ny - 0.5, d.ny - 0.5])
        u, v = d.pixel_to_fp(xs, ys)
        us.append(u)
        vs.append(v)
    return np.array(us), np.array(vs)


def plan_visits(n_visits: int, tracts: list[int], seed: int) -> list[dict]:
    """Visits with boresights spread uniformly over the tracts' sky, bands and times at random."""
    from explorer.sky import dc2_skymap

    rng = np.random.default_rng(seed)
    sm = dc2_skymap()
    boxes = [sm.tract(t).outer_vertices_deg for t in tracts]
    visits = []
    t0 = datetime(2025, 6, 1, 23, 0, tzinfo=timezone.utc)
    for i in range(n_visits):
        box = boxes[int(rng.integers(len(boxes)))]
        ra_lo, ra_hi = float(box[:, 0].min()), float(box[:, 0].max())
        if ra_hi - ra_lo > 180:  # a tract across RA 0
            ra_lo, ra_hi = float(box[:, 0].max()) - 360.0, float(box[:, 0].min())
        dec_lo, dec_hi = float(box[:, 1].min()), float(box[:, 1].max())
        ra = float(rng.uniform(ra_lo, ra_hi)) % 360.0
        dec = math.degrees(math.asin(rng.uniform(math.sin(math.radians(dec_lo)), math.sin(math.radians(dec_hi)))))
        night, slot = divmod(i, 800)
        begin = t0 + timedelta(days=night, seconds=40 * slot)
        band = camera.BANDS[int(rng.integers(len(camera.BANDS)))]
        visits.append({"id": FIRST_VISIT + i, "ra": ra, "dec": dec, "rot": float(rng.uniform(0, 360)),
                       "band": band, "begin": begin, "day_obs": int((begin - timedelta(hours=12)).strftime("%Y%m%d")),
                       "seq_num": slot + 1})
    return visits


def _timespan(begin: datetime, seconds: float):
    import astropy.time
    from lsst.daf.butler import Timespan

    return Timespan(astropy.time.Time(begin.replace(tzinfo=None), scale="tai"),
                    astropy.time.Time((begin + timedelta(seconds=seconds)).replace(tzinfo=None), scale="tai"))


def _polygon(ra: np.ndarray, dec: np.ndarray):
    from lsst.sphgeom import ConvexPolygon, LonLat, UnitVector3d

    return ConvexPolygon([UnitVector3d(LonLat.fromDegrees(float(a), float(d))) for a, d in zip(ra, dec)])


def _insert(reg, element: str, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        reg.insertDimensionData(element, *rows[i:i + BATCH])


def insert_static_dimensions(butler, tracts: list[int]) -> int:
    """Instrument, filters, detectors, the visit system and the DC2 tracts and patches."""
    from explorer.sky import dc2_skymap

    reg = butler.registry
    reg.insertDimensionData("instrument", {
        "name": INSTRUMENT, "visit_max": 1 << 30, "exposure_max": 1 << 30, "detector_max": 1000,
        "class_name": "lsst.obs.lsst.LsstCam", "visit_system": 0})
    reg.insertDimensionData("physical_filter", *[
        {"instrument": INSTRUMENT, "name": f"{b}_24", "band": b} for b in camera.BANDS])
    reg.insertDimensionData("detector", *[
        {"instrument": INSTRUMENT, "id": d.id, "full_name": d.full_name, "name_in_raft": d.name_in_raft,
         "raft": d.raft, "purpose": d.purpose} for d in camera.DETECTORS])
    reg.insertDimensionData("visit_system", {"instrument": INSTRUMENT, "id": 0, "name": "one-to-one"})
    sm = dc2_skymap()
    reg.insertDimensionData("skymap", {"name": SKYMAP, "hash": b"survey-sample-dc2", "tract_max": len(sm),
                                       "patch_nx_max": 7, "patch_ny_max": 7})
    tract_rows, patch_rows = [], []
    for tid in tracts:
        t = sm.tract(tid)
        outer = t.outer_vertices_deg
        tract_rows.append({"skymap": SKYMAP, "id": tid, "region": _polygon(outer[:, 0], outer[:, 1])})
        for p in t.patches():
            v = p.outer_vertices_deg
            patch_rows.append({"skymap": SKYMAP, "tract": tid, "id": int(p.sequential_index),
                               "cell_x": int(p.index[0]), "cell_y": int(p.index[1]),
                               "region": _polygon(v[:, 0], v[:, 1])})
    _insert(reg, "tract", tract_rows)
    _insert(reg, "patch", patch_rows)
    return len(patch_rows)


def insert_visits(butler, visits: list[dict], progress: Progress = None) -> int:
    """day_obs, group, exposure, visit and the 189 ``visit_detector_region`` rows of each visit."""
    reg = butler.registry
    days = sorted({v["day_obs"] for v in visits})

    def day_span(d: int):
        start = datetime.strptime(str(d), "%Y%m%d").replace(tzinfo=timezone.utc) + timedelta(hours=12)
        return _timespan(start, 86400.0)

    _insert(reg, "day_obs", [{"instrument": INSTRUMENT, "id": d, "timespan": day_span(d)} for d in days])
    _insert(reg, "group", [{"instrument": INSTRUMENT, "name": str(v["id"])} for v in visits])
    fp_u, fp_v = _detector_fp_corners()
    n_det = len(camera.DETECTORS)
    done = 0
    for start in range(0, len(visits), 500):
        chunk = visits[start:start + 500]
        exposures, visit_rows, defs, members, vdr = [], [], [], [], []
        for v in chunk:
            ts = _timespan(v["begin"], 30.0)
            common = {"instrument": INSTRUMENT, "id": v["id"], "day_obs": v["day_obs"],
                      "physical_filter": f"{v['band']}_24", "exposure_time": 30.0, "target_name": "survey",
                      "observation_reason": "science", "science_program": "survey", "zenith_angle": 30.0,
                      "azimuth": 0.0, "seq_num": v["seq_num"], "timespan": ts}
            exposures.append(dict(common, obs_id=str(v["id"]), group=str(v["id"]), dark_time=30.0,
                                  observation_type="science", seq_start=v["seq_num"], seq_end=v["seq_num"],
                                  tracking_ra=v["ra"], tracking_dec=v["dec"], sky_angle=v["rot"],
                                  has_simulated=True, can_see_sky=True))
            pointing = optics.Pointing(v["ra"], v["dec"], v["rot"])
            ra, dec = optics.fp_to_sky(pointing, fp_u.ravel(), fp_v.ravel())
            ra, dec = ra.reshape(n_det, 4), dec.reshape(n_det, 4)
            hull = _visit_hull(pointing)
            visit_rows.append(dict(common, name=str(v["id"]), region=_polygon(*hull)))
            defs.append({"instrument": INSTRUMENT, "exposure": v["id"], "visit": v["id"]})
            members.append({"instrument": INSTRUMENT, "visit_system": 0, "visit": v["id"]})
            for i, d in enumerate(camera.DETECTORS):
                vdr.append({"instrument": INSTRUMENT, "visit": v["id"], "detector": d.id,
                            "region": _polygon(ra[i], dec[i])})
        _insert(reg, "exposure", exposures)
        _insert(reg, "visit", visit_rows)
        _insert(reg, "visit_definition", defs)
        _insert(reg, "visit_system_membership", members)
        _insert(reg, "visit_detector_region", vdr)
        done += len(chunk)
        _say(progress, f"visits {done}/{len(visits)} ({done * n_det} visit_detector_regions)")
    return len(visits) * n_det


def _visit_hull(pointing: optics.Pointing) -> tuple[np.ndarray, np.ndarray]:
    """An octagon around the whole focal plane (corner rafts cut), on the sky."""
    half = 2.5 * camera.RAFT_PITCH_MM / camera.PIXEL_SIZE_MM
    cut = 1.5 * camera.RAFT_PITCH_MM / camera.PIXEL_SIZE_MM
    u = np.array([-cut, cut, half, half, cut, -cut, -half, -half])
    v = np.array([-half, -half, -cut, cut, half, half, cut, -cut])
    return optics.fp_to_sky(pointing, u, v)


def register_types(butler) -> None:
    from lsst.daf.butler import CollectionType, DatasetType

    reg = butler.registry
    reg.registerDatasetType(DatasetType("calexp", ("instrument", "visit", "detector"), "ExposureF",
                                        universe=reg.dimensions))
    reg.registerDatasetType(DatasetType("deepCoadd_calexp", ("band", "skymap", "tract", "patch"), "ExposureF",
                                        universe=reg.dimensions))
    for run in (RUN_CALEXP, RUN_COADD):
        reg.registerRun(run)
    reg.registerCollection(CHAIN, CollectionType.CHAINED, doc="the survey sample: calexps and coadds")
    reg.setCollectionChain(CHAIN, [RUN_CALEXP, RUN_COADD])


def insert_datasets(butler, visits: list[dict], tracts: list[int], progress: Progress = None,
                    skip: frozenset = frozenset()) -> dict[str, int]:
    """Register a calexp per (visit, detector) and a coadd per (tract, patch, band), without files."""
    from lsst.daf.butler import DatasetIdGenEnum
    from explorer.sky import dc2_skymap

    reg = butler.registry
    mode = DatasetIdGenEnum.DATAID_TYPE_RUN
    det_ids = [d.id for d in camera.DETECTORS]
    ids = [{"instrument": INSTRUMENT, "visit": v["id"], "detector": d} for v in visits for d in det_ids]
    ids = [i for i in ids if (i["visit"], i["detector"]) not in skip]
    for i in range(0, len(ids), BATCH * 5):
        reg.insertDatasets("calexp", ids[i:i + BATCH * 5], run=RUN_CALEXP, expand=False, idGenerationMode=mode)
        _say(progress, f"calexps {min(i + BATCH * 5, len(ids))}/{len(ids)}")
    sm = dc2_skymap()
    coadds = [{"skymap": SKYMAP, "tract": t, "patch": int(p.sequential_index), "band": b}
              for t in tracts for p in sm.tract(t).patches() for b in camera.BANDS]
    for i in range(0, len(coadds), BATCH * 5):
        reg.insertDatasets("deepCoadd_calexp", coadds[i:i + BATCH * 5], run=RUN_COADD, expand=False,
                           idGenerationMode=mode)
    _say(progress, f"coadds {len(coadds)}")
    return {"calexp": len(ids) + len(skip), "deepCoadd_calexp": len(coadds)}


def _small_calexp(v: dict, det: camera.DetectorGeom, rng: np.random.Generator, box: int = 256):
    """A small cut-out calexp (noise and a few stars) whose WCS matches its registry region."""
    from .content import CALEXP_MASK_PLANES, ExposureData

    x0, y0 = (det.nx - box) // 2, (det.ny - box) // 2
    image = rng.normal(0.0, 5.0, (box, box)).astype(np.float32)
    yy, xx = np.mgrid[0:box, 0:box]
    for _ in range(12):
        cx, cy, flux = rng.uniform(10, box - 10), rng.uniform(10, box - 10), rng.uniform(200, 5000)
        image += (flux / (2 * np.pi * 4.0) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8.0)).astype(np.float32)
    mask = np.zeros((box, box), np.int32)
    mask[image > 50] |= 1 << CALEXP_MASK_PLANES.get("DETECTED", 5)
    pointing = optics.Pointing(v["ra"], v["dec"], v["rot"])
    cards = [("EXPTIME", 30.0, "Exposure time (sec)"), ("FILTER", f"{v['band']}_24", ""),
             ("DATE-AVG", (v["begin"] + timedelta(seconds=15)).strftime("%Y-%m-%dT%H:%M:%S.%f"), ""),
             ("BORE-RA", v["ra"], ""), ("BORE-DEC", v["dec"], ""), ("ROTPA", v["rot"], "")]
    return ExposureData(image=image, mask=mask, variance=np.full((box, box), 25.0, np.float32), xy0=(x0, y0),
                        mask_planes=dict(CALEXP_MASK_PLANES),
                        wcs_cards=optics.detector_wcs_cards(pointing, det, (x0, y0)),
                        primary_cards=cards, photo_calib=(0.5, 0.01), filter_label=(v["band"], f"{v['band']}_24"),
                        psf_sigma=2.0,
                        detector={"id": det.id, "name": det.full_name, "serial": det.serial,
                                  "bbox": (0, 0, det.nx, det.ny), "pixel_mm": camera.PIXEL_SIZE_MM,
                                  "fp_mm": (det.fp_x_mm, det.fp_y_mm), "physical_type": "ITL"})


def ingest_files(butler, dest: Path, visit: dict, n_files: int, seed: int) -> list[tuple[int, int]]:
    """Write and ingest ``n_files`` small calexps of one visit: the handful of files on disk."""
    from lsst.daf.butler import DatasetIdGenEnum, DatasetRef, FileDataset
    from .gen3 import EXPOSURE_STAND_IN

    rng = np.random.default_rng(seed)
    staging = dest / ".survey-staging"
    staging.mkdir()
    dt = butler.get_dataset_type("calexp")
    files, keys = [], []
    for det in camera.DETECTORS[:n_files]:
        data_id = butler.registry.expandDataId(instrument=INSTRUMENT, visit=visit["id"], detector=det.id)
        ref = DatasetRef(dt, data_id, run=RUN_CALEXP, id_generation_mode=DatasetIdGenEnum.DATAID_TYPE_RUN)
        path = staging / f"calexp_{visit['id']}_{det.id}.fits"
        afwfits.write_exposure(path, _small_calexp(visit, det, rng))
        files.append(FileDataset(path=str(path), refs=[ref], formatter=EXPOSURE_STAND_IN))
        keys.append((visit["id"], det.id))
    butler.ingest(*files, transfer="move")
    staging.rmdir()
    return keys


def analyze_sqlite(dest: str | os.PathLike) -> None:
    """``ANALYZE`` the SQLite registry after the bulk load, as a database administrator would.

    Without statistics SQLite plans a lookup such as "the calexps of visit V" through the
    (dataset type, collection, instrument) unique index, i.e. a scan of every calexp (0.1 s at
    250 k datasets, growing with the registry); with them it takes the (instrument, visit) index
    (0.2 ms). PostgreSQL, where registries of this size live, gathers statistics by itself.
    """
    import sqlite3

    con = sqlite3.connect(os.fspath(Path(dest) / "gen3.sqlite3"))
    try:
        con.execute("ANALYZE")
        con.commit()
    finally:
        con.close()


def write_survey(dest: str | os.PathLike, visits: int, tracts: int, seed: int = 1,
                 progress: Progress = None, registry_db: Optional[str] = None,
                 registry_namespace: Optional[str] = None) -> dict:
    """Write a survey-scale repository at ``dest`` (must not exist or be empty); returns its manifest.

    ``registry_db``: a SQLAlchemy URL for the registry (e.g. ``postgresql://user@host:port/db``,
    the password found by the butler in ``db-auth.yaml``), with ``registry_namespace`` its schema;
    default: SQLite in ``dest``.
    """
    from lsst.daf.butler import Butler

    dest = Path(dest)
    t0 = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    config = None
    if registry_db:
        config = {"registry": {"db": registry_db}}
        if registry_namespace:
            config["registry"]["namespace"] = registry_namespace
    Butler.makeRepo(os.fspath(dest), config=config)
    butler = Butler.from_config(os.fspath(dest), writeable=True)
    try:
        tract_ids = choose_tracts(tracts)
        plan = plan_visits(visits, tract_ids, seed)
        _say(progress, f"registering {INSTRUMENT}, {len(camera.DETECTORS)} detectors, {len(tract_ids)} tracts")
        n_patches = insert_static_dimensions(butler, tract_ids)
        n_vdr = insert_visits(butler, plan, progress)
        register_types(butler)
        on_disk = ingest_files(butler, dest, plan[0], FILES_ON_DISK, seed) if plan else []
        counts = insert_datasets(butler, plan, tract_ids, progress, skip=frozenset(on_disk))
    finally:
        butler.close()
    if registry_db is None:
        from .gen3 import _fix_formatters

        _fix_formatters(dest)
        _say(progress, "ANALYZE: table statistics for SQLite's query planner")
        analyze_sqlite(dest)
    seconds = round(time.perf_counter() - t0, 1)
    return {"layout": "gen3", "kind": "survey", "instrument": INSTRUMENT, "skymap": SKYMAP,
            "collections": {"defaults": CHAIN, "calexp_run": RUN_CALEXP, "coadd_run": RUN_COADD},
            "visits": len(plan), "detectors": len(camera.DETECTORS), "tracts": tract_ids,
            "patches_registered": n_patches, "visit_detector_regions": n_vdr, "datasets": counts,
            "total_datasets": int(sum(counts.values())),
            "files_on_disk": [{"visit": v, "detector": d} for v, d in on_disk],
            "bands": list(camera.BANDS), "write_seconds": seconds}
