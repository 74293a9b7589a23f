"""Magnitudes and derived columns of catalogs.

* :func:`njy_to_ab`: AB magnitude of a flux in nJy, ``-2.5 log10(f) + 31.4`` (31.4 = 2.5 log10(3631e9));
* :func:`instflux_to_ab`: of an instrumental flux (counts) with the image's zero point (AB mag of
  one count, as ``exposure --json`` reports it): ``zp - 2.5 log10(f)``;
* non-positive and non-finite fluxes have no magnitude (NaN).

Derived columns are arithmetic over column names, e.g. ``g - r`` or
``mag(g_psfFlux) - mag(r_psfFlux)`` (nJy) or ``instmag(base_PsfFlux_instFlux)`` (counts, with the
image's zero point): :func:`parse_expression` checks the text once (only names,
numbers, ``+ - * / **``, parentheses and the functions in :data:`FUNCTIONS`; nothing is ever
``eval``-ed), :func:`expression_columns` lists the columns it needs (so only those are read), and
:func:`evaluate` computes it on a pandas or Dask DataFrame (or a dict of arrays) column-wise.
"""
from __future__ import annotations

import ast
import difflib
import math
import operator
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ..errors import ExplorerError

__all__ = ["AB_NJY_ZERO_POINT", "njy_to_ab", "instflux_to_ab", "flux_to_ab", "FUNCTIONS", "ExpressionError",
           "parse_expression", "expression_columns", "evaluate"]

AB_NJY_ZERO_POINT = 2.5 * math.log10(3631e9)  # 31.4000...: AB mag of 1 nJy


class ExpressionError(ExplorerError):
    """A derived-column expression that cannot be read or names a column that does not exist."""


def _positive(flux: Any) -> Any:
    """The flux with non-positive values as NaN (works on arrays, pandas and Dask Series)."""
    if isinstance(flux, (int, float, np.number)):
        return float(flux) if flux > 0 else math.nan
    if hasattr(flux, "where") and not isinstance(flux, np.ndarray):
        return flux.astype("float64").where(flux > 0)
    arr = np.asarray(flux, dtype=np.float64)
    return np.where(arr > 0, arr, np.nan)


def _log10(x: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(x)


def njy_to_ab(flux_njy: Any) -> Any:
    """AB magnitude of fluxes in nJy (NaN where the flux is not positive)."""
    return -2.5 * _log10(_positive(flux_njy)) + AB_NJY_ZERO_POINT


def instflux_to_ab(instflux: Any, zero_point_mag: float) -> Any:
    """AB magnitude of instrumental fluxes (counts) given the zero point (AB mag of one count)."""
    if zero_point_mag is None or not math.isfinite(float(zero_point_mag)):
        raise ExpressionError("an instFlux needs the image's zero point to become a magnitude; this image has none")
    return float(zero_point_mag) - 2.5 * _log10(_positive(instflux))


def flux_to_ab(flux: Any, column: str, zero_point_mag: Optional[float] = None) -> Any:
    """AB magnitude of a flux column by its name: ``*instFlux`` columns need ``zero_point_mag``,
    other flux columns (``*Flux``, Rubin's ``*_psfFlux`` etc.) are taken to be in nJy."""
    if "instflux" in column.lower():
        return instflux_to_ab(flux, zero_point_mag)
    return njy_to_ab(flux)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "mag": njy_to_ab,  # nJy -> AB
    "instmag": instflux_to_ab,  # counts -> AB with the image's zero point (given to evaluate)
    "log10": _log10,
    "sqrt": np.sqrt,
    "abs": abs,
}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def parse_expression(text: str) -> ast.expr:
    """The checked syntax tree of a derived-column expression (raises :class:`ExpressionError`)."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression: write e.g. g - r or mag(g_psfFlux) - mag(r_psfFlux)")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ExpressionError(f"cannot read the expression {text!r}: use column names, numbers, + - * / ** "
                              f"and {', '.join(FUNCTIONS)}()") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load)) or isinstance(node, tuple(_BINOPS)) \
                or isinstance(node, tuple(_UNARY)):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            continue
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                raise ExpressionError(f"unknown function {name!r} in {text!r}: use {', '.join(FUNCTIONS)}")
            if node.keywords or len(node.args) != 1:
                raise ExpressionError(f"{node.func.id}() takes one argument in {text!r}")
            continue
        raise ExpressionError(f"{ast.unparse(node)!r} is not allowed in a column expression ({text!r})")
    return tree


def expression_columns(text: str) -> list[str]:
    """Column names an expression uses, in order of first use."""
    tree = parse_expression(text)
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in calls and node.id not in names:
            names.append(node.id)
    return names


def _columns_of(frame: Any) -> list[str]:
    cols = getattr(frame, "columns", None)
    return [str(c) for c in (cols if cols is not None else frame.keys())]


def evaluate(text: str, frame: Any, zero_point_mag: Optional[float] = None) -> Any:
    """The expression computed over ``frame``'s columns (pandas/Dask DataFrame or dict of arrays);
    integer and nullable columns are computed as float64. ``instmag(col)`` uses ``zero_point_mag``
    (the image's AB magnitude of one count)."""
    tree = parse_expression(text)
    available = _columns_of(frame)
    for name in expression_columns(text):
        if name not in available:
            close = difflib.get_close_matches(name, available, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ExpressionError(f"no column {name!r} for {text!r}{hint}")

    def column(name: str) -> Any:
        col = frame[name]
        if hasattr(col, "astype"):
            return col.astype("float64")
        return np.asarray(col, dtype=np.float64)

    def walk(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return column(node.id)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.BinOp):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                return _BINOPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call):
            if node.func.id == "instmag":
                return instflux_to_ab(walk(node.args[0]), zero_point_mag)
            return FUNCTIONS[node.func.id](walk(node.args[0]))
        raise ExpressionError(f"cannot evaluate {ast.unparse(node)!r}")  # parse_expression forbids it

    return walk(tree)


def derived_names(expressions: Iterable[str]) -> list[str]:
    """Every column a set of expressions needs, once each."""
    out: list[str] = []
    for e in expressions:
        for n in expression_columns(e):
            if n not in out:
                out.append(n)
    return out
