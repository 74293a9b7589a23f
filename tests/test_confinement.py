"""Confinement of a hosted explorer (``--repo-root``): every way to name a path outside is refused.

Each escape is tried at three levels: the rule itself (:func:`explorer.paths.resolve_repo_path`),
the state object's URL entry point (:meth:`ExplorerState.apply_query`) and the served page's query
path (:func:`explorer.app.create_app` with Bokeh's session arguments, then a real server over
HTTP and a Bokeh websocket client). Refusals are :class:`PathNotAllowedError` messages that start
with ``refused:`` and name the reason; the previously open repository stays open; the server
stays up. Also: ``serve`` warns when it listens beyond loopback without confinement.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.paths import MAX_PATH_CHARS, resolve_repo_path
from explorer.repo.errors import PathNotAllowedError
from explorer.server import exposure_warning, is_loopback
from serve_helpers import REPO_ROOT, http_get, running_server


@pytest.fixture
def layout(tmp_path, sample_gen3):
    """Roots: the sample's parent (first root: relative input resolves there) and ``own``, a root
    holding a link that points out (``escape``) and a linked directory component (``linkdir``).
    ``secret`` lies outside both roots."""
    own, secret = tmp_path / "own", tmp_path / "secret"
    (secret / "private").mkdir(parents=True)
    own.mkdir()
    (own / "escape").symlink_to(secret / "private")
    (own / "linkdir").symlink_to(secret)
    roots = [str(sample_gen3.parent), str(own)]
    return {"roots": roots, "own": own, "secret": secret, "repo": sample_gen3}


def escapes(layout) -> list[tuple[str, str]]:
    """(input, regex the refusal must match) for every kind of escape."""
    own, secret = layout["own"], layout["secret"]
    return [
        ("../secret", r"'\.\.'"),
        ("dc2-gen3/../../secret", r"'\.\.'"),
        ("..", r"'\.\.'"),
        ("dc2-gen3\\..\\..\\secret", r"'\.\.'"),
        (str(secret / "private"), "outside the allowed directories"),
        ("/etc", "outside the allowed directories"),
        (str(own / "escape"), "outside the allowed directories.*symbolic link"),
        (str(own / "linkdir" / "private"), "outside the allowed directories.*symbolic link"),
        ("%2e%2e%2fsecret", r"'\.\.'"),
        ("%2E%2E%2F%2E%2E%2Fetc", r"'\.\.'"),
        ("%252e%252e%252fsecret", r"'\.\.'"),  # double-encoded
        ("%2Fetc%2Fpasswd", "percent-encoded absolute path"),
        ("%252Fetc", "percent-encoded absolute path"),
        ("dc2-gen3\x00/x", "NUL byte"),
        ("dc2-gen3%00", "NUL byte"),
        ("dc2-gen3\n/etc", "control characters"),
        ("a/" * (MAX_PATH_CHARS // 2 + 1), "too long"),
        ("x" * 256, "component of 256 characters"),
        ("~", "'~'"),
        ("~root/data", "'~'"),
        ("%7E/data", "'~'"),
        ("", "empty"),
        ("   ", "empty"),
    ]


def test_every_escape_is_refused_by_the_rule(layout):
    for text, reason in escapes(layout):
        with pytest.raises(PathNotAllowedError, match=reason) as err:
            resolve_repo_path(text, layout["roots"])
        message = str(err.value)
        assert message.startswith("refused: ") and "\n" not in message, repr(text)
        assert len(message) < 400, "messages stay short even for huge input"


def test_allowed_paths_still_resolve(layout, tmp_path):
    roots = layout["roots"]
    real = os.path.realpath(layout["repo"])
    assert resolve_repo_path("dc2-gen3", roots) == real
    assert resolve_repo_path(str(layout["repo"]), roots) == real
    assert resolve_repo_path("dc2-gen3/", roots) == real
    # a root given through a symbolic link confines to its target
    alias = tmp_path / "alias"
    alias.symlink_to(layout["repo"].parent)
    assert resolve_repo_path(str(alias / "dc2-gen3"), [str(alias)]) == real
    with pytest.raises(PathNotAllowedError, match="outside"):
        resolve_repo_path(str(layout["secret"]), [str(alias)])


def test_apply_query_refuses_and_keeps_the_open_repository(layout):
    from explorer.app import ExplorerState

    state = ExplorerState(repo="dc2-gen3", repo_roots=layout["roots"])
    opened = state.repo_root
    assert opened == os.path.realpath(layout["repo"]) and state.index is not None
    for text, reason in escapes(layout):
        if not text.strip():
            continue  # an empty ?repo= means "no choice", not a path
        count = state.error_count
        problems = state.apply_query({"repo": [text.encode("utf-8")]})  # as Bokeh hands them over
        assert problems and problems[0].startswith("refused: "), (text, problems)
        assert state.error_count == count + 1 and state.error.startswith("refused: ")
        assert state.repo_root == opened and state.repo_path == "dc2-gen3", text


def test_create_app_query_path_refuses(layout, monkeypatch):
    """The served page reads ``?repo=`` from Bokeh's session arguments (bytes, already URL-decoded once)."""
    import panel as pn

    from explorer import app, state as explorer_state

    seen: list[str] = []
    original = app.ExplorerState.report

    def recording(self, message):
        seen.append(message)
        original(self, message)

    monkeypatch.setattr(app.ExplorerState, "report", recording)
    for text in ("../../etc", "%2e%2e%2f%2e%2e%2fetc", str(layout["own"] / "escape"), "%252Fetc"):
        seen.clear()
        monkeypatch.setattr(type(pn.state), "session_args", property(lambda self, t=text: {"repo": [t.encode()]}))
        page = app.create_app(repo=str(layout["repo"]), repo_roots=layout["roots"])
        assert any(m.startswith("refused: ") for m in seen), (text, seen)
        repo_box = [w for part in page.sidebar for w in part.select(pn.widgets.TextInput) if "w-repo" in w.css_classes]
        assert repo_box and not repo_box[0].value.startswith(("/etc", str(layout["secret"]))), repo_box[0].value
    assert not any(p.startswith(("/etc", str(layout["secret"]))) for p in explorer_state._REPOS)


