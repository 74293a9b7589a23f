"""Shared pytest fixtures. Keep each fixture small and documented; add new ones below the others."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = (REPO_ROOT / ".." / "shared" / "lsst-real").resolve()


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The real LSST-written files (``<repo>/../shared/lsst-real``); skips the test when absent."""
    if not REAL_DIR.is_dir():
        pytest.skip(f"real LSST files not available at {REAL_DIR}")
    return REAL_DIR


@pytest.fixture
def fresh_cache(monkeypatch):
    """A private, empty shared cache for one test, so cache statistics count only that test's reads."""
    from explorer.repo import cache

    private = cache.ByteCache(512 * 1024**2)
    monkeypatch.setattr(cache, "_shared", private)
    return private
