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
    for text, _reason in escapes(layout):
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


# ----- a repository inside the roots whose own configuration leads out (issue 11, item 12) ------------
@pytest.fixture
def led_out(tmp_path, sample_gen3):
    """``root`` (the only allowed directory) and ``outside``: the session's sample, a real
    repository outside ``root``. Helpers write repositories inside ``root`` that lead to it."""
    root = tmp_path / "root"
    root.mkdir()
    from explorer.repo import confine

    yield {"root": root, "outside": sample_gen3, "butler_yaml": (sample_gen3 / "butler.yaml").read_text()}
    confine.allow_hosts([])


def _gen3_dir(root: Path, name: str, butler_yaml: str) -> Path:
    repo = root / name
    repo.mkdir()
    (repo / "butler.yaml").write_text(butler_yaml)
    return repo


def _gen3_escapes(led_out) -> list[tuple[str, str, str]]:
    """(name, butler.yaml, regex of the refusal) for each way a butler.yaml leads out."""
    out, text = led_out["outside"], led_out["butler_yaml"]
    db = "sqlite:///<butlerRoot>/gen3.sqlite3"
    assert db in text and "root: <butlerRoot>" in text
    return [
        ("registry-and-datastore", text.replace(db, f"sqlite:///{out}/gen3.sqlite3")
         .replace("root: <butlerRoot>", f"root: {out}"), "its registry database .*gen3.sqlite3 .*outside"),
        ("datastore-only", text.replace("root: <butlerRoot>", f"root: {out}"), r"its datastore root .*outside"),
        ("butler-root", f"root: {out}\n" + text, r"outside the allowed directories"),
        ("chained-datastore", text.replace(
            "  cls: lsst.daf.butler.datastores.fileDatastore.FileDatastore\n"
            "  records:\n    table: file_datastore_records\n"
            "  root: <butlerRoot>\n",
            "  cls: lsst.daf.butler.datastores.chainedDatastore.ChainedDatastore\n  datastores:\n"
            "    - datastore:\n        cls: lsst.daf.butler.datastores.fileDatastore.FileDatastore\n"
            "        root: <butlerRoot>\n"
            "    - datastore:\n        cls: lsst.daf.butler.datastores.fileDatastore.FileDatastore\n"
            f"        root: {out}\n"), r"datastore root \(datastore\.datastores\[1\]\.root\) .*outside"),
        ("postgres", text.replace(db, "postgresql://butler:hunter2@db.example.org:5432/dp1"),
         r"registry database server postgresql://db\.example\.org:5432/dp1 .*not an allowed host"),
        ("remote-storage", text.replace("root: <butlerRoot>", "root: s3://bucket/repo"),
         r"datastore .* is a server on bucket"),
    ]


def test_gen3_configuration_leading_out_is_refused(led_out):
    from explorer.repo import open_repo

    for name, yaml_text, reason in _gen3_escapes(led_out):
        repo = _gen3_dir(led_out["root"], name, yaml_text)
        with pytest.raises(PathNotAllowedError, match=reason) as err:
            resolve_repo_path(name, [str(led_out["root"])])
        message = str(err.value)
        assert message.startswith("refused: ") and "\n" not in message and "hunter2" not in message, message
        if name == "registry-and-datastore":
            assert open_repo(repo).kind == "gen3", "without confinement it opens: the rule is what refuses"
    # unconfined, nothing is checked
    assert resolve_repo_path(str(led_out["root"] / "postgres"), []) == str(led_out["root"] / "postgres")


def test_registry_file_linked_out_is_refused(led_out):
    text = led_out["butler_yaml"]
    repo = _gen3_dir(led_out["root"], "linked", text)
    (repo / "gen3.sqlite3").symlink_to(led_out["outside"] / "gen3.sqlite3")
    with pytest.raises(PathNotAllowedError, match=r"registry database .*symbolic link"):
        resolve_repo_path("linked", [str(led_out["root"])])


def test_database_server_only_on_allowed_hosts(led_out):
    from explorer.repo import confine

    text = led_out["butler_yaml"].replace("sqlite:///<butlerRoot>/gen3.sqlite3",
                                          "postgresql://butler@db.example.org/dp1")
    _gen3_dir(led_out["root"], "pg", text)
    roots = [str(led_out["root"])]
    with pytest.raises(PathNotAllowedError, match="--allow-registry-host"):
        resolve_repo_path("pg", roots)
    confine.allow_hosts(["other.example.org"])
    with pytest.raises(PathNotAllowedError, match="allowed hosts: other.example.org"):
        resolve_repo_path("pg", roots)
    confine.allow_hosts(["DB.example.org"])
    assert resolve_repo_path("pg", roots) == os.path.realpath(led_out["root"] / "pg")


def test_a_repository_inside_still_opens(led_out):
    """The same sample, reached inside a root (its registry and datastore inside), is not refused."""
    import shutil

    inside = led_out["root"] / "copy"
    shutil.copytree(led_out["outside"], inside, symlinks=True)
    assert resolve_repo_path("copy", [str(led_out["root"])]) == os.path.realpath(inside)


def _gen2_repo(path: Path, cfg: "str | None" = None) -> Path:
    path.mkdir(parents=True)
    if cfg is None:
        (path / "_mapper").write_text("lsst.obs.lsst.imsim.ImsimMapper\n")
    else:
        (path / "repositoryCfg.yaml").write_text(cfg)
    return path


