"""Mask-plane colours: ``lsst.afw.display``'s where they can be told apart, so the explorer looks
like DS9/Firefly, and never one colour for two planes of an exposure.

afw.display's defaults: BAD red, CR magenta, EDGE yellow, INTERPOLATED/INTRP green,
SATURATED/SAT green, DETECTED blue, DETECTED_NEGATIVE cyan, SUSPECT yellow, NO_DATA orange; a
plane named by meaning takes its meaning's colour (COSMIC_RAY as CR). afw gives the others the
next colour of a six-colour cycle, so SAT, INTRP and NOT_DEBLENDED all came out green and a green
pixel said nothing. Here, in bit order, a plane takes its afw colour when no lower plane has it,
and otherwise the first colour of :data:`PALETTE` not yet taken.
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
# beyond afw's colours: distinct on a grey image and from each other
EXTRA = ("#8a2be2", "#ff69b4", "#a0522d", "#7fff00", "#008080", "#ffd700", "#1e90ff", "#dc143c", "#00fa9a",
         "#ff8c00", "#9acd32", "#ba55d3", "#40e0d0", "#f08080", "#4682b4", "#daa520", "#6b8e23", "#c71585")

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
PALETTE = CYCLE + ("orange",) + EXTRA
# planes named by meaning rather than by afw's name
MEANING = {"COSMIC_RAY": "CR", "COSMICRAY": "CR", "SATURATED": "SAT", "INTERPOLATED": "INTRP"}

# Planes shown when an exposure is first displayed: the ones a person checks first.
DEFAULT_SHOWN = ("BAD", "SAT", "SATURATED", "CR", "NO_DATA", "DETECTED", "INTRP", "INTERPOLATED", "EDGE")


def mask_plane_colors(planes: dict[str, int] | Iterable[str]) -> dict[str, str]:
    """Colour for each mask plane, no two alike; ``planes`` as ``{name: bit}`` or names (in bit order)."""
    if isinstance(planes, dict):
        names = [n for n, _ in sorted(planes.items(), key=lambda kv: kv[1])]
    else:
        names = list(planes)
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:  # afw's colour, for the lowest plane that wants it
        upper = name.upper()
        color = AFW_MASK_COLORS.get(MEANING.get(upper, upper))
        if color is not None and color not in used:
            out[name] = color
            used.add(color)
    free = [c for c in PALETTE if c not in used]
    for i, name in enumerate(n for n in names if n not in out):
        out[name] = free[i] if i < len(free) else PALETTE[i % len(PALETTE)]  # (more planes than colours)
    return {name: out[name] for name in names}


def rgb(color: str) -> tuple[int, int, int]:
    """RGB triple of a colour name from :data:`NAMED_RGB` or a ``#rrggbb`` (or ``#rgb``) string."""
    if color.startswith("#") and len(color) == 4:
        color = "#" + "".join(c * 2 for c in color[1:])
    if color.startswith("#") and len(color) == 7:
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    return NAMED_RGB[color]


def hex_color(color: str) -> str:
    """``#rrggbb`` of a colour :func:`rgb` knows: as the image draws it, for CSS (where ``green``
    is a darker green than afw's)."""
    r, g, b = rgb(color)
    return f"#{r:02x}{g:02x}{b:02x}"


def default_shown(planes: Iterable[str]) -> list[str]:
    """The planes to switch on by default among those an exposure has."""
    return [p for p in planes if p.upper() in DEFAULT_SHOWN]
