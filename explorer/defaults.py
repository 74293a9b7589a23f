"""Where the bundled sample repository lives, and building it on first use.

The CLI's ``serve`` and ``apps/explorer.py`` both open the sample when no repository is named, so
a new user sees real data at once. The generator writes a few tens of MB, so it is built once
and reused.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Optional

ENV_SAMPLE_DIR = "REPO_EXPLORER_SAMPLE_DIR"
_build_lock = threading.Lock()


def project_root() -> Optional[Path]:
    """The source checkout holding this package (None for a plain site-packages install)."""
    candidate = Path(__file__).resolve().parent.parent
    return candidate if (candidate / "pyproject.toml").is_file() else None


def default_sample_dir() -> Path:
    """``$REPO_EXPLORER_SAMPLE_DIR``, else ``<checkout>/sample_repo``, else a per-user cache folder."""
    env = os.environ.get(ENV_SAMPLE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if root is not None:
        return root / "sample_repo" / "dc2-gen3"
    return Path.home() / ".cache" / "repo-explorer" / "dc2-gen3"


def sample_is_built(path: Path) -> bool:
    return (path / "butler.yaml").is_file() or (path / "_mapper").is_file()


def ensure_sample(path: Optional[Path] = None, progress: Optional[Callable[[str], None]] = None) -> Path:
    """Return the sample repository, generating it (small, seed 1) if it is not there yet."""
    path = Path(path) if path is not None else default_sample_dir()
    with _build_lock:
        if not sample_is_built(path):
            from .sample import make_sample

            if progress:
                progress(f"building the sample repository in {path} (first use only)")
            make_sample(path, layout="gen3", size="small", seed=1, progress=progress)
    return path
