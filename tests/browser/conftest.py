"""Fixtures of the browser tests: one explorer server for the whole session (every browser
module uses it: starting one takes tens of seconds, minutes on a busy machine), one Chromium per
module (playwright's sync API cannot nest, and other modules drive their own), a page opener per
test. Every server listens on 127.0.0.1 and is stopped at the end.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from pagekit import ARTIFACTS, CHROMIUM, REPO_ROOT, Page, free_port

SERVER_START_S = 480  # imports, numba warm-up and the first session, on a busy two-core machine


def _require_browser() -> None:
    required = os.environ.get("REPO_EXPLORER_REQUIRE_BROWSER") == "1"  # CI: a missing browser is a failure
    if not os.path.exists(CHROMIUM):
        if required:
            pytest.fail(f"{CHROMIUM} is missing and REPO_EXPLORER_REQUIRE_BROWSER=1 (scripts/setup.sh installs it)")
        pytest.skip("Debian chromium is not installed (scripts/setup.sh installs it)")
    if required:
        import playwright.sync_api  # noqa: F401 - fails loudly in CI
    pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def server(sample_gen3):
    """``{"url", "repo"}`` of the explorer served from a subprocess on the sample repository,
    confined to the sample's parent directory; its log is ``test-artifacts/browser/server.log``."""
    _require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    code = ("from explorer.server import serve; "
            f"serve({str(sample_gen3)!r}, port={port}, repo_roots=[{str(sample_gen3.parent)!r}])")
    log_path = ARTIFACTS / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=str(REPO_ROOT))
    url = f"http://127.0.0.1:{port}/explorer"
    deadline = time.time() + SERVER_START_S
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            if time.time() > deadline:
                pytest.fail(f"server did not answer within {SERVER_START_S} s")
            try:  # one request at a time: abandoned requests would pile up behind a slow first session
                with urllib.request.urlopen(url, timeout=max(5.0, deadline - time.time())) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        yield {"url": url, "repo": sample_gen3}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(server):
    """Debian's Chromium, headless, for one module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server):
    """``opener(query='') -> Page`` on the served explorer; the pages are closed after the test."""
    pages = []

    def opener(query: str = "") -> Page:
        p = Page(browser, server["url"] + query)
        pages.append(p)
        return p

    yield opener
    for p in pages:
        p.page.close()