# ----- a real server over HTTP ---------------------------------------------------------------------
def _document(url: str, repo_arg: str):
    """The Bokeh document a browser would get for ``url?repo=repo_arg`` (pulled over the websocket)."""
    import panel.models  # noqa: F401 - registers Panel's Bokeh models for deserialisation
    import panel.models.location  # noqa: F401
    import panel.models.tabulator  # noqa: F401
    from bokeh.client import pull_session

    with pull_session(url=url, arguments={"repo": repo_arg}) as session:
        return session.document


def _texts(doc, css: str, prop: str) -> list:
    return [getattr(m, prop) for m in doc.models if css in (getattr(m, "css_classes", None) or [])]


@pytest.fixture(scope="module")
def confined_server(sample_gen3, tmp_path_factory):
    log = tmp_path_factory.mktemp("confined") / "server.log"
    with running_server(str(sample_gen3), log, repo_roots=[str(sample_gen3.parent)]) as server:
        yield server


@pytest.mark.slow
def test_server_refuses_encoded_escapes_and_stays_up(confined_server):
    srv = confined_server
    for query in ("%2e%2e%2f%2e%2e%2fetc", "%252e%252e%252fetc", "..%2F..%2Fetc", "%2Fetc", "%00"):
        status, _, body = http_get(srv.port, f"/explorer?repo={query}")
        assert status == 200 and "<html" in body.lower(), query
        assert srv.alive(), srv.log()[-2000:]
    for arg in ("../../etc", "%2e%2e%2fetc", "/etc"):  # what the session sees after Bokeh's decoding
        doc = _document(srv.url, arg)
        boxes = _texts(doc, "w-repo", "value")
        assert boxes and not boxes[0].startswith("/etc") and "etc" not in boxes[0], boxes
    status, _, _ = http_get(srv.port, "/explorer")
    assert status == 200 and srv.alive()
    assert "Traceback" not in srv.log()


@pytest.mark.slow
def test_server_shows_the_refusal_on_the_page(confined_server):
    doc = _document(confined_server.url, "../../etc")
    alerts = [m for m in doc.models if "explorer-error" in (getattr(m, "css_classes", None) or [])]
    assert alerts and alerts[0].visible and "refused" in alerts[0].text


# ----- serving beyond loopback ----------------------------------------------------------------------
@pytest.mark.parametrize("address,loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.org", False), ("", False)])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_exposure_warning_rules():
    assert exposure_warning("127.0.0.1", []) is None
    text = exposure_warning("0.0.0.0", [])
    assert "every path readable by the server's user is exposed" in text
    assert "--repo-root" in text and "--basic-auth" in text and "\n" not in text
    assert "exposed" not in (exposure_warning("0.0.0.0", ["/data"]) or "")
    assert "no login" in exposure_warning("0.0.0.0", ["/data"])
    assert exposure_warning("0.0.0.0", ["/data"], basic_auth="u:p") is None


def test_serve_on_all_interfaces_warns_on_stderr(sample_gen3):
    """The warning comes before the slow start (warm-up, repository open): read it, then stop."""
    code = f"from explorer.server import serve; serve({str(sample_gen3)!r}, port=0, address='0.0.0.0')"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, cwd=str(REPO_ROOT), text=True)
    try:
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline:
            line = proc.stderr.readline()
            if "WARNING" in line or not line:
                break
        assert "every path readable by the server's user is exposed" in line, line
        assert "--repo-root" in line
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
