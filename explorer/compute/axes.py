"""Axes of a catalog scatter: columns, magnitudes of flux columns, colours as derived columns.

An axis is a column name, a derived expression (:mod:`explorer.compute.columns`), or a colour
written as astronomers write it, ``g - r``: :func:`colour_presets` offers one for each pair of
neighbouring bands whose fluxes the catalog has (``mag(g_psfFlux) - mag(r_psfFlux)``).
With ``magnitudes``, a flux column is shown as its AB magnitude: nJy fluxes directly, ``instFlux``
columns with the image's zero point (see :func:`explorer.compute.columns.flux_to_ab`).
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columns import flux_to_ab
from .density import axis_values

__all__ = [
    "BAND_ORDER",
    "Axis",
    "axis_data",
    "cmd_axes",
    "colour_presets",
    "is_flux_column",
    "resolve_axis",
]

BAND_ORDER = ("u", "g", "r", "i", "z", "y")
FLUX_KINDS = ("psfFlux", "psFlux", "kronFlux", "apFlux", "cModelFlux", "gaap1p0Flux")
_COLOUR_RE = re.compile(r"^\s*([ugrizy])\s*-\s*([ugrizy])\s*$")


def is_flux_column(name: str) -> bool:
    """A flux (not its error or a flag): has a magnitude."""
    low = name.lower()
    return "flux" in low and not low.endswith(("err", "error", "sigma")) and "flag" not in low \
        and not low.endswith(("_area", "_radius"))


def _band_flux(columns: Sequence[str], band: str) -> str | None:
    names = set(columns)
    return next((f"{band}_{k}" for k in FLUX_KINDS if f"{band}_{k}" in names), None)


def colour_presets(columns: Sequence[str]) -> dict[str, str]:
    """``{"g - r": "mag(g_psfFlux) - mag(r_psfFlux)", ...}`` for neighbouring bands with fluxes."""
    bands = [b for b in BAND_ORDER if _band_flux(columns, b)]
    return {f"{a} - {b}": f"mag({_band_flux(columns, a)}) - mag({_band_flux(columns, b)})"
            for a, b in itertools.pairwise(bands)}


def resolve_axis(text: str, columns: Sequence[str]) -> str:
    """The expression behind an axis: a colour ``g - r`` becomes magnitudes of the band fluxes."""
    m = _COLOUR_RE.match(text)
    if m and text not in columns:
        a, b = _band_flux(columns, m.group(1)), _band_flux(columns, m.group(2))
        if a and b:
            return f"mag({a}) - mag({b})"
    return text


@dataclass
class Axis:
    """Values of one axis and how to label it; ``magnitude``: brighter is up (the axis inverts)."""

    values: np.ndarray
    label: str
    magnitude: bool


def axis_data(frame: Any, text: str, columns: Sequence[str], magnitudes: bool = False,
              zero_point_mag: float | None = None) -> Axis:
    """One axis of a scatter over ``frame`` (pandas): a column, a colour or an expression; a flux
    column in AB magnitudes when ``magnitudes`` (instFlux needs ``zero_point_mag``)."""
    expr = resolve_axis(text, columns)
    values = np.asarray(axis_values(frame, expr), np.float64)
    if magnitudes and expr in columns and is_flux_column(expr):
        unit = "AB mag" + (f", zero point {zero_point_mag:.3f}" if "instflux" in expr.lower() else "")
        return Axis(np.asarray(flux_to_ab(values, expr, zero_point_mag), np.float64), f"{expr} ({unit})", True)
    colour = expr != text or expr.startswith("mag(")
    return Axis(values, text + (" (AB mag)" if colour and expr != text else ""), False)


def cmd_axes(columns: Sequence[str], band: str | None = None) -> tuple[str, str] | None:
    """The colour-magnitude diagram's axes for this catalog: (colour, flux of the redder band), or
    None when the catalog has fluxes in fewer than two bands."""
    presets = colour_presets(columns)
    if not presets:
        return None
    names = list(presets)
    chosen = next((n for n in names if band and band in n.split(" - ")), names[0])
    red = chosen.split(" - ")[1]
    return chosen, _band_flux(columns, red)
