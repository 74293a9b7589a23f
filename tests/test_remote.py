"""Remote repositories: the real Butler server (uvicorn) over the sample, its files served over HTTP.

The same inventory and exposure readings through the URL as through the directory; only the byte
ranges a view needs are fetched; tokens are required, never shown, and partition what is fetched;
every fault (stalled file server, 403, 404, 500, a stopped Butler server, 401 for a bad token)
gives one clear line and leaves the repository object usable.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from browser.pagekit import JS_PLOT_TITLE, chromium, require_browser
from remote_helpers import (
    ButlerServer,
    FileServer,
    TokenGate,
    remote_sample,
    server_config,
)
from serve_helpers import running_server

from explorer.cli import main

TOKEN = "test-token-alpha-0123456789"
OTHER_TOKEN = "test-token-bravo-9876543210"


@pytest.fixture(scope="module")
def remote(sample_gen3, tmp_path_factory):
    """A Butler server over the sample (its datastore root: a local HTTP file server)."""
    with remote_sample(Path(sample_gen3), tmp_path_factory.mktemp("remote")) as rs:
        yield rs


@pytest.fixture
def fresh(monkeypatch, tmp_path, fresh_cache):
    """An empty spool of mirrors and an empty shared cache for one test; the token in the env."""
    from explorer.repo import http

    spool = http.Spool(str(tmp_path / "spool"), 256 * 1024**2)
    monkeypatch.setattr(http, "_spool", spool)
    monkeypatch.setenv("BUTLER_RUBIN_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("REPO_EXPLORER_HTTP_TIMEOUT", "3")
    monkeypatch.setenv("REPO_EXPLORER_HTTP_RETRIES", "1")
    return spool


@pytest.fixture(scope="module")
def manifest(sample_gen3):
    return json.loads((Path(sample_gen3) / "sample_manifest.json").read_text())


def _cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _one_line_error(rc: int, err: str) -> str:
    assert rc == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ----- the same answers through the URL as through the directory ------------------------------
def test_inventory_same_through_url(remote, sample_gen3, fresh, capsys):
    rc, out, err = _cli(capsys, "inventory", remote.url, "--check-files", "--json")
    assert rc == 0, err
    got = json.loads(out)
    rc, out, _ = _cli(capsys, "inventory", str(sample_gen3), "--check-files", "--json")
    want = json.loads(out)
    assert got.pop("root") == remote.url
    want.pop("root")
    assert got == want
    calexp = next(d for d in got["dataset_types"] if d["name"] == "calexp")
    assert calexp["missing"] == 1 and got["sources"] and got["tracts"]


def test_check_files_asks_several_files_at_once(remote, sample_gen3, fresh, capsys):
    """--check-files over the URL probes files concurrently (bounded), not one after another, and
    still finds the one registered file that is absent."""
    from explorer.repo.remote import CHECK_WORKERS

    remote.files.reset_counts()
    remote.files.set_pace(delay=0.2)  # a distant file server: concurrency shows as overlapping requests
    try:
        rc, out, err = _cli(capsys, "inventory", remote.url, "--check-files", "--json")
    finally:
        remote.files.set_pace()
    assert rc == 0, err
    probes = [r for r in remote.files.requests if r[2] == "bytes=0-0"]
    assert len(probes) > CHECK_WORKERS
    assert 1 < remote.files.max_active <= CHECK_WORKERS
    calexp = next(d for d in json.loads(out)["dataset_types"] if d["name"] == "calexp")
    assert calexp["missing"] == 1


def test_exposure_readings_same_through_url(remote, sample_gen3, manifest, fresh, capsys):
    for entry in manifest["calexps"][:2]:
        data_id = f"visit={entry['visit']},detector={entry['detector']}"
        x, y = entry["xy0"][0] + 17, entry["xy0"][1] + 29
        rc, out, err = _cli(capsys, "exposure", remote.url, "--data-id", data_id, "--pixel", str(x), str(y), "--json")
        assert rc == 0, err
        got = json.loads(out)
        rc, out, _ = _cli(capsys, "exposure", str(sample_gen3), "--data-id", data_id, "--pixel", str(x), str(y),
                          "--json")
        want = json.loads(out)
        assert got.pop("path").startswith(remote.files.url) and want.pop("path")
        assert got == want
    coadd = manifest["coadds"][0]
    data_id = f"tract={coadd['tract']},patch={coadd['patch_name']},band={coadd['bands'][0]}"
    results = []
    for target in (remote.url, str(sample_gen3)):
        rc, out, err = _cli(capsys, "exposure", target, "--dataset", "deepCoadd_calexp", "--data-id", data_id, "--json")
        assert rc == 0, err
        results.append({k: v for k, v in json.loads(out).items() if k != "path"})
    assert results[0] == results[1]


def test_pixels_and_catalogs_same_through_url(remote, sample_gen3, manifest, fresh):
    from explorer.repo import open_repo

    far, near = open_repo(remote.url), open_repo(str(sample_gen3))
    try:
        entry = manifest["calexps"][0]
        data_id = {"visit": entry["visit"], "detector": entry["detector"]}
        a, b = far.get_exposure("calexp", data_id), near.get_exposure("calexp", data_id)
        for plane in ("image", "mask", "variance"):
            np.testing.assert_array_equal(a.plane(plane), b.plane(plane))
        np.testing.assert_array_equal(a.binned("image", 4), b.binned("image", 4))
        assert far.query_data_ids("calexp") == near.query_data_ids("calexp")
        assert far.tract_regions().keys() == near.tract_regions().keys()
        for name in ("src", "sourceTable"):
            ids = near.query_data_ids(name)
            assert ids
            schema = far.catalog_schema(name, ids[0])
            assert [c.name for c in schema] == [c.name for c in near.catalog_schema(name, ids[0])]
            cols = [schema[0].name, schema[-1].name]
            remote_df = far.get_catalog(name, ids[0], columns=cols)
            local_df = near.get_catalog(name, ids[0], columns=cols)
            assert len(remote_df) > 0
            assert remote_df.equals(local_df)
    finally:
        far.close()
        near.close()


# ----- only what a view needs ------------------------------------------------------------------
def test_first_view_fetches_little_more_than_its_hdus(remote, sample_gen3, manifest, fresh):
    """Description + image plane: the bytes fetched are the headers, the archive tables and the
    image's data segment (within 20%); the mask and variance planes stay on the server."""
    from astropy.io import fits

    from explorer.repo import open_repo

    entry = manifest["calexps"][1]
    data_id = {"visit": entry["visit"], "detector": entry["detector"]}
    repo = open_repo(remote.url)
    try:
        remote.files.reset_counts()
        exposure = repo.get_exposure("calexp", data_id)
        image = exposure.image
        fetched = remote.files.bytes_sent
        local = open_repo(str(sample_gen3)).locate("calexp", data_id).path
    finally:
        repo.close()
    with fits.open(local) as hdul:
        hdul.readall()
        need = 0
        planes = exposure.info.plane_hdus
        for i, hdu in enumerate(hdul):
            need += hdu._data_offset - hdu._header_offset  # every header
            if i == planes["image"] or i not in planes.values():
                need += -(-hdu._data_size // 2880) * 2880
        whole = os.path.getsize(local)
    assert image.shape == exposure.info.shape
    assert fetched <= 1.2 * need, (fetched, need, whole)
    assert fetched < 0.6 * whole  # mask and variance were not fetched


def test_parquet_columns_read_by_byte_range(tmp_path, fresh):
    """Some columns of a parquet catalog over HTTP: its footer and those columns' chunks in each row
    group are fetched, not the file; the frame is the one read locally."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from explorer.repo import access
    from explorer.repo.remote import PARQUET_TAIL, fetch_catalog_columns

    rng = np.random.default_rng(5)
    rows = 60_000
    columns = {f"c{i}": rng.normal(size=rows) for i in range(12)}
    table = pa.table(columns | {"name": [f"s{i % 97}" for i in range(rows)]})
    local = tmp_path / "files" / "catalog.parquet"
    local.parent.mkdir()
    pq.write_table(table, local, row_group_size=15_000, compression="snappy")
    size = local.stat().st_size
    meta = pq.ParquetFile(local).metadata
    wanted = ["c3", "name"]
    need = sum(meta.row_group(g).column(i).total_compressed_size for g in range(meta.num_row_groups)
               for i in range(meta.num_columns) if meta.row_group(g).column(i).path_in_schema in wanted)
    files = FileServer(local.parent).start()
    try:
        mirror = fresh.mirror("test-authority", f"{files.url}/catalog.parquet")
        fetch_catalog_columns(mirror, wanted)
        got = access.read_catalog(mirror.path, wanted)
        fetched = files.bytes_sent
        ranges = [r[2] for r in files.requests]
    finally:
        files.stop()
    want = pq.read_table(local, columns=wanted).to_pandas()
    assert got.reset_index(drop=True).equals(want)
    assert meta.num_row_groups == 4 and size > 2_000_000
    assert fetched <= need + 2 * PARQUET_TAIL + 64 * 1024, (fetched, need, size)  # + the first read and the tail
    assert fetched < 0.3 * size
    assert all(r is not None for r in ranges)  # every request a range: the file was never fetched whole


def test_warm_view_fetches_nothing(remote, manifest, fresh):
    from explorer.repo import open_repo

    entry = manifest["calexps"][0]
    data_id = {"visit": entry["visit"], "detector": entry["detector"]}
    repo = open_repo(remote.url)
    try:
        _ = repo.get_exposure("calexp", data_id).image
        remote.files.reset_counts()
        again = repo.get_exposure("calexp", data_id)
        _ = again.image, again.binned("image", 2)
        assert remote.files.bytes_sent == 0
    finally:
        repo.close()


def test_slow_fetch_reports_progress(remote, manifest, fresh, monkeypatch):
    """A fetch that takes more than a second says how far it got."""
    from explorer.repo import http, open_repo

    monkeypatch.setattr(http, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(http, "CHUNK", 4096)
    heard: list[str] = []
    entry = manifest["calexps"][0]
    repo = open_repo(remote.url, progress=heard.append)
    try:
        _ = repo.get_exposure("calexp", {"visit": entry["visit"], "detector": entry["detector"]}).image
    finally:
        repo.close()
    assert any(m.startswith("fetching calexp_") and " MB from 127.0.0.1:" in m for m in heard), heard


# ----- tokens ------------------------------------------------------------------------------------
def test_token_required(remote, fresh, monkeypatch, capsys):
    monkeypatch.delenv("BUTLER_RUBIN_ACCESS_TOKEN")
    line = _one_line_error(*_cli(capsys, "inventory", remote.url, "--json")[::2])
    assert "BUTLER_RUBIN_ACCESS_TOKEN" in line


def test_token_never_shown_nor_sent_to_files(remote, manifest, fresh, capsys):
    from explorer.repo import open_repo

    entry = manifest["calexps"][0]
    remote.files.reset_counts()
    rc, out, err = _cli(capsys, "exposure", remote.url, "--data-id",
                        f"visit={entry['visit']},detector={entry['detector']}", "--pixel", "1", "2")
    assert rc == 0 and TOKEN not in out + err
    gone = manifest["missing"]["data_id"]
    rc, out, err = _cli(capsys, "exposure", remote.url, "--data-id",
                        f"visit={gone['visit']},detector={gone['detector']}")
    assert rc == 2 and TOKEN not in out + err
    assert remote.files.requests and all(auth is None for *_, auth in remote.files.requests)
    repo = open_repo(remote.url)
    try:
        assert TOKEN not in repr(repo) and TOKEN not in repo.authority and TOKEN not in str(repo.root)
        spooled = [str(p) for p in Path(fresh.root).rglob("*")]
        assert spooled and not any(TOKEN in p for p in spooled)
    finally:
        repo.close()


def test_cache_partitioned_by_token(remote, manifest, fresh):
    """The same file read with two tokens is fetched twice, into two partitions; with the same
    token again, it is served from the cache."""
    from explorer.repo import open_repo

    entry = manifest["calexps"][0]
    data_id = {"visit": entry["visit"], "detector": entry["detector"]}
    a = open_repo(remote.url, token=TOKEN)
    b = open_repo(remote.url, token=OTHER_TOKEN)
    a2 = open_repo(remote.url, token=TOKEN)
    try:
        assert a.authority != b.authority and a.authority == a2.authority
        remote.files.reset_counts()
        ea = a.get_exposure("calexp", data_id)
        _ = ea.image
        first = remote.files.bytes_sent
        assert first > 0
        eb = b.get_exposure("calexp", data_id)
        _ = eb.image
        assert remote.files.bytes_sent >= 2 * first * 0.9  # fetched again with the other token
        assert ea.image is not eb.image
        before = remote.files.bytes_sent
        assert a2.get_exposure("calexp", data_id).image is ea.image  # same authority: shared
        assert remote.files.bytes_sent - before <= 1  # only the one-byte "is it there?" probe
    finally:
        for r in (a, b, a2):
            r.close()


def test_authority_key_hides_the_token():
    from explorer.repo.cache import authority_key

    url = "http://h/api/butler/repo/x"
    k1, k2 = authority_key(url, TOKEN), authority_key(url, OTHER_TOKEN)
    assert k1 != k2 and TOKEN not in k1 and k1.startswith("tok-")
    assert authority_key("http://h/api/butler/repo/x", None).startswith("anon-")


def test_bad_token_is_refused_with_401(remote, fresh, tmp_path, capsys, monkeypatch):
    """Behind an authenticating proxy (a real nginx, like the Science Platform's ingress), a token
    it does not know gets a 401 and one line naming the token; a good one opens the repository."""
    gate = TokenGate(remote.butler.port, {TOKEN: "alpha"}, tmp_path / "nginx").start()
    try:
        rc, out, err = _cli(capsys, "inventory", gate.url(), "--json")
        assert rc == 0, err
        assert json.loads(out)["kind"] == "gen3"
        monkeypatch.setenv("BUTLER_RUBIN_ACCESS_TOKEN", "not-a-known-token")
        line = _one_line_error(*_cli(capsys, "inventory", gate.url(), "--json")[::2])
        assert "401" in line and "token" in line and "not-a-known-token" not in line
    finally:
        gate.stop()


# ----- faults ------------------------------------------------------------------------------------
def test_registered_but_absent_file_is_not_on_disk(remote, manifest, fresh, capsys):
    gone = manifest["missing"]["data_id"]
    line = _one_line_error(*_cli(capsys, "exposure", remote.url, "--data-id",
                                 f"visit={gone['visit']},detector={gone['detector']}", "--json")[::2])
    assert "not on disk" in line


@pytest.mark.parametrize("mode,words", [("stall", "stalled"), ("403", "HTTP 403"), ("500", "HTTP 500")])
def test_file_server_faults(remote, manifest, fresh, capsys, mode, words):
    """A file server that stalls, refuses (403) or fails (500): one line, exit 2; the same
    repository object works again once the file server recovers."""
    from explorer.repo import ExplorerError, open_repo

    entry = manifest["calexps"][2]
    data_id = f"visit={entry['visit']},detector={entry['detector']}"
    remote.files.set_mode(mode)
    try:
        line = _one_line_error(*_cli(capsys, "exposure", remote.url, "--data-id", data_id, "--json")[::2])
        assert words in line and "127.0.0.1" in line
        repo = open_repo(remote.url)
        with pytest.raises(ExplorerError, match=words):
            _ = repo.get_exposure("calexp", {"visit": entry["visit"], "detector": entry["detector"]}).image
    finally:
        remote.files.set_mode("ok")
    try:
        exposure = repo.get_exposure("calexp", {"visit": entry["visit"], "detector": entry["detector"]})
        assert exposure.image.shape == exposure.info.shape
    finally:
        repo.close()


def test_stalled_file_server_times_out(remote, manifest, fresh, capsys, monkeypatch):
    """The stall is bounded by the timeout and the retries (1 s x 2 attempts here), not forever."""
    import time

    monkeypatch.setenv("REPO_EXPLORER_HTTP_TIMEOUT", "1")
    entry = manifest["calexps"][3]
    remote.files.set_mode("stall")
    try:
        began = time.monotonic()
        line = _one_line_error(*_cli(capsys, "exposure", remote.url, "--data-id",
                                     f"visit={entry['visit']},detector={entry['detector']}")[::2])
        assert time.monotonic() - began < 30
    finally:
        remote.files.set_mode("ok")
    assert "no answer within 1 s" in line and "2 attempts" in line


def test_butler_server_500_and_down(sample_gen3, tmp_path, manifest, fresh, capsys):
    """A Butler server over a POSIX datastore answers 500 when asked for a file URL (it signs only
    http/https/s3); once stopped, it is "down". The registry answers until then."""
    import yaml

    from explorer.repo import ExplorerError, open_repo

    config = server_config(Path(sample_gen3), "http://127.0.0.1:9/", tmp_path / "posix")
    data = yaml.safe_load(config.read_text())
    data["datastore"]["root"] = str(Path(sample_gen3).resolve()) + "/"
    config.write_text(yaml.safe_dump(data))
    server = ButlerServer(config, name="posix").start()
    try:
        entry = manifest["calexps"][0]
        line = _one_line_error(*_cli(capsys, "exposure", server.url, "--data-id",
                                     f"visit={entry['visit']},detector={entry['detector']}")[::2])
        assert "HTTP 500" in line
        repo = open_repo(server.url)
        assert repo.query_data_ids("calexp")
    finally:
        server.stop()
    line = _one_line_error(*_cli(capsys, "inventory", server.url, "--json")[::2])
    assert "down" in line and f"127.0.0.1:{server.port}" in line
    with pytest.raises(ExplorerError):
        repo.locate("calexp", {"visit": entry["visit"], "detector": entry["detector"]})
    repo.close()


def test_not_a_butler_url(fresh, capsys):
    files = FileServer(Path(__file__).parent).start()
    try:
        line = _one_line_error(*_cli(capsys, "inventory", f"{files.url}/api/butler/repo/nothing", "--json")[::2])
        assert "404" in line or "no repository" in line
    finally:
        files.stop()
    line = _one_line_error(*_cli(capsys, "inventory", "https://user:pw@example.invalid/api/butler/repo/x")[::2])
    assert "credentials" in line and "pw" not in line


# ----- repository-index labels ---------------------------------------------------------------------
def test_repository_index_label(remote, sample_gen3, fresh, tmp_path, monkeypatch, capsys):
    index = tmp_path / "index.yaml"
    index.write_text(f"remote_sample: {remote.url}\nlocal_sample: {sample_gen3}/butler.yaml\n")
    monkeypatch.setenv("DAF_BUTLER_REPOSITORY_INDEX", str(index))
    rc, out, err = _cli(capsys, "inventory", "remote_sample", "--json")
    assert rc == 0, err
    got = json.loads(out)
    assert got["root"] == "remote_sample"
    rc, out, err = _cli(capsys, "inventory", "local_sample", "--json")
    assert rc == 0, err
    want = json.loads(out)
    got.pop("root"), want.pop("root")
    assert got == want
    line = _one_line_error(*_cli(capsys, "inventory", "no_such_label")[::2])
    assert "no such directory" in line


# ----- the page: the repository box, per-session tokens --------------------------------------------
def test_state_opens_url_with_session_token(remote, sample_gen3, fresh, monkeypatch):
    """The page's state opens a URL with the session's token; sessions with other tokens get
    their own repository object and index; the frame matches the local repository's."""
    from explorer import state as st

    st.forget_repositories()
    try:
        a = st.ExplorerState(repo=remote.url, token=TOKEN)
        assert a.error == "" and a.repo is not None and getattr(a.repo, "remote", False)
        b = st.ExplorerState(repo=remote.url, token=OTHER_TOKEN)
        a2 = st.ExplorerState(repo=remote.url, token=TOKEN)
        assert a.repo is a2.repo and a.repo is not b.repo and a.index is not b.index
        local = st.ExplorerState(repo=str(sample_gen3))
        for s in (a, local):
            s.image_kind = "calexp"
        assert a.exposure_ref == local.exposure_ref and a.exposure_ref is not None
        fa, fl = a.render_image(200, 200), local.render_image(200, 200)
        assert fa is not None and fl is not None
        np.testing.assert_array_equal(np.asarray(fa.rgba), np.asarray(fl.rgba))
        assert a.to_query()["repo"] == remote.url and TOKEN not in json.dumps(a.to_query())
    finally:
        st.forget_repositories()


def test_repository_box_accepts_allowed_urls_only(remote, sample_gen3, fresh, monkeypatch):
    from explorer.errors import PathNotAllowedError
    from explorer.paths import resolve_repo_path

    roots = [str(Path(sample_gen3).parent)]
    assert resolve_repo_path(remote.url + "/", roots) == remote.url
    monkeypatch.setenv("REPO_EXPLORER_PER_USER_TOKENS", "1")
    monkeypatch.setenv("REPO_EXPLORER_BUTLER_SERVERS", f"http://127.0.0.1:{remote.butler.port}/api/butler/repo")
    assert resolve_repo_path(remote.url, roots) == remote.url
    with pytest.raises(PathNotAllowedError, match="not one of this server's Butler servers"):
        resolve_repo_path("https://elsewhere.example/api/butler/repo/dp1", roots)


def test_session_token_sources(monkeypatch):
    from explorer.repo.auth import session_token

    monkeypatch.setenv("BUTLER_RUBIN_ACCESS_TOKEN", "from-env")
    monkeypatch.delenv("REPO_EXPLORER_PER_USER_TOKENS", raising=False)
    assert session_token({"x-auth-request-token": "from-proxy"}) == "from-proxy"
    assert session_token({}) == "from-env"
    monkeypatch.setenv("REPO_EXPLORER_PER_USER_TOKENS", "1")
    assert session_token({}) is None  # hosted: never the server's own token
    assert session_token({"X-Auth-Request-Token": "user-b"}) == "user-b"


# ----- the page in a real browser, against the URL ---------------------------------------------------
@contextmanager
def _explorer_in_chromium(remote, tmp_path: Path, monkeypatch) -> Iterator[tuple]:
    """``(server, page)``: the explorer served on the Butler server's URL (the token in its
    environment, its spool in ``tmp_path``) and a Chromium page; both stopped on exit."""
    require_browser()
    monkeypatch.setenv("BUTLER_RUBIN_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("REPO_EXPLORER_REMOTE_SPOOL", str(tmp_path / "spool"))
    with running_server(remote.url, tmp_path / "serve.log", timeout=600, probe_timeout=600) as server, \
            chromium() as browser:
        yield server, browser.new_page()


@pytest.mark.browser
def test_page_over_url_and_a_refusing_file_server(remote, manifest, tmp_path, monkeypatch):
    """The served page opens the Butler server URL and shows the calexp; when the file server
    starts refusing (403), switching to another calexp says so on the page, which keeps working."""
    from urllib.parse import urlencode

    monkeypatch.setenv("REPO_EXPLORER_HTTP_RETRIES", "0")
    first, second = manifest["calexps"][0], manifest["calexps"][4]

    def page_url(port: int, entry: dict) -> str:
        query = {"repo": remote.url, "kind": "calexp", "band": entry["band"], "visit": entry["visit"],
                 "detector": entry["detector"]}
        return f"http://127.0.0.1:{port}/explorer?{urlencode(query)}"

    with _explorer_in_chromium(remote, tmp_path, monkeypatch) as (server, page):
        try:
            page.goto(page_url(server.port, first), timeout=120_000)
            title = page.locator(".image-title").first
            title.wait_for(timeout=120_000)
            # (locators pierce the shadow roots Panel renders panes in; document.querySelector does not)
            page.locator(".image-title", has_text=f"visit {first['visit']} ").first.wait_for(timeout=300_000)
            assert "image-missing" not in title.inner_html()
            assert not page.locator(".explorer-error").first.is_visible()
            assert page.locator(".sky-plot").first.is_visible()
            assert TOKEN not in page.content()

            remote.files.set_mode("403")
            page.goto(page_url(server.port, second), timeout=120_000)
            # said where the image is, or in the page's problem banner when the header was already
            # fetched and only the pixels are refused (the image then reads "cannot render")
            page.locator(".image-title, .explorer-error", has_text="403").first.wait_for(timeout=300_000)
            assert page.locator(".sky-plot").first.is_visible()
            assert TOKEN not in page.content()
        finally:
            remote.files.set_mode("ok")
        assert TOKEN not in server.log()


def test_page_shows_fetch_progress_then_the_image(remote, manifest, tmp_path, monkeypatch):
    """Over a slow file server the page says how far the image's fetch got (bytes of the total),
    updated while it runs, then draws the image and hides the line."""
    from urllib.parse import quote, urlencode

    with _explorer_in_chromium(remote, tmp_path, monkeypatch) as (server, page):
        # a calexp whose pixels nobody fetched yet (the first page may have read the default one's)
        def big(rng: str) -> bool:  # a plane's data, not headers or archive tables
            first, _, last = rng[6:].partition("-")
            return bool(first and last) and int(last) - int(first) > 256 * 1024

        read = {r[1] for r in remote.files.requests if r[2] and big(r[2])}
        entry = next(c for c in manifest["calexps"]
                     if c.get("on_disk", True) and c["visit"] != manifest["calexps"][0]["visit"]
                     and "/" + quote(c["path"]) not in read and "/" + c["path"] not in read)
        query = {"repo": remote.url, "kind": "calexp", "band": entry["band"], "visit": entry["visit"],
                 "detector": entry["detector"]}
        remote.files.set_pace(rate=40_000)  # ~1 MB planes: some 20 s each
        try:
            page.goto(f"http://127.0.0.1:{server.port}/explorer?{urlencode(query)}", timeout=120_000)
            line = page.locator(".fetch-progress", has_text="MB from 127.0.0.1").first
            line.wait_for(timeout=120_000)
            first = line.inner_text()
            assert first.startswith("fetching calexp_") and " of " in first, first
            seen = {first}
            for _ in range(100):  # updated from the fetch while it runs
                if page.locator(".fetch-progress", has_text="MB from").count():
                    seen.add(page.locator(".fetch-progress").first.inner_text())
                if len(seen) > 1:
                    break
                page.wait_for_timeout(300)
            assert len(seen) > 1, seen
            # then the image: the placeholder's title goes, the line with it
            page.wait_for_function(f"() => {{ const t = ({JS_PLOT_TITLE})('x (parent pixels)'); "
                                   "return t !== null && !t.includes('fetching'); }", timeout=120_000)
            page.locator(".fetch-progress", has_text="MB").first.wait_for(state="hidden", timeout=60_000)
            assert page.locator(".image-title", has_text=f"visit {entry['visit']} ").first.is_visible()
            assert not page.locator(".explorer-error").first.is_visible()
        finally:
            remote.files.set_pace()