def test_gen2_configuration_leading_out_is_refused(led_out, tmp_path):
    root = led_out["root"]
    elsewhere = _gen2_repo(tmp_path / "elsewhere")
    (elsewhere / "CALIB").mkdir()
    head = "!RepositoryCfg_v1\n_mapper: !!python/name:lsst.obs.lsst.imsim.ImsimMapper ''\n"
    _gen2_repo(root / "parents", head + f"_mapperArgs: {{}}\n_parents:\n- {elsewhere}\n_policy: null\n_root: null\n")
    _gen2_repo(root / "nested", head + f"_mapperArgs: {{}}\n_parents:\n- !RepositoryCfg_v1\n  _root: {elsewhere}\n"
               "  _parents: []\n_policy: null\n_root: null\n")
    _gen2_repo(root / "calib", head + f"_mapperArgs: {{calibRoot: {elsewhere / 'CALIB'}}}\n_parents: []\n"
               "_policy: null\n_root: null\n")
    legacy = root / "legacy"
    legacy.mkdir()
    (legacy / "_parent").symlink_to(elsewhere)
    linked = _gen2_repo(root / "linked-registry")
    (linked / "registry.sqlite3").symlink_to(tmp_path / "elsewhere.sqlite3")
    linked_calib = _gen2_repo(root / "linked-calib")
    (linked_calib / "CALIB").symlink_to(elsewhere / "CALIB")
    for name, reason in [("parents", "its parent repository .*outside"),
                         ("nested", "its parent repository .*outside"),
                         ("calib", r"its calibration root \(calibRoot\) .*outside"),
                         ("legacy", "its parent repository .*outside"),
                         ("linked-registry", "its registry .*outside the allowed directories .*symbolic link"),
                         ("linked-calib", "its calibration root .*symbolic link")]:
        with pytest.raises(PathNotAllowedError, match=reason):
            resolve_repo_path(name, [str(root)])
    # a parent inside the roots is fine
    _gen2_repo(root / "base")
    _gen2_repo(root / "rerun", head + "_mapperArgs: {}\n_parents:\n- ../base\n_policy: null\n_root: null\n")
    assert resolve_repo_path("rerun", [str(root)]) == os.path.realpath(root / "rerun")


def test_files_a_registry_points_at_are_checked_when_located(led_out):
    """A registry inside the roots whose datastore records name a file outside (an absolute file
    URI) or a dataset file that is a symlink out: the repository opens, that dataset is refused."""
    import json
    import sqlite3

    from explorer.repo import open_repo

    outside = led_out["outside"]
    manifest = json.loads((outside / "sample_manifest.json").read_text())
    calexps = [c for c in manifest["calexps"] if c["on_disk"]]
    absolute, linked, fine = calexps[0], calexps[1], calexps[2]
    repo = _gen3_dir(led_out["root"], "records", led_out["butler_yaml"])
    con = sqlite3.connect(outside / "gen3.sqlite3")
    con.execute(f"VACUUM INTO '{repo / 'gen3.sqlite3'}'")  # a copy of the registry, inside the root
    con.close()
    con = sqlite3.connect(repo / "gen3.sqlite3")
    with con:
        con.execute("UPDATE file_datastore_records SET path = ? WHERE path = ?",
                    (f"file://{outside / absolute['path']}", absolute["path"]))
    con.close()
    (repo / linked["path"]).parent.mkdir(parents=True, exist_ok=True)
    (repo / linked["path"]).symlink_to(outside / linked["path"])
    (repo / fine["path"]).parent.mkdir(parents=True, exist_ok=True)
    (repo / fine["path"]).write_bytes((outside / fine["path"]).read_bytes())

    def data_id(c):
        return {"visit": c["visit"], "detector": c["detector"]}

    unconfined = open_repo(repo)  # before confinement the absolute record reads the outside file
    assert unconfined.get_exposure("calexp", data_id(absolute)).image.shape == (512, 512)
    unconfined.close()
    real = resolve_repo_path("records", [str(led_out["root"])])
    confined = open_repo(real)
    try:
        with pytest.raises(PathNotAllowedError, match="the calexp file .* is outside the allowed directories"):
            confined.get_exposure("calexp", data_id(absolute))
        with pytest.raises(PathNotAllowedError, match="outside the allowed directories .*symbolic link"):
            confined.locate("calexp", data_id(linked))
        assert confined.get_exposure("calexp", data_id(fine)).image.shape == (512, 512)
    finally:
        confined.close()


def test_gen2_files_linked_out_are_refused_when_located(led_out, tmp_path):
    from explorer.repo import open_repo

    repo = _gen2_repo(led_out["root"] / "g2")
    target = tmp_path / "secret.fits"
    target.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    rel = repo / "deepCoadd-results" / "r" / "3828" / "1,1" / "calexp-r-3828-1,1.fits"
    rel.parent.mkdir(parents=True)
    rel.symlink_to(target)
    real = resolve_repo_path("g2", [str(led_out["root"])])
    r = open_repo(real)
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        r.locate("deepCoadd_calexp", {"tract": 3828, "patch": "1,1", "filter": "r"})


def test_the_page_refuses_a_repository_leading_out(led_out):
    from explorer.app import ExplorerState

    text = led_out["butler_yaml"].replace("root: <butlerRoot>", f"root: {led_out['outside']}")
    _gen3_dir(led_out["root"], "evil", text)
    import shutil

    shutil.copytree(led_out["outside"], led_out["root"] / "good", symlinks=True)
    state = ExplorerState(repo="good", repo_roots=[str(led_out["root"])])
    opened = state.repo_root
    assert opened == os.path.realpath(led_out["root"] / "good")
    problems = state.apply_query({"repo": [b"evil"]})
    assert problems and "datastore root" in problems[0] and problems[0].startswith("refused: ")
    assert state.repo_root == opened


def test_serve_takes_allow_registry_host():
    from explorer.cli import build_parser

    args = build_parser().parse_args(["serve", "--repo-root", "/data", "--allow-registry-host", "db1",
                                      "--allow-registry-host", "db2"])
    assert args.allow_registry_host == ["db1", "db2"]
