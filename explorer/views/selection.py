"""The selector index moved to :mod:`explorer.index` (it is a data layer below the views); this
module re-exports it so existing imports keep working."""
from ..index import (BAND_ORDER, FOOTPRINT_LIMIT, PER_DETECTOR_SOURCES, Option, RepoIndex,  # noqa: F401
                     ScanIndex, VisitChoice, band_key, overlaps, patch_label)

__all__ = ["BAND_ORDER", "FOOTPRINT_LIMIT", "PER_DETECTOR_SOURCES", "Option", "RepoIndex", "ScanIndex",
           "VisitChoice", "band_key", "overlaps", "patch_label"]
