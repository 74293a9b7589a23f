"""Stand-in butler formatters used only while ingesting the sample's FITS files.

``Butler.ingest`` imports the formatter class it is given, and the real ones
(``lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter`` for exposures,
``lsst.obs.base.formatters.fitsGeneric.FitsGenericFormatter`` for afw catalogs) live in obs_base,
which needs lsst.afw and cannot be installed here. These stand-ins declare the ``.fits`` extension
so ingest accepts the files; :mod:`explorer.sample.gen3` then rewrites the datastore records to the
real formatter names, as a DC2 repository holds them. They cannot read anything.
"""
from __future__ import annotations

from typing import Any

from lsst.daf.butler import FormatterV2


class _StandIn(FormatterV2):
    default_extension = ".fits"
    supported_extensions = frozenset({".fits", ".fits.fz"})
    can_read_from_local_file = True

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} is an ingest-time stand-in; read {path} with explorer.repo instead")


class ExposureStandInFormatter(_StandIn):
    """Replaced by lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter after ingest."""

    real_name = "lsst.obs.base.formatters.fitsExposure.FitsExposureFormatter"


class CatalogStandInFormatter(_StandIn):
    """Replaced by lsst.obs.base.formatters.fitsGeneric.FitsGenericFormatter after ingest."""

    real_name = "lsst.obs.base.formatters.fitsGeneric.FitsGenericFormatter"


STAND_INS = {
    f"{__name__}.ExposureStandInFormatter": ExposureStandInFormatter.real_name,
    f"{__name__}.CatalogStandInFormatter": CatalogStandInFormatter.real_name,
}
