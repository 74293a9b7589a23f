"""The URL codec as a table: which state parameter each query key holds, how its value is written
and read, its default (left out of links), and the cascade level its change starts.

:data:`FIELDS` is in the order a link is applied (a repository before its bands, a tract before
its patches). :func:`encode` and :func:`decode` are the only conversions between strings and
values; the state (:meth:`explorer.state.ExplorerState.apply_query` / ``to_query``) walks the
table and adds nothing per key except what is special about opening a repository.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class QueryField:
    """One query key.

    ``codec``: ``"text"``, ``"int"``, ``"patch"`` (``"x,y"``, spaces dropped), ``"bool"``,
    ``"float"`` (clamped to ``bounds``), ``"count"`` (an int clamped to ``bounds``), ``"list"``
    (comma-separated; ``none`` for an empty list), ``"box"`` (four numbers), ``"range"`` (two
    numbers, low < high), ``"rect"`` (four numbers, x0 < x1 and y0 < y1 after ordering), ``"mark"``
    (a source: ``id,x,y``, the id an integer when it reads as one), ``"poly"`` (a lasso:
    ``x,y,x,y,...``, 3 to :data:`MAX_POLY_VERTICES` vertices; longer ones are thinned when
    written). ``choice``: the value
    must be one the state offers (its parameter's ``objects``). ``level``: the cascade level to run
    after setting it (None: a display choice, set directly). ``default``: left out of links.
    """

    key: str
    param: str
    codec: str = "text"
    choice: bool = True
    level: Optional[str] = None
    default: Any = None
    bounds: Optional[tuple[float, float]] = None


FIELDS: tuple[QueryField, ...] = (
    QueryField("repo", "repo_path", choice=False),
    QueryField("collection", "collection", level="collection", default=""),
    QueryField("kind", "image_kind", level="exposure"),
    QueryField("band", "band", level="visit"),
    QueryField("tract", "tract", "int", level="patch"),
    QueryField("patch", "patch", "patch", level="visit"),
    QueryField("visit", "visit", "int", level="detector"),
    QueryField("detector", "detector", "int", level="exposure"),
    QueryField("plane", "plane", default="image"),
    QueryField("stretch", "stretch", default="zscale"),
    QueryField("cmap", "cmap", default="gray"),
    QueryField("masks", "mask_planes", "list", choice=False),
    QueryField("alpha", "mask_alpha", "float", choice=False, default=0.5, bounds=(0.0, 1.0)),
    QueryField("catalog", "catalog", level="catalog"),
    QueryField("column", "column"),
    QueryField("logx", "log_x", "bool", choice=False, default=True),
    QueryField("logy", "log_y", "bool", choice=False, default=False),
    QueryField("mag", "hist_mag", "bool", choice=False, default=False),
    QueryField("bins", "bins", "count", choice=False, default=80, bounds=(5, 400)),
    QueryField("require", "require_flags", "list", choice=False),  # always: empty differs from the default
    QueryField("exclude", "exclude_flags", "list", choice=False, default=()),
    QueryField("sources", "show_sources", "bool", choice=False, default=True),
    # catalog selections (after the catalog, column and axis they are on)
    QueryField("hrange", "selection_range", "range", choice=False, default=None),
    QueryField("sbox", "selection_box", "rect", choice=False, default=None),
    QueryField("mark", "marked_source", "mark", choice=False, default=None),
    QueryField("slasso", "selection_lasso", "poly", choice=False, default=None),
    QueryField("hats", "hats_catalog", choice=False, default=""),  # checked by the HATS panel (allowed roots)
    QueryField("footprints", "show_footprints", "bool", choice=False, default=False),
    QueryField("skycolor", "sky_color", default="bands"),
    QueryField("zoom", "zoom", "box", choice=False, default=None),
    QueryField("limits", "limits_choice", default="stretch"),
    QueryField("contrast", "contrast", "float", choice=False, default=0.25, bounds=(0.01, 1.0)),
    QueryField("vmin", "vmin", "float", choice=False, default=None),
    QueryField("vmax", "vmax", "float", choice=False, default=None),
    QueryField("grid", "show_grid", "bool", choice=False, default=False),
    QueryField("cells", "show_cells", "bool", choice=False, default=True),
)
MAX_POLY_VERTICES = 200  # a lasso in a link: enough for its shape, short enough for a URL
BY_KEY: dict[str, QueryField] = {f.key: f for f in FIELDS}
QUERY_ORDER = tuple(f.key for f in FIELDS)


def encode(field: QueryField, value: Any) -> str:
    """A value as its query-string text."""
    if field.codec == "bool":
        return "1" if value else "0"
    if field.codec == "list":
        return ",".join(str(v) for v in value) or "none"
    if field.codec == "box":
        return ",".join(f"{float(v):.6g}" for v in value)
    if field.codec == "float":
        return f"{float(value):.6g}"
    if field.codec in ("range", "rect"):
        return ",".join(f"{float(v):.8g}" for v in value)
    if field.codec == "mark":
        ident, x, y = value
        return f"{ident},{float(x):.2f},{float(y):.2f}"
    if field.codec == "poly":
        xs, ys = list(value[0]), list(value[1])
        if len(xs) > MAX_POLY_VERTICES:
            keep = [round(i * (len(xs) - 1) / (MAX_POLY_VERTICES - 1)) for i in range(MAX_POLY_VERTICES)]
            xs, ys = [xs[i] for i in keep], [ys[i] for i in keep]
        return ",".join(f"{float(x):.2f},{float(y):.2f}" for x, y in zip(xs, ys))
    return str(value)


def decode(field: QueryField, text: str) -> Any:
    """A query-string text as a value; raises ValueError naming what is wrong."""
    text = str(text).strip()
    if field.codec == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{field.key} {text!r} is not a number") from None
    if field.codec == "patch":
        return text.replace(" ", "")
    if field.codec == "bool":
        return text.lower() in TRUE
    if field.codec in ("float", "count"):
        try:
            value = float(text) if field.codec == "float" else int(text)
        except ValueError:
            raise ValueError(f"bad {field.key} {text!r}") from None
        if field.bounds:
            value = min(field.bounds[1], max(field.bounds[0], value))
        return value
    if field.codec == "list":
        return [] if text.lower() in ("", "none") else [v for v in text.split(",") if v]
    if field.codec == "box":
        try:
            box = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"bad {field.key} {text!r} (x0,x1,y0,y1)") from None
        if len(box) != 4 or not all(abs(v) < 1e12 for v in box) or box[0] == box[1] or box[2] == box[3]:
            raise ValueError(f"bad {field.key} {text!r} (x0,x1,y0,y1)")
        return box
    if field.codec in ("range", "rect"):
        want = 2 if field.codec == "range" else 4
        try:
            vals = tuple(float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"bad {field.key} {text!r}") from None
        if len(vals) != want or not all(abs(v) < 1e15 for v in vals):
            raise ValueError(f"bad {field.key} {text!r} ({want} numbers)")
        if field.codec == "range":
            lo, hi = sorted(vals)
            if lo == hi:
                raise ValueError(f"bad {field.key} {text!r} (an empty range)")
            return (lo, hi)
        x0, x1 = sorted(vals[0::2])
        y0, y1 = sorted(vals[1::2])
        if x0 == x1 or y0 == y1:
            raise ValueError(f"bad {field.key} {text!r} (an empty box)")
        return (x0, y0, x1, y1)
    if field.codec == "poly":
        try:
            vals = [float(v) for v in text.split(",")]
        except ValueError:
            raise ValueError(f"bad {field.key} {text[:60]!r} (x,y,x,y,... numbers)") from None
        if len(vals) % 2 or not 3 <= len(vals) // 2 <= MAX_POLY_VERTICES or not all(abs(v) < 1e12 for v in vals):
            raise ValueError(f"bad {field.key} {text[:60]!r} (3 to {MAX_POLY_VERTICES} x,y vertices)")
        return (vals[0::2], vals[1::2])
    if field.codec == "mark":
        parts = text.rsplit(",", 2)
        try:
            x, y = float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ValueError(f"bad {field.key} {text!r} (id,x,y)") from None
        if not parts[0] or not all(abs(v) < 1e9 for v in (x, y)):
            raise ValueError(f"bad {field.key} {text!r} (id,x,y)")
        ident = int(parts[0]) if parts[0].lstrip("-").isdigit() else parts[0]
        return (ident, x, y)
    return text


def is_default(field: QueryField, value: Any) -> bool:
    """Whether a value is the field's default (links leave it out)."""
    if field.codec == "list" and field.default is not None:
        return list(value or []) == list(field.default)
    return value == field.default


def normalise(query: Mapping[str, Any]) -> dict[str, str]:
    """Query arguments as Bokeh or a dict give them (lists of bytes, str) as one str per key."""
    out = {}
    for k, v in query.items():
        if isinstance(v, (list, tuple)):
            v = v[-1] if v else ""
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out[str(k)] = str(v)
    return out
