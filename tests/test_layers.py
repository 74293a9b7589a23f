"""The layers of shared/DESIGN.md hold, and long modules say why they are long.

DESIGN.md orders the code in layers, lowest first, each importing only from the ones before it:
errors < sky < repo < index < render/compute < views < state < app < server/cli. These tests
parse every module of ``explorer`` (no import is run) and check every import of ours, at module
level or inside a function alike (a lazy import is still a dependency), against that order.

Modules DESIGN.md does not name have a place in :data:`LAYER_OF` too, chosen by what they are
and what they import; a new top-level module or package must be given one (the test says so).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "explorer"

# the layers, lowest first (shared/DESIGN.md "Layout and layers")
LAYERS = ("foundation", "sky", "repo", "index", "render/compute", "views", "state", "app", "entry")
RANK = {name: i for i, name in enumerate(LAYERS)}

# every top-level module or package of explorer/ -> its layer
LAYER_OF = {
    # imports nothing of ours: every layer may use them
    "errors": "foundation",  # the error types (DESIGN.md)
    "bands": "foundation",  # the one band order
    "keys": "foundation",  # DatasetKey: a typed (dataset type, data ID)
    "goto": "foundation",  # parses what a person types into "Go to" (a pure function)
    "allocator": "foundation",  # how the C allocator returns freed blocks (the server sets it)
    "sky": "sky",
    "repo": "repo",
    "paths": "repo",  # repository-path confinement (asks repo/ about a repository's own files)
    "index": "index",
    "indexing": "index",  # the index's parts (explorer/index.py composes them)
    "sample": "index",  # sample repositories: written with daf_butler, read back by repo/ in tests
    "defaults": "index",  # where the sample lives (builds it with sample/)
    "render": "render/compute",
    "compute": "render/compute",
    "locate": "render/compute",  # where "Go to" goes: the index's regions and catalogs' sky columns
    "views": "views",
    "state": "state",
    "urlstate": "state",  # the URL codec table of the state
    "shared": "state",  # the repositories and indexes the sessions' states share
    "app": "app",
    "notebook": "app",  # the page's resources and .show() in Jupyter (the page imports it)
    "notebook_comms": "app",  # the notebook output's comms, in step with the kernel (the page imports it)
    "server": "entry",
    "hosting": "entry",  # the shipped nginx configuration for given ports (docs/hosting.md)
    "cli": "entry",
    "commands": "entry",  # the sub-commands of cli.py
    "__init__": "entry",  # ``explorer.Explorer``: the page, on first use
}

# toolkits of the page: nothing below the views imports them (the data layers know no widgets),
# and the state imports none but param (it works without a browser)
UI_TOOLKITS = ("panel", "holoviews", "bokeh", "param")
UI_ALLOWED_BELOW_VIEWS = {"bokeh.palettes"}  # palette tables (lists of colours), no widgets

# a module longer than this says in its docstring why it is not split
LONG_MODULE_LINES = 400
WHY_LONG = "Why this module is over 400 lines"
# modules other helpers own and are changing now; their owners add the paragraph (or split them)
WHY_LONG_PENDING = {
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _unit(dotted: list[str]) -> str:
    """The top-level module or package of explorer a dotted name belongs to."""
    return dotted[1] if len(dotted) > 1 else "__init__"


def _imports_in(source: str, dotted: list[str], is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import of ours in a module's source, lazy ones included."""
    package = dotted if is_package else dotted[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                if node.module:
                    found.append((node.lineno, ".".join(base + node.module.split("."))))
                else:  # from . import x: x is a module of that package
                    found += [(node.lineno, ".".join(base + [a.name])) for a in node.names]
            elif node.module and node.module.split(".")[0] == "explorer":
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "explorer"]
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    return _imports_in(path.read_text(), _dotted(path), path.name == "__init__.py")


def _violations(unit: str, imports: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The imports a module of ``unit`` makes from a higher layer."""
    out = []
    for line, name in imports:
        target = _unit(name.split("."))
        if target in LAYER_OF and RANK[LAYER_OF[target]] > RANK[LAYER_OF[unit]]:
            out.append((line, name))
    return out


def _third_party_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]  # (a name or a module)
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def test_every_module_has_a_layer():
    units = {_unit(_dotted(p)) for p in _modules()}
    missing = sorted(units - set(LAYER_OF))
    assert not missing, f"give these a layer in tests/test_layers.py LAYER_OF: {missing}"
    assert set(LAYER_OF.values()) <= set(LAYERS)


def test_lower_layers_never_import_upper_ones():
    violations = []
    for path in _modules():
        unit = _unit(_dotted(path))
        for line, name in _violations(unit, _imports(path)):
            target = LAYER_OF[_unit(name.split("."))]
            violations.append(f"{path.relative_to(ROOT)}:{line} ({LAYER_OF[unit]}) imports {name} ({target})")
    assert not violations, "imports against the layers of shared/DESIGN.md:\n" + "\n".join(violations)


def test_the_layer_check_sees_relative_absolute_and_lazy_imports():
    """A module of explorer/repo importing upwards in every way is caught (so the check can fail)."""
    source = ("from ..state import ExplorerState\n"
              "import explorer.app\n"
              "from .. import views\n"
              "def f():\n"
              "    from ..index import RepoIndex\n"
              "    from . import base\n"
              "    from ..sky import skymap\n")
    imports = _imports_in(source, ["explorer", "repo", "probe"], is_package=False)
    assert sorted(name for _, name in imports) == ["explorer.app", "explorer.index", "explorer.repo.base",
                                                   "explorer.sky", "explorer.state", "explorer.views"]
    upward = sorted(name for _, name in _violations("repo", imports))
    assert upward == ["explorer.app", "explorer.index", "explorer.state", "explorer.views"]
    # in a package's __init__, "." is the package itself
    nested = {n for _, n in _imports_in(source, ["explorer", "repo", "sub"], is_package=True)}
    assert "explorer.repo.sub.base" in nested and "explorer.repo.index" in nested


def test_the_data_layers_know_no_widgets():
    below_views = [u for u, layer in LAYER_OF.items() if RANK[layer] < RANK["views"]]
    offenders = []
    for path in _modules():
        unit = _unit(_dotted(path))
        if unit not in below_views and unit not in ("state", "urlstate", "shared"):
            continue
        allowed_toolkits = ("param",) if unit in ("state", "urlstate", "shared") else ()
        for line, name in _third_party_imports(path):
            top = name.split(".")[0]
            allowed = any(name == a or name.startswith(a + ".") for a in UI_ALLOWED_BELOW_VIEWS)
            if top in UI_TOOLKITS and top not in allowed_toolkits and not allowed:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not offenders, "UI toolkits below the views (or in the browser-free state):\n" + "\n".join(offenders)


@pytest.mark.parametrize("path", [p for p in _modules() if len(p.read_text().splitlines()) > LONG_MODULE_LINES],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_a_long_module_says_why_in_its_docstring(path):
    relative = str(path.relative_to(ROOT))
    if relative in WHY_LONG_PENDING:
        pytest.skip(f"owned by another helper: {WHY_LONG_PENDING[relative]}")
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    lines = len(path.read_text().splitlines())
    assert WHY_LONG in docstring, (f"{relative} has {lines} lines: split it into modules with one job each, "
                                   f"or say in its docstring '{WHY_LONG}: ...'")
