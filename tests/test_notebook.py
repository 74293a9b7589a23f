"""The example notebook runs top to bottom in a real Jupyter kernel, on the sample repository.

It is the documentation of ``Explorer`` in JupyterLab, so it must not rot: every cell executes
without error, the page displays inline (a Panel/Bokeh mime bundle, not a text repr), and the
data-layer cells print what the sample's manifest says.
"""
from __future__ import annotations

import json
import os
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
