"""Write the sample in the DC2 Gen2 layout: the same content as the Gen3 sample, Gen2 file names.

One repository directory, as a DC2 Run2.2i Gen2 repository looked to a user:

* ``_mapper`` naming ``lsst.obs.lsst.imsim.ImsimMapper``;
* ``registry.sqlite3`` with the obs_lsst imsim ``raw`` table (the columns of the real obs_lsst Gen2
  test registry) holding one row per visit and detector -- all 189 detectors of every visit, as
  ingesting the raws made it -- and ``raw_visit``. The sample ships no raw pixels (the Gen3 sample
  has none either), so the backend reports the raws as registered but not on disk;
* ``config/makeSkyMap.py``: the pex_config dump ``makeSkyMap.py`` leaves, with the DC2 settings,
  which identifies the skymap (a ``deepCoadd/skyMap.pickle`` would need lsst.skymap to write);
* the files, at the obs_lsst (imsim) and obs_base template paths, with the filter spelled as the
  band letter (``calexp/00159479-i/R22/calexp_00159479-i-R22-S11-det094.fits``)::

      calexp, src                      calexp/..., src/...           (visit, filter, raft, detector)
      sourceTable (per visit)          src/%(visit)08d-%(filter)s/sourceTable_... .parq  (Gen2 name:
                                       sourceTable_visit; Gen2's own sourceTable is per detector)
      deepCoadd_calexp, _forced_src    deepCoadd-results/<filter>/<tract>/<x,y>/calexp-... / forced_src-...
      deepCoadd_mergeDet, objectTable  deepCoadd-results/merged/<tract>/<x,y>/mergeDet-... / objectTable-...

The one calexp that the Gen3 sample registers without a file is written and then deleted here too
(its src stays), so both layouts show the same "metadata is not data" case.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Optional

from explorer.repo.gen2_paths import PathTemplate
from explorer.repo.gen2_templates import templates_for

from . import afwfits, camera, content as C

Progress = Optional[Callable[[str], None]]

MAPPER = "lsst.obs.lsst.imsim.ImsimMapper"
# Gen3 sample dataset type -> Gen2 dataset type (name in the imsim/obs_base templates)
GEN2_NAMES = {"calexp": "calexp", "src": "src", "sourceTable": "sourceTable_visit",
              "deepCoadd_calexp": "deepCoadd_calexp", "deepCoadd_forced_src": "deepCoadd_forced_src",
              "deepCoadd_mergeDet": "deepCoadd_mergeDet", "objectTable": "objectTable"}

# The columns of the obs_lsst imsim Gen2 registry (lsst/obs_lsst data/input/imsim/registry.sqlite3).
RAW_SCHEMA = ("CREATE TABLE raw (id integer primary key autoincrement, run text,visit int,filter text,"
              "date text,dateObs text,expTime double,raftName text,detectorName text,detector int,snap int,"
              "object text,imageType text,testType text,lsstSerial text,wavelength int,controller text,"
              "obsid text,expGroup text,expId int, unique(expId,detector,visit))")
RAW_VISIT_SCHEMA = "CREATE TABLE raw_visit (visit int,filter text,dateObs text,expTime double, unique(visit))"

# the text lsst.pipe.base writes for a skymap config, long lines included
MAKE_SKYMAP_CONFIG = """import lsst.skymap.ringsSkyMap
assert type(config)==lsst.skymap.makeSkyMap.MakeSkyMapConfig, 'config is of type %s.%s instead of lsst.skymap.makeSkyMap.MakeSkyMapConfig' % (type(config).__module__, type(config).__name__)
# name of coadd type, e.g. deep, goodSeeing, chiSquared
config.coaddName='deep'

config.skyMap['rings'].numRings=120
config.skyMap['rings'].raStart=0.0
config.skyMap['rings'].patchInnerDimensions=[4000, 4000]
config.skyMap['rings'].patchBorder=100
config.skyMap['rings'].tractOverlap=0.016666666666666666
config.skyMap['rings'].pixelScale=0.2
config.skyMap['rings'].projection='TAN'
config.skyMap['rings'].rotation=0.0
config.skyMap.name='rings'

