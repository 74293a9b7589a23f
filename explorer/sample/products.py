"""Every file of the sample, in writing order: what it is, its data ID, and how to make its content.

The writers (Gen3, Gen2) stream :func:`iter_products`: make a file, write it, forget it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .camera import DETECTOR_BY_ID
from .coadd_files import (
    CoaddCatalogs,
    measure_coadd_patch,
    synthesize_coadd,
    synthesize_forced_src,
    synthesize_merge_det,
    synthesize_object_table,
)
from .plan import SKYMAP_NAME, CalexpSpec, SampleContent
from .visit_files import (
    ExposureData,
    VisitDetectorCatalog,
    measure_visit_detector,
    synthesize_calexp,
    synthesize_source_table,
    synthesize_src,
)


@dataclass
class Product:
    """One file of the sample: what it is, its Gen3 data ID, and how to make its content.

    ``kind`` is "exposure" (``make()`` returns :class:`ExposureData`, write with
    ``afwfits.write_exposure``), "afw_catalog" (an ``AfwCatalog``, ``afwfits.write_source_catalog``)
    or "dataframe" (a ``pandas.DataFrame``, ``afwfits.write_parquet``). ``data_id`` uses Gen3 keys
    (patch = sequential index); ``info`` adds what a Gen2 template needs (filter, raftName,
    detectorName, visit, tract, patch as "x,y"). ``on_disk`` is False for the one missing calexp:
    write it, register it, then delete it.
    """

    dataset_type: str
    data_id: dict
    kind: str
    make: Callable[[], object]
    info: dict = field(default_factory=dict)
    on_disk: bool = True


def iter_products(content: SampleContent):
    """Yield every :class:`Product` of the sample in a streaming order (visits, then coadd patches).

    Calling ``make()`` on each product before asking for the next reuses work (the calexp's mask
    gives its src flags; a visit's src rows make its sourceTable); products made out of order are
    still correct, just recomputed.
    """
    inst = content.instrument
    st_visits = set(content.source_table_visits())
    by_visit: dict[int, list[CalexpSpec]] = {}
    for spec in content.calexps:
        by_visit.setdefault(spec.visit, []).append(spec)
    for v in content.visits:
        specs = by_visit.get(v.id, [])
        if not specs and v.id not in st_visits:
            continue
        exposures: dict[int, ExposureData] = {}
        measured: dict[int, VisitDetectorCatalog] = {}
        for spec in specs:
            det = DETECTOR_BY_ID[spec.detector]
            data_id = {"instrument": inst, "visit": v.id, "detector": spec.detector}
            info = {"visit": v.id, "band": v.band, "filter": v.physical_filter, "detector": det.id,
                    "raftName": det.raft, "detectorName": det.name_in_raft, "bbox": spec.bbox}

            def make_calexp(v=v, spec=spec, exposures=exposures):
                exposures[spec.detector] = synthesize_calexp(content, v.id, spec.detector)
                return exposures[spec.detector]

            def make_src(v=v, spec=spec, exposures=exposures, measured=measured):
                exp = exposures.pop(spec.detector, None) or synthesize_calexp(content, v.id, spec.detector)
                measured[spec.detector] = measure_visit_detector(content, v.id, spec.detector, exp)
                return synthesize_src(content, v.id, spec.detector, measured=measured[spec.detector])

            yield Product("calexp", data_id, "exposure", make_calexp, info, spec.on_disk)
            yield Product("src", dict(data_id), "afw_catalog", make_src, dict(info))
        if v.id in st_visits:
            def make_source_table(v=v, measured=measured, specs=specs):
                for spec in specs:  # src products not made yet: measure them now (with their masks)
                    if spec.detector not in measured:
                        exp = synthesize_calexp(content, v.id, spec.detector)
                        measured[spec.detector] = measure_visit_detector(content, v.id, spec.detector, exp)
                return synthesize_source_table(content, v.id, measured)

            yield Product("sourceTable", {"instrument": inst, "visit": v.id}, "dataframe", make_source_table,
                          {"visit": v.id, "band": v.band, "filter": v.physical_filter})
    for spec in content.coadds:
        pid = {"skymap": SKYMAP_NAME, "tract": spec.tract, "patch": spec.patch_id}
        pinfo = {"tract": spec.tract, "patch": spec.patch_name, "patch_id": spec.patch_id, "bbox": spec.bbox}
        for band in content.size.coadd_bands:
            def make_coadd(spec=spec, band=band):
                return synthesize_coadd(content, spec.tract, spec.patch_x, spec.patch_y, band)

            yield Product("deepCoadd_calexp", dict(pid, band=band), "exposure", make_coadd,
                          dict(pinfo, band=band, filter=band))
        cache: dict[str, CoaddCatalogs] = {}

        def catalogs_of(spec=spec, cache=cache) -> CoaddCatalogs:
            if "cc" not in cache:
                cache["cc"] = measure_coadd_patch(content, spec.tract, spec.patch_x, spec.patch_y)
            return cache["cc"]

        yield Product("deepCoadd_mergeDet", dict(pid), "afw_catalog",
                      lambda catalogs_of=catalogs_of: synthesize_merge_det(catalogs_of()), dict(pinfo))
        for band in content.size.coadd_bands:
            yield Product("deepCoadd_forced_src", dict(pid, band=band), "afw_catalog",
                          lambda band=band, catalogs_of=catalogs_of: synthesize_forced_src(catalogs_of(), band),
                          dict(pinfo, band=band, filter=band))
        yield Product("objectTable", dict(pid), "dataframe",
                      lambda catalogs_of=catalogs_of: synthesize_object_table(catalogs_of(), content.size.coadd_bands),
                      dict(pinfo))
