"""The colour bar's limits: which data values a limits choice maps to black and white, the
stretch re-anchored on them, and the colour bar's ticks.

A limits choice (the state's ``limits``) is "stretch" (the stretch's own limits, see
:mod:`explorer.render.stretch`), "zscale" (with a ``contrast``), a percentile preset ("99.5",
"99", "95": the central fraction of the pixels, as DS9's presets), "minmax" or "manual" (``vmin``,
``vmax``). Presets are computed by :mod:`explorer.render.limits` on a strided sample of the whole
plane, once per file, plane and choice (a small bounded cache), so they do not move while panning.

:func:`with_range` gives the stretch new end points while keeping its shape (the asinh softening
sits at the same fraction of the range), so the image and the colour bar agree for every stretch;
:func:`colorbar_ticks` places round data values at the stretched positions the image gives them.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Optional

import numpy as np

from ..repo.model import Exposure
from .limits import LimitsError, display_limits
from .stretch import Limits, LimitsCache, apply_stretch, stretch_range

__all__ = ["LIMIT_CHOICES", "colorbar_ticks", "limits_for_choice", "nice_values", "with_range"]

LIMIT_CHOICES = ("stretch", "zscale", "99.5", "99", "95", "minmax", "manual")
_CACHE = LimitsCache(max_entries=512)  # (file, plane, choice, contrast) -> two floats


def limits_for_choice(exposure: Exposure, plane: str, choice: str, contrast: float = 0.25,
                      vmin: Optional[float] = None, vmax: Optional[float] = None) -> tuple[float, float]:
    """(low, high) data values of a limits choice for one plane of an exposure.

    Raises :class:`~explorer.render.limits.LimitsError` for manual limits that cannot be used
    (missing, not finite, low not below high) and for an unknown choice.
    """
    if choice == "manual":
        if vmin is None or vmax is None:
            raise LimitsError("manual limits need both a minimum and a maximum")
        from .limits import manual_limits

        return manual_limits(vmin, vmax)
    if choice not in LIMIT_CHOICES or choice == "stretch":
        raise LimitsError(f"unknown limits choice {choice!r} (use one of {', '.join(LIMIT_CHOICES[1:])})")
    from ..repo.cache import file_key

    try:
        key = file_key(exposure.info.path, "display-limits", plane, choice, round(float(contrast), 4))
    except OSError:
        key = (exposure.info.path, "display-limits", plane, choice, round(float(contrast), 4))

    def compute() -> tuple[float, float]:
        arr = exposure.plane(plane)
        if choice == "zscale":
            return display_limits(arr, "zscale", contrast=float(contrast))
        if choice == "minmax":
            return display_limits(arr, "minmax")
        return display_limits(arr, "percentile", percent=float(choice))

    return _CACHE.get(key, compute)


def with_range(limits: Limits, stretch: str, low: float, high: float) -> Limits:
    """``limits`` changed so that ``stretch_range(result, stretch) == (low, high)``.

    For asinh the softening point (the zscale high limit) keeps its fraction of the range, so
    the stretch keeps its shape between the new end points.
    """
    low, high = float(low), float(high)
    if stretch == "zscale":
        return replace(limits, z_low=low, z_high=high)
    if stretch == "linear":
        return replace(limits, p_low=low, p_high=high)
    lo0, hi0 = stretch_range(limits, stretch)
    frac = (limits.z_high - lo0) / (hi0 - lo0) if hi0 > lo0 else 0.5
    frac = min(max(frac, 1e-4), 1.0)
    return replace(limits, z_low=low, z_high=low + frac * (high - low), top=high)


def nice_values(low: float, high: float, count: int = 6) -> np.ndarray:
    """Round numbers (1, 2, 2.5 or 5 times a power of ten) inside [low, high], about ``count``."""
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return np.array([low])
    raw = span / max(count - 1, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(low / step) * step
    values = first + step * np.arange(int(math.floor((high - first) / step + 1e-9)) + 1)
    return values[(values >= low) & (values <= high)]


def colorbar_ticks(limits: Limits, stretch: str, count: int = 6) -> list[tuple[float, float]]:
    """``(position in [0, 1], data value)`` for the colour bar: the two ends and round values in
    between, placed where the stretch puts them (so a log stretch crowds its ticks to the left).
    Values closer than 6% of the bar to an end or another tick are left out."""
    low, high = stretch_range(limits, stretch)
    inner = nice_values(low, high, count * 3 if stretch in ("asinh", "log") else count)
    positions = apply_stretch(inner.astype(np.float64), limits, stretch).astype(float)
    ticks = [(0.0, low), (1.0, high)]
    for pos, value in zip(positions, inner):
        if all(abs(pos - p) >= 0.06 for p, _ in ticks):
            ticks.append((float(pos), float(value)))
    return sorted(ticks)


def format_value(value: float) -> str:
    """A data value as a short label (4 significant digits)."""
    return f"{value:.4g}"
