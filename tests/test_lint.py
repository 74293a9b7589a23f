"""The code passes the project's ruff configuration (pyproject.toml ``[tool.ruff]``): issue 12 asks
for one the code passes, and this keeps it passing."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_code_passes_the_projects_ruff_configuration():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "explorer", "bench", "tests"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