# string to write to log on completion
config.doWrite=True
"""


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


def _iso(mjd_tai: float) -> str:
    return C._mjd_to_datetime(mjd_tai).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def write_registry(path: Path, content: C.SampleContent) -> dict:
    """``registry.sqlite3``: one raw row per visit and detector, one raw_visit row per visit."""
    con = sqlite3.connect(os.fspath(path))
    try:
        con.execute(RAW_SCHEMA)
        con.execute(RAW_VISIT_SCHEMA)
        rows = []
        for v in content.visits:
            date = _iso(v.mjd_begin_tai)
            for d in content.detectors:
                rows.append((str(v.id), v.id, v.band, date, date, C.EXPOSURE_TIME, d.raft, d.name_in_raft, d.id, 0,
                             "UNKNOWN", "SKYEXP", "IMSIM", d.serial, -666, "S", str(v.id), str(v.id), v.id))
        con.executemany("INSERT INTO raw (run, visit, filter, date, dateObs, expTime, raftName, detectorName, "
                        "detector, snap, object, imageType, testType, lsstSerial, wavelength, controller, obsid, "
                        "expGroup, expId) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        con.executemany("INSERT INTO raw_visit VALUES (?,?,?,?)",
                        [(v.id, v.band, _iso(v.mjd_begin_tai), C.EXPOSURE_TIME) for v in content.visits])
        con.commit()
    finally:
        con.close()
    return {"raw_rows": len(rows), "visits": len(content.visits)}


def gen2_data_id(dataset_type: str, info: dict) -> dict:
    """The Gen2 data ID of a sample product, from the ``info`` its :class:`content.Product` carries."""
    out = {k: info[k] for k in ("visit", "raftName", "detectorName", "detector", "tract", "patch") if k in info}
    if "band" in info:
        out["filter"] = info["band"]  # DC2 Gen2 repositories spell the filter as the band letter
    return out


def write_gen2(content: C.SampleContent, dest: Path, progress: Progress = None) -> dict:
    """Write the Gen2 repository at ``dest`` (must not exist or be empty). Returns the manifest dict."""
    t_start = time.perf_counter()
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "_mapper").write_text(MAPPER + "\n")
    _say(progress, f"writing registry.sqlite3: {len(content.visits)} visits x {len(content.detectors)} detectors")
    registry = write_registry(dest / "registry.sqlite3", content)
    (dest / "config").mkdir()
    (dest / "config" / "makeSkyMap.py").write_text(MAKE_SKYMAP_CONFIG)
    templates = {name: PathTemplate(t.template) for name, t in templates_for("imsim").items()}
    counts: dict[str, int] = defaultdict(int)
    nbytes: dict[str, int] = defaultdict(int)
    rows: dict[str, dict] = defaultdict(dict)
    paths: dict[str, dict] = defaultdict(dict)
    missing = None
    n_cal, done_cal = len(content.calexps), 0
    for prod in C.iter_products(content):
        name = GEN2_NAMES[prod.dataset_type]
        data_id = gen2_data_id(name, prod.info)
        rel = templates[name].expand(data_id)
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if prod.dataset_type == "calexp":
            done_cal += 1
            det = camera.DETECTOR_BY_ID[prod.info["detector"]]
            _say(progress, f"calexp {done_cal}/{n_cal}: visit {prod.info['visit']} {prod.info['band']} "
                           f"detector {det.id} ({det.full_name})")
        data = prod.make()
        if prod.kind == "exposure":
            size = afwfits.write_exposure(path, data)
        elif prod.kind == "afw_catalog":
            size = afwfits.write_source_catalog(path, data)
        else:
            size = afwfits.write_parquet(path, data)
        key = ",".join(f"{k}={v}" for k, v in sorted(data_id.items()))
        if prod.dataset_type in ("src", "sourceTable", "deepCoadd_mergeDet", "objectTable", "deepCoadd_forced_src"):
            rows[name][key] = len(data)
        counts[name] += 1
        nbytes[name] += size
        paths[name][key] = rel
        if not prod.on_disk:
            os.remove(path)  # registered in Gen3, absent in both: metadata is not data
            missing = {"dataset_type": name, "data_id": data_id, "path": rel}
        del data
    return {
        "layout": "gen2",
        "mapper": MAPPER,
        "registry": registry,
        "gen2_dataset_types": dict(GEN2_NAMES),
        "datasets": dict(counts),
        "missing": missing,
        "rows": {k: dict(v) for k, v in rows.items()},
        "row_totals": {k: int(sum(v.values())) for k, v in rows.items()},
        "bytes_by_dataset_type": dict(nbytes),
        "paths": {k: dict(v) for k, v in paths.items()},
        "write_seconds": round(time.perf_counter() - t_start, 2),
    }
