"""The sample's content, independent of any repository layout: what exists, and every file's data.

:func:`build_content` decides, from ``(seed, size)`` alone, the instrument, filters, detectors,
visits (pointing, time, filter, seeing, sky), which visit/detector pairs have calexps (and which one
is registered but missing), the tracts and patches registered, and which patches have coadds.
Nothing is synthesised until asked: the ``synthesize_*`` functions return one file's arrays or
tables, deterministically from the seed, so a writer can stream (make, write, forget) and two
writers (Gen3 and Gen2) produce identical pixels and rows.

Everything is expressed in LSST conventions: 0-based parent pixel coordinates with ``xy0``,
ICRS degrees, TAI times, afw mask-plane names.

The parts live in their own modules, and this one re-exports them (import from here):
:mod:`~explorer.sample.plan` (the constants and :func:`build_content`), :mod:`~explorer.sample.sizes`,
:mod:`~explorer.sample.obstime` (times and sidereal angles), :mod:`~explorer.sample.visit_files`
(a calexp and its source catalogs), :mod:`~explorer.sample.coadd_files` (a patch's coadds and
catalogs) and :mod:`~explorer.sample.products` (every file, in writing order).
"""
from __future__ import annotations

from . import camera, catalogs, optics, render  # noqa: F401 - re-exported
from .camera import (  # noqa: F401 - re-exported
    BANDS,
    DETECTOR_BY_ID,
    DETECTORS,
    GAIN,
    INSTRUMENT,
    PHYSICAL_FILTERS,
    READ_NOISE_E,
)
from .coadd_files import (  # noqa: F401 - re-exported
    CoaddCatalogs,
    measure_coadd_patch,
    synthesize_coadd,
    synthesize_forced_src,
    synthesize_merge_det,
    synthesize_object_table,
)
from .obstime import alt_az as _alt_az  # noqa: F401 - (older names)
from .obstime import day_obs as _day_obs  # noqa: F401
from .obstime import era_deg as _era_deg  # noqa: F401
from .obstime import gmst_deg as _gmst_deg  # noqa: F401
from .obstime import mjd_to_datetime as _mjd_to_datetime  # noqa: F401
from .plan import (  # noqa: F401 - re-exported
    CALEXP_MASK_PLANES,
    CHAIN_DEFAULTS,
    CHAIN_RUNS,
    COADD_MASK_PLANES,
    COADD_PSF_FWHM,
    EXPOSURE_TIME,
    EXTINCTION,
    FOCUS,
    OBSERVATORY,
    RUN_CALEXP,
    RUN_COADD,
    RUN_SKYMAPS,
    SIZES,
    SKY_MAG,
    SKYMAP_NAME,
    SKYMAP_PATCH_MAX,
    SKYMAP_TRACT_MAX,
    TRACTS,
    ZP_1E_PER_S,
    CalexpSpec,
    CoaddSpec,
    SampleContent,
    SizeConfig,
    Visit,
    _make_calexps,
    _make_coadds,
    _make_visits,
    build_content,
)
from .products import Product, iter_products  # noqa: F401 - re-exported
from .truth import TRUTH_DTYPE, TruthDensity, TruthSky, planted_stars  # noqa: F401 - re-exported
from .visit_files import (  # noqa: F401 - re-exported
    ExposureData,
    VisitDetectorCatalog,
    measure_visit_detector,
    source_table_rows,
    synthesize_calexp,
    synthesize_source_table,
    synthesize_src,
)

__all__ = [
    "SampleContent", "SizeConfig", "SIZES", "Visit", "CalexpSpec", "CoaddSpec", "ExposureData",
    "build_content", "Product", "iter_products", "synthesize_calexp", "synthesize_src", "measure_visit_detector",
    "synthesize_source_table",
    "source_table_rows", "synthesize_coadd", "measure_coadd_patch", "synthesize_merge_det",
    "synthesize_forced_src", "synthesize_object_table", "TRUTH_DTYPE",
    "CALEXP_MASK_PLANES", "COADD_MASK_PLANES", "SKYMAP_NAME", "TRACTS", "FOCUS",
    "RUN_CALEXP", "RUN_COADD", "RUN_SKYMAPS", "CHAIN_DEFAULTS", "CHAIN_RUNS",
]
