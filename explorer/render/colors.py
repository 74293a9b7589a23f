"""Mask-plane colours as ``lsst.afw.display`` draws them, so the explorer looks like DS9/Firefly.

afw.display's defaults: BAD red, CR magenta, EDGE yellow, INTERPOLATED/INTRP green,
SATURATED/SAT green, DETECTED blue, DETECTED_NEGATIVE cyan, SUSPECT yellow, NO_DATA orange. Any
other plane takes the next colour of a cycle (red, green, blue, cyan, magenta, yellow), in bit
order, as afw's ``maskColorGenerator(omitBW=True)`` hands them out.
"""
from __future__ import annotations

from typing import Iterable

# CSS colours (the X11 names afw passes to ds9) as RGB triples.
NAMED_RGB = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
}

AFW_MASK_COLORS = {
    "BAD": "red",
    "CR": "magenta",
    "EDGE": "yellow",
    "INTERPOLATED": "green",
    "INTRP": "green",
    "SATURATED": "green",
    "SAT": "green",
    "DETECTED": "blue",
    "DETECTED_NEGATIVE": "cyan",
    "SUSPECT": "yellow",
    "NO_DATA": "orange",
}

CYCLE = ("red", "green", "blue", "cyan", "magenta", "yellow")

# Planes shown when an exposure is first displayed: the ones a person checks first.
DEFAULT_SHOWN = ("BAD", "SAT", "SATURATED", "CR", "NO_DATA", "DETECTED", "INTRP", "INTERPOLATED", "EDGE")


def mask_plane_colors(planes: dict[str, int] | Iterable[str]) -> dict[str, str]:
    """Colour name for each mask plane; ``planes`` as ``{name: bit}`` (ordered by bit) or names."""
    if isinstance(planes, dict):
        names = [n for n, _ in sorted(planes.items(), key=lambda kv: kv[1])]
    else:
        names = list(planes)
    out: dict[str, str] = {}
    i = 0
    for name in names:
        if name.upper() in AFW_MASK_COLORS:
            out[name] = AFW_MASK_COLORS[name.upper()]
        else:
            out[name] = CYCLE[i % len(CYCLE)]
            i += 1
    return out


def rgb(color: str) -> tuple[int, int, int]:
    """RGB triple of a colour name from :data:`NAMED_RGB` or a ``#rrggbb`` string."""
    if color.startswith("#") and len(color) == 7:
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    return NAMED_RGB[color]


def hex_color(color: str) -> str:
    r, g, b = rgb(color)
    return f"#{r:02x}{g:02x}{b:02x}"


def default_shown(planes: Iterable[str]) -> list[str]:
    """The planes to switch on by default among those an exposure has."""
    return [p for p in planes if p.upper() in DEFAULT_SHOWN]
