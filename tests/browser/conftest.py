"""Fixtures of the browser tests: one explorer server for the whole session (every browser
module uses it: starting one takes tens of seconds, minutes on a busy machine), one Chromium per
module (playwright's sync API cannot nest, and other modules drive their own), a page opener per
test. Every server listens on 127.0.0.1 and is stopped at the end.
"""
from __future__ import annotations

import os

import pytest
from pagekit import ARTIFACTS, chromium, page_opener, require_browser
from serve_helpers import running_server


@pytest.fixture(scope="session")
def server(sample_gen3):
    """``{"url", "repo"}`` of the explorer served from a subprocess on the sample repository,
    confined to the sample's parent directory; its log is ``test-artifacts/browser/server.log``
    (``server-gw<N>.log`` under pytest-xdist: each worker that runs browser modules serves its own)."""
    require_browser()
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    log = ARTIFACTS / (f"server-{worker}.log" if worker else "server.log")
    # (running_server's own patience: one probe at a time, minutes for a slow first session)
    with running_server(str(sample_gen3), log, repo_roots=[str(sample_gen3.parent)]) as served:
        yield {"url": served.url, "repo": sample_gen3}


@pytest.fixture(scope="module")
def browser(server):
    """Debian's Chromium, headless, for one module."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def open_page(browser, server):
    """``opener(query='') -> Page`` on the served explorer; the pages are closed after the test."""
    with page_opener(browser, server["url"]) as opener:
        yield opener
