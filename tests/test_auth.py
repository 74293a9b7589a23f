"""Login of a hosted explorer (``--basic-auth``): nothing of the app without the login cookie.

A real server (``explorer.server.serve`` in a subprocess, via ``serve_helpers.running_server``)
with ``basic_auth="USER:PASSWORD"``: the page and its websocket are refused without credentials,
the login form (POST ``/login``) hands out the cookie for the right password only, and with that
cookie the page is served (its document holds the explorer's widgets) and the websocket accepts a
Bokeh session. The positive cases make the negative ones meaningful: the same request that is
refused without the cookie succeeds with it.
"""
from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlencode

import pytest

from explorer.server import ServeError, basic_auth_config
from serve_helpers import http_get, running_server

USER, PASSWORD = "alice", "s3cret-Pw"


@pytest.fixture(scope="module")
def auth_server(sample_gen3, tmp_path_factory):
    log = tmp_path_factory.mktemp("auth") / "server.log"
    with running_server(str(sample_gen3), log, basic_auth=f"{USER}:{PASSWORD}") as server:
        yield server


def _login(port: int, user: str, password: str) -> tuple[int, dict[str, str], dict[str, str]]:
    """POST the login form; (status, lower-cased headers, cookies set by the answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        body = urlencode({"username": user, "password": password})
        conn.request("POST", "/login", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        cookies = {}
        for header in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and value != '""':  # a cleared cookie is set to the empty string
                cookies[name.strip()] = value
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, cookies
    finally:
        conn.close()


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _websocket_first_message(port: int, cookie: str | None) -> str | None:
    """Open ``/explorer/ws`` as BokehJS does (subprotocols ``bokeh`` + a session token) and return
    the first message the server sends (an ACK when accepted), or None when it refuses."""
    from bokeh.util.token import generate_jwt_token, generate_session_id
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import WebSocketClosedError, websocket_connect

    async def attempt():
        headers = {"Cookie": cookie} if cookie else {}
        request = HTTPRequest(f"ws://127.0.0.1:{port}/explorer/ws", headers=headers, request_timeout=60)
        token = generate_jwt_token(generate_session_id())
        try:
            ws = await websocket_connect(request, subprotocols=["bokeh", token])
        except (HTTPClientError, WebSocketClosedError, ConnectionError):
            return None
        try:
            return await asyncio.wait_for(ws.read_message(), 60)  # None when the server closes it
        finally:
            ws.close()

    return asyncio.run(attempt())


def test_basic_auth_config_forms(tmp_path):
    assert basic_auth_config(None) is None
    assert basic_auth_config("u:p:q") == {"u": "p:q"}
    assert basic_auth_config("shared") == "shared"
    users = tmp_path / "users.json"
    users.write_text('{"bob": "pw"}')
    assert basic_auth_config(str(users)) == str(users)
    users.write_text("[1, 2]")
    with pytest.raises(ServeError, match="JSON object"):
        basic_auth_config(str(users))
    with pytest.raises(ServeError, match="both a user and a password"):
        basic_auth_config(":nopassword")


@pytest.mark.slow
def test_page_needs_a_login(auth_server):
    status, headers, body = http_get(auth_server.port, "/explorer")
    assert status in (302, 401, 403), status
    if status == 302:
        assert "login" in headers["location"].split("?")[0], headers["location"]
    assert "w-repo" not in body and "docs_json" not in body and "render_items" not in body
    assert "Repository explorer" not in body
    status, _, body = http_get(auth_server.port, "/explorer", headers={"Cookie": "user=alice"})  # unsigned
    assert status in (302, 401, 403) and "w-repo" not in body
    status, _, body = http_get(auth_server.port, "/login")
    assert status == 200 and 'name="password"' in body  # the login form itself is served


@pytest.mark.slow
def test_wrong_password_gets_no_cookie_and_no_page(auth_server):
    for user, password in ((USER, "wrong"), ("mallory", PASSWORD), (USER, "")):
        status, headers, cookies = _login(auth_server.port, user, password)
        assert status == 302 and "error=" in headers["location"], (user, status, headers.get("location"))
        assert "user" not in cookies, cookies
        status, _, body = http_get(auth_server.port, "/explorer", headers={"Cookie": _cookie_header(cookies)})
        assert status in (302, 401, 403) and "w-repo" not in body


@pytest.mark.slow
def test_login_then_page_and_websocket(auth_server):
    status, headers, cookies = _login(auth_server.port, USER, PASSWORD)
    assert status == 302 and "error" not in headers["location"], headers
    assert "user" in cookies, cookies
    cookie = _cookie_header(cookies)
    status, _, body = http_get(auth_server.port, "/explorer", headers={"Cookie": cookie})
    # the page: Bokeh's session page (its document then comes over the websocket)
    assert status == 200 and "docs_json" in body and "Repository explorer" in body, status
    # the websocket: refused without the cookie (or with a forged one), accepted with it
    assert _websocket_first_message(auth_server.port, None) is None
    assert _websocket_first_message(auth_server.port, "user=alice") is None
    first = _websocket_first_message(auth_server.port, cookie)
    assert first is not None and '"msgtype":"ACK"' in first.replace(" ", ""), first
    assert auth_server.alive() and "Traceback" not in auth_server.log()
