"""Gen2 filename templates, per mapper, as plain Python data, and the mapper -> template-set lookup.

A Gen2 repository has no datastore records: a dataset's file is found by filling its mapper's
filename template (``calexp/%(visit)08d-%(filter)s/...``) with a data ID. The Gen2 software cannot
be installed, so the templates the explorer needs are written down here, transcribed from the
policy files of the last Gen2 releases (see shared/lsst-real/README.md for provenance):

* ``obs_base`` -- lsst/obs_base ``policy/exposures.yaml`` and ``policy/datasets.yaml`` @ 3937fe40
  (2022-07-22): the coadd products every camera inherits (``deepCoadd-results/...``).
* ``lsstCam`` -- lsst/obs_lsst ``policy/lsstCamMapper.yaml`` @ b201a4c8 (2019-09-30), which the DC2
  Run2.1i/2.2i-era ``ImsimMapper`` used; it adds the per-detector and calibration templates.
* ``imsim`` -- lsst/obs_lsst ``policy/imsim/imsimMapper.yaml`` @ 18ee91ec (2022-07-26), on top of
  ``lsstCam`` (it changes ``raw`` and ``postISRCCD`` to ``expId`` and adds parquet tables).
* ``HSC`` -- lsst/obs_subaru ``policy/HscMapper.yaml``.
* ``lsstSim`` -- lsst/obs_lsstSim ``policy/LsstSimMapper.yaml`` (raft/sensor values such as ``"2,3"``
  lose their comma in paths, as ``LsstSimMapper._mapActualToPath`` did).
* ``test`` -- lsst/obs_test ``policy/testMapper.yaml``; ``testCalexpMetadataObjects`` --
  obs_test ``policy/testCalexpMetadataObjects.yaml``.

Only the dataset types the explorer shows (exposures, catalogs, coadd products, calibrations, the
skymap) are listed; a mapper the table does not know gets the ``obs_base`` coadd templates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

# name -> (template, storage class); the storage class is the Gen2 python type's short name.
_Entry = tuple[str, str]

_OBS_BASE: dict[str, _Entry] = {
    "deepCoadd": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s.fits", "ExposureF"),
    "deepCoadd_nImage": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s_nImage.fits", "ImageU"),
    "deepCoadd_calexp": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                         "calexp-%(filter)s-%(tract)d-%(patch)s.fits", "ExposureF"),
    "deepCoadd_calexp_background": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                                    "bkgd-%(filter)s-%(tract)d-%(patch)s.fits", "BackgroundList"),
    "deepCoadd_det": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                      "det-%(filter)s-%(tract)d-%(patch)s.fits", "SourceCatalog"),
    "deepCoadd_meas": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                       "meas-%(filter)s-%(tract)d-%(patch)s.fits", "SourceCatalog"),
    "deepCoadd_forced_src": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                             "forced_src-%(filter)s-%(tract)d-%(patch)s.fits", "SourceCatalog"),
    "deepCoadd_mergeDet": ("deepCoadd-results/merged/%(tract)d/%(patch)s/mergeDet-%(tract)d-%(patch)s.fits",
                           "SourceCatalog"),
    "deepCoadd_ref": ("deepCoadd-results/merged/%(tract)d/%(patch)s/ref-%(tract)d-%(patch)s.fits",
                      "SourceCatalog"),
    "deepCoadd_obj": ("deepCoadd-results/merged/%(tract)d/%(patch)s/obj-%(tract)d-%(patch)s.parq",
                      "MultilevelParquetTable"),
    "objectTable": ("deepCoadd-results/merged/%(tract)d/%(patch)s/objectTable-%(tract)d-%(patch)s.parq",
                    "ParquetTable"),
    "objectTable_tract": ("deepCoadd-results/merged/%(tract)d/objectTable-%(tract)d.parq", "ParquetTable"),
    "deepCoadd_skyMap": ("deepCoadd/skyMap.pickle", "BaseSkyMap"),
}

_LSSTCAM_2019: dict[str, _Entry] = {
    "raw": ("raw/%(run)s/%(raftName)s/%(visit)08d-%(raftName)s-%(detectorName)s-det%(detector)03d-%(snap)03d"
            ".fits[0]", "DecoratedImageF"),
    "postISRCCD": ("postISRCCD/%(visit)08d-%(filter)s/%(raftName)s/postISRCCD_%(visit)08d-%(filter)s-"
                   "%(raftName)s-%(detectorName)s-det%(detector)03d.fits", "ExposureF"),
    "calexp": ("calexp/%(visit)08d-%(filter)s/%(raftName)s/calexp_%(visit)08d-%(filter)s-%(raftName)s-"
               "%(detectorName)s-det%(detector)03d.fits", "ExposureF"),
    "icExp": ("icExp/%(visit)08d-%(filter)s/%(raftName)s/icExp_%(visit)08d-%(filter)s-%(raftName)s-"
              "%(detectorName)s-det%(detector)03d.fits", "ExposureF"),
    "calexpBackground": ("calexp/%(visit)08d-%(filter)s/%(raftName)s/bkgd_%(visit)08d-%(filter)s-"
                         "%(raftName)s-%(detectorName)s-det%(detector)03d.fits", "BackgroundList"),
    "src": ("src/%(visit)08d-%(filter)s/%(raftName)s/src_%(visit)08d-%(filter)s-%(raftName)s-"
            "%(detectorName)s-det%(detector)03d.fits", "SourceCatalog"),
    "icSrc": ("icSrc/%(visit)08d-%(filter)s/%(raftName)s/icSrc_%(visit)08d-%(filter)s-%(raftName)s-"
              "%(detectorName)s-det%(detector)03d.fits", "SourceCatalog"),
    "srcMatch": ("srcMatch/%(visit)08d-%(filter)s/%(raftName)s/srcMatch_%(visit)08d-%(filter)s-%(raftName)s-"
                 "%(detectorName)s-det%(detector)03d.fits", "BaseCatalog"),
    "forced_src": ("forced/%(visit)08d-%(filter)s/%(raftName)s/forced_%(visit)08d-%(filter)s-%(raftName)s-"
                   "%(detectorName)s-det%(detector)03d.fits", "SourceCatalog"),
    "deepCoadd_directWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s/warp-%(filter)s-%(tract)d-%(patch)s-"
                             "%(visit)d.fits", "ExposureF"),
    "deepCoadd_psfMatchedWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s/psfMatchedWarp-%(filter)s-"
                                 "%(tract)d-%(patch)s-%(visit)d.fits", "ExposureF"),
}
_LSSTCAM_2019_CALIBS: dict[str, _Entry] = {
    "bias": ("bias/%(calibDate)s/bias-%(raftName)s-%(detectorName)s-det%(detector)03d_%(calibDate)s.fits",
             "ExposureF"),
    "dark": ("dark/%(calibDate)s/dark-%(raftName)s-%(detectorName)s-det%(detector)03d_%(calibDate)s.fits",
             "ExposureF"),
    "flat": ("flat/%(filter)s/%(calibDate)s/flat_%(filter)s-%(raftName)s-%(detectorName)s-det%(detector)03d_"
             "%(calibDate)s.fits", "ExposureF"),
    "fringe": ("fringe/%(filter)s/%(calibDate)s/fringe_%(filter)s-%(raftName)s-%(detectorName)s-"
               "det%(detector)03d_%(calibDate)s.fits", "ExposureF"),
    "defects": ("defects/%(calibDate)s/defects-%(calibDate)s-%(detectorName)s.fits", "Defects"),
    "sky": ("SKY/%(calibDate)s/%(filter)s/SKY-%(calibDate)s-%(filter)s-%(raftName)s-%(detectorName)s-"
            "det%(detector)03d_%(calibDate)s.fits", "ExposureF"),
}

_IMSIM_2022: dict[str, _Entry] = {
    "raw": ("raw/%(run)s/%(raftName)s/%(expId)08d-%(raftName)s-%(detectorName)s-det%(detector)03d.fits[0]",
            "DecoratedImageF"),
    "postISRCCD": ("postISRCCD/%(expId)08d-%(filter)s/%(raftName)s/postISRCCD_%(expId)08d-%(filter)s-"
                   "%(raftName)s-%(detectorName)s-det%(detector)03d.fits", "ExposureF"),
    "sourceTable": ("src/%(visit)08d-%(filter)s/%(raftName)s/sourceTable_%(visit)08d-%(filter)s-%(raftName)s-"
                    "%(detectorName)s-det%(detector)03d.parq", "ParquetTable"),
    "source": ("src/%(visit)08d-%(filter)s/%(raftName)s/source_%(visit)08d-%(filter)s-%(raftName)s-"
               "%(detectorName)s-det%(detector)03d.parq", "ParquetTable"),
    "sourceTable_visit": ("src/%(visit)08d-%(filter)s/sourceTable_%(visit)08d-%(filter)s.parq", "ParquetTable"),
}
_IMSIM_2022_CALIBS: dict[str, _Entry] = {
    "bfKernel": ("bfk/bfKernel-%(raftName)s_%(detectorName)s.fits", "BrighterFatterKernel"),
}

_HSC: dict[str, _Entry] = {
    "raw": ("%(field)s/%(dateObs)s/%(pointing)05d/%(filter)s/HSC-%(visit)07d-%(ccd)03d.fits", "DecoratedImageU"),
    "postISRCCD": ("postISRCCD/v%(visit)07d-f%(filter)s/c%(ccd)03d.fits", "ExposureF"),
    "icExp": ("%(pointing)05d/%(filter)s/corr/ICEXP-%(visit)07d-%(ccd)03d.fits", "ExposureF"),
    "calexp": ("%(pointing)05d/%(filter)s/corr/CORR-%(visit)07d-%(ccd)03d.fits", "ExposureF"),
    "calexpBackground": ("%(pointing)05d/%(filter)s/corr/BKGD-%(visit)07d-%(ccd)03d.fits", "BackgroundList"),
    "src": ("%(pointing)05d/%(filter)s/output/SRC-%(visit)07d-%(ccd)03d.fits", "SourceCatalog"),
    "icSrc": ("%(pointing)05d/%(filter)s/output/ICSRC-%(visit)07d-%(ccd)03d.fits", "SourceCatalog"),
    "srcMatch": ("%(pointing)05d/%(filter)s/output/SRCMATCH-%(visit)07d-%(ccd)03d.fits", "BaseCatalog"),
    "forced_src": ("%(pointing)05d/%(filter)s/tract%(tract)d/FORCEDSRC-%(visit)07d-%(ccd)03d.fits",
                   "SourceCatalog"),
    "deepCoadd_directWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s/warp-%(filter)s-%(tract)d-%(patch)s-"
                             "%(visit)d.fits", "ExposureF"),
    "deepCoadd_psfMatchedWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)s/psfMatchedWarp-%(filter)s-"
                                 "%(tract)d-%(patch)s-%(visit)d.fits", "ExposureF"),
    "deepCoadd_calexp_background": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/"
                                    "det_bkgd-%(filter)s-%(tract)d-%(patch)s.fits", "BackgroundList"),
}
_HSC_CALIBS: dict[str, _Entry] = {
    "bias": ("BIAS/%(calibDate)s/NONE/BIAS-%(calibDate)s-%(ccd)03d.fits", "ImageF"),
    "dark": ("DARK/%(calibDate)s/NONE/DARK-%(calibDate)s-%(ccd)03d.fits", "ImageF"),
    "flat": ("FLAT/%(calibDate)s/%(filter)s/FLAT-%(calibDate)s-%(filter)s-%(ccd)03d.fits", "MaskedImageF"),
    "fringe": ("FRINGE/%(calibDate)s/%(filter)s/FRINGE-%(calibDate)s-%(filter)s-%(ccd)03d.fits", "ExposureF"),
    "bfKernel": ("BFKERNEL/brighter_fatter_kernel.pkl", "ndarray"),
}

_LSSTSIM: dict[str, _Entry] = {
    "raw": ("raw/v%(visit)d-f%(filter)s/E%(snap)03d/R%(raft)s/S%(sensor)s/imsim_%(visit)d_R%(raft)s_S%(sensor)s_"
            "C%(channel)s_E%(snap)03d.fits.gz", "DecoratedImageU"),
    "postISRCCD": ("postISRCCD/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "ExposureF"),
    "icExp": ("icExp/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "ExposureF"),
    "calexp": ("calexp/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "ExposureF"),
    "calexpBackground": ("calexp/v%(visit)d-f%(filter)s/R%(raft)s/bkgd-S%(sensor)s.fits", "BackgroundList"),
    "src": ("src/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "SourceCatalog"),
    "icSrc": ("icSrc/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "SourceCatalog"),
    "srcMatch": ("srcMatch/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "BaseCatalog"),
    "forced_src": ("forced/%(tract)d/v%(visit)d-f%(filter)s/R%(raft)s/S%(sensor)s.fits", "SourceCatalog"),
    "deepCoadd_directWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)stempExp/v%(visit)d-f%(filter)s.fits",
                             "ExposureF"),
    "deepCoadd_psfMatchedWarp": ("deepCoadd/%(filter)s/%(tract)d/%(patch)stempExp/psfMatched-v%(visit)d-"
                                 "f%(filter)s.fits", "ExposureF"),
    "deepCoadd_forced_src": ("deepCoadd-results/%(filter)s/%(tract)d/%(patch)s/forced-%(filter)s-%(tract)d-"
                             "%(patch)s.fits", "SourceCatalog"),
}

_TEST: dict[str, _Entry] = {
    "raw": ("raw/raw_v%(visit)d_f%(filter)s.fits.gz", "DecoratedImageU"),
    "postISRCCD": ("postISRCCD/postISRCCD_v%(visit)d_f%(filter)s.fits", "ExposureF"),
    "icExp": ("icExp/icExp_v%(visit)d_f%(filter)s.fits", "ExposureF"),
    "calexp": ("calexp/calexp_v%(visit)d_f%(filter)s.fits", "ExposureF"),
    "calexpBackground": ("calexp/v%(visit)d/bkgd.fits", "BackgroundList"),
    "src": ("src/v%(visit)d_f%(filter)s.fits", "SourceCatalog"),
    "icSrc": ("icSrc/v%(visit)d_f%(filter)s.fits", "SourceCatalog"),
    "srcMatch": ("srcMatch/v%(visit)d_f%(filter)s.fits", "BaseCatalog"),
    "forced_src": ("forced/%(tract)d/v%(visit)d_f%(filter)s.fits", "SourceCatalog"),
}
_TEST_CALIBS: dict[str, _Entry] = {
    "defects": ("defects/defects.fits", "Defects"),
    "bias": ("bias/bias.fits.gz", "ExposureF"),
    "dark": ("dark/dark.fits.gz", "ExposureF"),
    "flat": ("flat/flat_f%(filter)s.fits.gz", "ExposureF"),
    "fringe": ("fringe/fringe_f%(filter)s.fits.gz", "ExposureF"),
}

_TEST_CALEXP_METADATA: dict[str, _Entry] = {
    "calexp": ("example-calexp.fits", "ExposureF"),
}

# family -> (parent family, datasets, calibrations)
_FAMILIES: dict[str, tuple[Optional[str], dict[str, _Entry], dict[str, _Entry]]] = {
    "obs_base": (None, _OBS_BASE, {}),
    "lsstCam": ("obs_base", _LSSTCAM_2019, _LSSTCAM_2019_CALIBS),
    "imsim": ("lsstCam", _IMSIM_2022, _IMSIM_2022_CALIBS),
    "HSC": ("obs_base", _HSC, _HSC_CALIBS),
    "lsstSim": ("obs_base", _LSSTSIM, {}),
    "test": ("obs_base", _TEST, _TEST_CALIBS),
    "testCalexpMetadataObjects": ("obs_base", _TEST_CALEXP_METADATA, {}),
}

# Mapper class name (last dotted component of ``_mapper``) -> family.
_MAPPER_CLASSES: dict[str, str] = {
    "ImsimMapper": "imsim",
    "LsstCamMapper": "lsstCam",
    "PhosimMapper": "lsstCam",
    "Ts8Mapper": "lsstCam",
    "HscMapper": "HSC",
    "LsstSimMapper": "lsstSim",
    "TestMapper": "test",
    "MapperForTestCalexpMetadataObjects": "testCalexpMetadataObjects",
}

# Data ID keys whose values lose their commas in paths ("2,3" -> "23"), per family.
PATH_COMMA_KEYS: dict[str, frozenset[str]] = {"lsstSim": frozenset({"raft", "sensor", "channel"})}


@dataclass(frozen=True)
class DatasetTemplate:
    """One dataset type of a Gen2 mapper: its filename template and what it holds."""

    name: str
    template: str
    storage_class: str
    calibration: bool = False


def family_for_mapper(mapper: Optional[str]) -> str:
    """The template family of a mapper named as in ``_mapper`` (``obs_base`` when unknown)."""
    if not mapper:
        return "obs_base"
    cls = str(mapper).strip().rsplit(".", 1)[-1]
    return _MAPPER_CLASSES.get(cls, "obs_base")


def known_families() -> list[str]:
    return list(_FAMILIES)


def templates_for(family: str, overrides: Optional[dict[str, str]] = None) -> dict[str, DatasetTemplate]:
    """All templates of a family with its ancestors' (nearest wins), then the repository's overrides.

    ``overrides`` maps dataset type -> template, from a ``_policy`` in ``repositoryCfg.yaml``.
    """
    chain = []
    fam: Optional[str] = family if family in _FAMILIES else "obs_base"
    while fam is not None:
        chain.append(fam)
        fam = _FAMILIES[fam][0]
    out: dict[str, DatasetTemplate] = {}
    for fam in reversed(chain):
        _, datasets, calibs = _FAMILIES[fam]
        for name, (template, storage) in datasets.items():
            out[name] = DatasetTemplate(name, template, storage, False)
        for name, (template, storage) in calibs.items():
            out[name] = DatasetTemplate(name, template, storage, True)
    for name, template in (overrides or {}).items():
        if not isinstance(template, str) or not template.strip():
            continue
        old = out.get(name)
        out[name] = DatasetTemplate(name, template.strip(), old.storage_class if old else "unknown",
                                    old.calibration if old else False)
    return out
