"""Several ``repo-explorer serve`` processes behind a real nginx (Debian's), as docs/hosting.md says.

Two explorer servers and one nginx, all on 127.0.0.1, run the very configuration shipped in
``docs/nginx.conf`` (only ports and paths substituted). The tests check what a collaboration's
hosting relies on: a browser keeps to one backend for its whole session (the cookie naming it),
new browsers spread over the backends, a cookie naming anything else is not followed, and the
page works through the proxy, websocket included, in a real Chromium (a new browser, and one on
each backend): the image title that only arrives over the Bokeh websocket shows, and a link to
another tract shows that tract.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from browser.pagekit import CHROMIUM, chromium
from explorer.hosting import nginx_config
from serve_helpers import free_port, http_get, running_server, stop_process_group



def _nginx() -> str:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if exe is None:
        if os.environ.get("REPO_EXPLORER_REQUIRE_BROWSER") == "1":  # CI: a missing nginx is a failure
            pytest.fail("nginx is missing (scripts/setup.sh installs Debian's nginx)")
        pytest.skip("nginx is not installed (scripts/setup.sh installs it)")
    return exe


@pytest.fixture(scope="module")
def proxied(sample_gen3, tmp_path_factory):
    """Two explorer servers behind nginx: yields (nginx port, [backend ports])."""
    exe = _nginx()
    work = tmp_path_factory.mktemp("nginx")
    port = free_port()
    origin = [f"127.0.0.1:{port}"]
    with running_server(str(sample_gen3), work / "a.log", allow_websocket_origin=origin) as a, \
            running_server(str(sample_gen3), work / "b.log", allow_websocket_origin=origin) as b:
        conf = work / "nginx.conf"
        conf.write_text(nginx_config(port, [a.port, b.port], work))
        check = subprocess.run([exe, "-t", "-p", str(work), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        proc = subprocess.Popen([exe, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    http_get(port, "/explorer", timeout=60)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.fail(f"nginx did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
                    time.sleep(0.2)
            yield port, [a.port, b.port]
        finally:
            stop_process_group(proc)


def _backend(port: int, backend: str | None = None) -> tuple[str, dict[str, str]]:
    """(the backend that answered, the response's headers) of a page request carrying the backend
    cookie ``backend`` (None: a new browser)."""
    headers = {"Cookie": f"explorer_backend={backend}"} if backend else {}
    status, head, _ = http_get(port, "/explorer", headers=headers)
    assert status == 200
    return head["x-explorer-backend"], head


def _text(page, selector: str) -> str:
    """Visible text of the first match, its shadow DOM included (Panel panes render there)."""
    return page.locator(selector).first.evaluate(
        "e => e.shadowRoot ? Array.from(e.shadowRoot.children).filter(c => !['STYLE', 'LINK']"
        ".includes(c.tagName)).map(c => c.innerText || '').join('\\n') : e.innerText")


def test_new_browsers_spread_and_each_keeps_to_its_backend(proxied):
    port, backends = proxied
    addresses = {f"127.0.0.1:{p}" for p in backends}
    first = [_backend(port)[0] for _ in range(6)]  # new browsers: the backend with the fewest connections
    assert set(first) == addresses, first
    for backend in sorted(addresses):  # a browser that was given a backend: always that one
        assert {_backend(port, backend)[0] for _ in range(4)} == {backend}


def test_a_new_browser_is_given_its_backend(proxied):
    port, _ = proxied
    backend, head = _backend(port)
    cookie = head.get("set-cookie", "")
    given = re.match(r"explorer_backend=([^;]+);", cookie)
    assert given and given.group(1) == backend and "HttpOnly" in cookie, cookie
    assert _backend(port, backend)[0] == backend


def test_a_cookie_naming_another_address_is_not_followed(proxied):
    """The cookie chooses among the configured backends only: nginx never proxies elsewhere."""
    port, backends = proxied
    for forged in ("127.0.0.1:22", "example.org:80", "explorer_backends"):
        answered, _ = _backend(port, forged)
        assert answered in {f"127.0.0.1:{p}" for p in backends}, (forged, answered)


def test_the_page_works_through_the_proxy_in_chromium(proxied):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (scripts/setup.sh installs it)")
    port, backends = proxied
    # a new browser (its websocket must follow its page to the backend nginx chose), then one
    # browser given each backend: both processes serve a working page through nginx
    with chromium() as browser:
        for backend in [None] + [f"127.0.0.1:{p}" for p in backends]:
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            if backend:
                context.add_cookies([{"name": "explorer_backend", "value": backend, "domain": "127.0.0.1",
                                      "path": "/"}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            # patient waits: other test workers may be busy on the same two cores
            page.goto(f"http://127.0.0.1:{port}/explorer?kind=coadd&tract=3829", timeout=180_000)
            page.wait_for_selector(".image-title", timeout=180_000)
            deadline = time.time() + 180
            while "tract 3829" not in _text(page, ".image-title") and time.time() < deadline:
                page.wait_for_timeout(250)
            assert "tract 3829" in _text(page, ".image-title"), backend
            assert errors == [], backend
            context.close()
