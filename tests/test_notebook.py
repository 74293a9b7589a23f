"""The example notebook runs top to bottom in a real Jupyter kernel, on the sample repository.

It is the documentation of ``Explorer`` in JupyterLab, so it must not rot: every cell executes
without error, the page displays inline (a Panel/Bokeh mime bundle, not a text repr), and the
data-layer cells print what the sample's manifest says.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explorer.ipynb"


@pytest.mark.slow
def test_example_notebook_runs_and_displays_the_page(sample_gen3, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    # the notebook's ensure_sample() finds the session's sample instead of building its own
    monkeypatch.setenv("REPO_EXPLORER_SAMPLE_DIR", str(sample_gen3))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute(env=dict(os.environ))

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    page = code[0].outputs
    bundles = [o for o in page if o.output_type in ("display_data", "execute_result")]
    assert any("application/vnd.holoviews_exec.v0+json" in o.data for o in bundles), \
        [list(o.data) for o in bundles]

    printed = "".join(o.get("text", "") for o in code[1].outputs)
    assert "deepCoadd" in printed and "patches of this tract with data" in printed
    summary = next(o for o in code[2].outputs if o.output_type == "execute_result").data["text/plain"]
    assert f"'visits': {len(manifest['visits'])}" in summary


# ----- where the page's resources come from, and what .show() says (explorer.notebook) -------------
def test_resource_mode_is_inline_unless_the_jupyter_endpoint_can_serve(monkeypatch):
    from explorer import notebook

    for name in ("PANEL_JUPYTER_ENDPOINT", notebook.ENV_HUB_PREFIX, notebook.ENV_RESOURCES,
                 "PANEL_NOTEBOOK_RESOURCES"):
        monkeypatch.delenv(name, raising=False)
    assert notebook.resource_mode() == "inline"  # no Panel server extension in this kernel's server
    monkeypatch.setenv("PANEL_JUPYTER_ENDPOINT", "1")  # what Panel's server extension sets for kernels
    assert notebook.resource_mode() == "jupyter"
    monkeypatch.setenv(notebook.ENV_HUB_PREFIX, "/user/ada/")  # Panel's endpoint URLs miss the prefix
    assert notebook.resource_mode() == "inline"
    monkeypatch.setenv(notebook.ENV_RESOURCES, "cdn")
    assert notebook.resource_mode() == "cdn"
    # outside a kernel (here: pytest) the page gets its resources from its own server
    assert notebook.extension_kwargs() == {}


def test_show_message_says_where_the_page_is(monkeypatch):
    from explorer import notebook

    monkeypatch.delenv(notebook.ENV_HUB_PREFIX, raising=False)
    text = notebook.show_message(5123, opened=False)
    assert "No browser tab was opened" in text and "http://localhost:5123/explorer" in text
    assert "ssh -L 5123:localhost:5123" in text
    assert "new browser tab" in notebook.show_message(5123, opened=True)
    monkeypatch.setenv(notebook.ENV_HUB_PREFIX, "/user/ada/")
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_URL", "https://hub.example.org/")
    text = notebook.show_message(5123, opened=False)
    assert "https://hub.example.org/user/ada/proxy/5123/explorer" in text and "jupyter-server-proxy" in text
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if sys.platform.startswith("linux"):
        assert notebook.can_open_browser() is False


# ----- a stale value from the browser (explorer.app.selectors.TolerantSelect) ----------------------
def test_a_select_ignores_a_stale_value_from_the_browser():
    """In a notebook a cascade reaches the browser as separate messages; between a select's new
    options and its new value the browser sent its old value back. Panel's Select raised on it
    ("48 not in list") and the page stopped following; the explorer's selects ignore it and send
    the browser their current value."""
    import panel as pn
    from bokeh.document import Document

    from explorer.app.selectors import TolerantSelect

    plain = pn.widgets.Select(options={"1 (2 overlap)": 1, "7": 7}, value=7)
    with pytest.raises(ValueError, match="not in list"):
        plain._process_events({"value": "48"})  # what Panel does with the browser's message

    select = TolerantSelect(options={"1 (2 overlap)": 1, "7": 7}, value=7)
    model = select.get_root(Document())
    model.value = "48"  # the browser's stale value, as the page's model holds it
    select._process_events({"value": "48"})
    assert select.value == 7 and model.value == "7"  # kept, and the browser is sent it again
    select._process_events({"value": "1"})  # a value it offers is taken as before
    assert select.value == 1 and model.value == "1"
    for options in ([3828, 3829], ["g", "r"]):  # plain lists: values are their strings
        select = TolerantSelect(options=options)
        select._process_events({"value": "48"})
        assert select.value == options[0]
        select._process_events({"value": str(options[1])})
        assert select.value == options[1]
