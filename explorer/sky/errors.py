"""Errors of the sky package: bad tract ids, bad patch indices, coordinates off a tract.

Each is an :class:`explorer.errors.ExplorerError` (so the CLI prints a one-line message and
exits 2) and also the builtin exception that ``lsst.skymap`` raises in the same situation, so code
written against either style of error handling works.
"""
from __future__ import annotations

from explorer.errors import ExplorerError


class BadTractError(ExplorerError, ValueError):
    """A tract id that is not an integer in ``[0, num_tracts)`` for this sky map."""

    def __str__(self) -> str:  # KeyError-style quoting never applies; keep the message plain
        return str(self.args[0]) if self.args else ""


class BadPatchError(ExplorerError, ValueError):
    """A patch index ``(x, y)``, name ``"x,y"`` or sequential index outside the tract's patch grid."""


class BadCoordinateError(ExplorerError, ValueError):
    """A sky position that is not finite or has |Dec| > 90 degrees."""


class NotInTractError(ExplorerError, LookupError):
    """A sky position that falls outside the tract asked about (``lsst.skymap`` raises LookupError)."""
