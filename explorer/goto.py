"""Parse what a person types into "Go to": a sky position or a source/object id.

Accepted forms (a pure function, no I/O; :func:`parse_target`):

* decimal degrees: ``56.65 -36.45``, ``56.65, -36.45``, ``56.65d -36.45d``;
* sexagesimal, RA in hours and Dec in degrees: ``03:46:36.0 -36:27:00``, ``03 46 36.0 -36 27 00``,
  ``3h46m36s -36d27m00s``;
* an id: a bare integer such as ``1055054421295105`` (afw/Rubin ids are int64), optionally
  prefixed ``id=`` or ``#``.

Anything else raises :class:`GotoError` with a one-line message saying what was wrong (Dec out of
range, minutes >= 60, one coordinate missing...).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from .errors import ExplorerError

__all__ = ["GotoTarget", "GotoError", "parse_target"]


class GotoError(ExplorerError):
    """The text is neither a sky position nor an id."""


@dataclass(frozen=True)
class GotoTarget:
    """Where to go: ``kind`` "sky" (``ra``, ``dec`` in degrees, RA in [0, 360)) or "id" (``id``)."""

    kind: str
    ra: Optional[float] = None
    dec: Optional[float] = None
    id: Optional[int] = None


_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_ID_RE = re.compile(r"^(?:id\s*[=:]?\s*|#\s*)?(\d+)$", re.IGNORECASE)
_SEXA_SEP_RE = re.compile(r"^([+-]?)(\d+)[:\s](\d+)(?:[:\s](\d+(?:\.\d*)?))?$")
_UNIT_RE = re.compile(r"^([+-]?)(\d+(?:\.\d*)?)\s*([hd°])\s*(?:(\d+(?:\.\d*)?)\s*[m'′])?\s*"
                      r"(?:(\d+(?:\.\d*)?)\s*(?:s|\"|″|''))?$", re.IGNORECASE)
_DEG_RE = re.compile(rf"^({_NUM})\s*(?:d|deg|°)?$", re.IGNORECASE)
INT64_MAX = 2**63 - 1


def _sexagesimal(sign: str, a: str, b: Optional[str], c: Optional[str], what: str, text: str) -> float:
    whole, minutes, seconds = float(a), float(b or 0.0), float(c or 0.0)
    if minutes >= 60 or seconds >= 60:
        raise GotoError(f"bad {what} {text!r}: minutes and seconds must be below 60")
    value = whole + minutes / 60.0 + seconds / 3600.0
    return -value if sign == "-" else value


def _one(token: str, is_ra: bool, sexagesimal: bool) -> float:
    """One coordinate in degrees; RA in sexagesimal or with an ``h`` unit is in hours."""
    what = "RA" if is_ra else "Dec"
    t = token.strip()
    m = _UNIT_RE.match(t)
    if m and (m.group(4) or m.group(5) or m.group(3).lower() == "h"):
        sign, a, unit, b, c = m.groups()
        value = _sexagesimal(sign, a, b, c, what, t)
        if unit.lower() == "h":
            if not is_ra:
                raise GotoError(f"bad Dec {t!r}: hours are for RA")
            value *= 15.0
        return value
    m = _SEXA_SEP_RE.match(t) if sexagesimal else None
    if m:
        value = _sexagesimal(m.group(1), m.group(2), m.group(3), m.group(4), what, t)
        return value * 15.0 if is_ra else value
    m = _DEG_RE.match(t)
    if m:
        return float(m.group(1))
    raise GotoError(f"cannot read {what} {t!r}: use degrees (56.65), hours for RA (03:46:36.0 or 3h46m36s) "
                    "or degrees for Dec (-36:27:00 or -36d27m00s)")


def _split(text: str) -> tuple[str, str, bool]:
    """The RA and Dec tokens, and whether they are colon/space sexagesimal."""
    if "," in text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise GotoError(f"cannot read {text!r}: give two coordinates, RA and Dec")
        return parts[0], parts[1], ":" in text or len(parts[0].split()) > 1
    words = text.split()
    if len(words) == 2:
        return words[0], words[1], ":" in text
    if len(words) == 6:  # "03 46 36.0 -36 27 00"
        return " ".join(words[:3]), " ".join(words[3:]), True
    if len(words) == 4:  # "03 46 -36 27"
        return " ".join(words[:2]), " ".join(words[2:]), True
    if len(words) == 1:
        raise GotoError(f"cannot read {text!r}: give RA and Dec (e.g. 56.65 -36.45) or an integer id")
    # units with spaces inside: "3h 46m 36s -36d 27m 00s": split before the Dec's sign or 'd' group
    m = re.match(r"^(.*?[hH].*?)\s+([+-]?\d.*[dD°].*)$", text)
    if m:
        return m.group(1).replace(" ", ""), m.group(2).replace(" ", ""), False
    raise GotoError(f"cannot read {text!r}: give RA and Dec (e.g. 56.65 -36.45) or an integer id")


def parse_target(text: str) -> GotoTarget:
    """A sky position or an id from what was typed; raises :class:`GotoError` when it is neither."""
    if text is None or not str(text).strip():
        raise GotoError("nothing to go to: type RA Dec (e.g. 56.65 -36.45) or a source/object id")
    text = " ".join(str(text).strip().split())
    m = _ID_RE.match(text)
    if m:
        value = int(m.group(1))
        if value > INT64_MAX:
            raise GotoError(f"id {value} is larger than any 64-bit catalog id")
        return GotoTarget("id", id=value)
    ra_text, dec_text, sexagesimal = _split(text)
    ra = _one(ra_text, True, sexagesimal)
    dec = _one(dec_text, False, sexagesimal)
    if not (math.isfinite(ra) and math.isfinite(dec)):
        raise GotoError(f"cannot read {text!r}: coordinates must be finite numbers")
    if not -90.0 <= dec <= 90.0:
        raise GotoError(f"Dec {dec:g} is outside [-90, 90] degrees")
    if not -360.0 <= ra <= 360.0:
        raise GotoError(f"RA {ra:g} is outside [0, 360) degrees")
    return GotoTarget("sky", ra=ra % 360.0, dec=dec)
