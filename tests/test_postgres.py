"""The Gen3 backend against a real PostgreSQL registry (the server started by ``postgres_server``).

A small survey-like repository is written with the real butler into a PostgreSQL schema; the
index's scoped queries (distinct values, the spatial join of detector regions with patches, counts)
and the CLI run against it as they do against SQLite. Registries that cannot be opened (server down,
refused password, no such database, no ``btree_gist``) exit 2 with exactly one line on stderr.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pg_repo(postgres_server, tmp_path_factory):
    """A survey-like repository (6 visits x 189 detectors, 1 tract) with its registry in PostgreSQL."""
    from explorer.sample.survey import write_survey

    root = tmp_path_factory.mktemp("pg") / "repo"
    manifest = write_survey(root, visits=6, tracts=1, seed=3, registry_db=postgres_server["url"](),
                            registry_namespace="survey_small")
    yield root, manifest
    from explorer.state import forget_repositories

    forget_repositories()


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "explorer.cli", *args], capture_output=True, text=True,
                          env=full, timeout=300)


def test_the_registry_really_is_postgresql(pg_repo, postgres_server):
    root, manifest = pg_repo
    config = yaml.safe_load((root / "butler.yaml").read_text())
    assert config["registry"]["db"].startswith("postgresql://")
    assert "password" not in (root / "butler.yaml").read_text().lower()
    assert not (root / "gen3.sqlite3").exists()
    import psycopg

    with psycopg.connect(host=postgres_server["host"], port=postgres_server["port"], user=postgres_server["user"],
                         dbname="registry", password=_password(postgres_server)) as con:
        n = con.execute("SELECT COUNT(*) FROM survey_small.visit_detector_region").fetchone()[0]
    assert n == 6 * 189


def _password(server) -> str:
    return yaml.safe_load(Path(server["auth_file"]).read_text())[0]["password"]


def test_inventory_counts_from_postgresql(pg_repo):
    root, manifest = pg_repo
    result = _cli("inventory", str(root), "--json")
    assert result.returncode == 0, result.stderr
    import json

    inv = json.loads(result.stdout)
    counts = {d["name"]: d["count"] for d in inv["dataset_types"]}
    assert counts == manifest["datasets"]
    assert inv["visits"] == 6 and inv["detectors"] == 189
    assert inv["tracts"] == manifest["tracts"]
    assert inv["patches"] == manifest["patches_registered"]


def test_check_files_counts_the_absent_files(pg_repo):
    root, manifest = pg_repo
    from explorer.repo import open_repo

    repo = open_repo(str(root))
    try:
        inv = repo.inventory(check_files=True)
    finally:
        repo.close()
    calexp = inv.dataset_type("calexp")
    assert calexp.missing == calexp.count - len(manifest["files_on_disk"])


def test_index_spatial_join_matches_the_geometry(pg_repo):
    """Visits offered for a patch are those with a detector region overlapping it (sphgeom)."""
    root, manifest = pg_repo
    from explorer.index import RepoIndex, overlaps
    from explorer.repo import open_repo

    repo = open_repo(str(root))
    try:
        idx = RepoIndex(repo)
        assert idx.bands and set(idx.bands) <= set("ugrizy")
        tract = manifest["tracts"][0]
        assert idx.tracts == [tract]
        patches = idx.patches(tract)
        assert len(patches) == manifest["patches_registered"]
        regions = repo.detector_regions()  # every region, to check the scoped answer against
        checked = 0
        for patch in patches:
            got = idx.overlapping(tract, patch)
            region = idx.patch_regions(tract)[patch]
            want: dict[int, list[int]] = {}
            for (v, d), corners in regions.items():
                if overlaps(corners, region):
                    want.setdefault(v, []).append(d)
            assert {v: sorted(ds) for v, ds in got.items()} == {v: sorted(ds) for v, ds in want.items()}, patch
            checked += bool(want)
        assert checked >= 3
        visit = next(iter(idx.overlapping(tract, None)))
        assert idx.detectors(visit) == list(range(189))
        assert idx.calexp_id(visit, 0)["visit"] == visit
    finally:
        repo.close()


def test_state_opens_a_postgresql_repository(pg_repo):
    root, _ = pg_repo
    from explorer.state import ExplorerState

    state = ExplorerState(repo=str(root))
    # the survey sample registers its coadds without files: the page says so and keeps going
    assert not state.error or "not on disk" in state.error, state.error
    assert state.tract is not None and state.patch is not None and state.band is not None
    state.image_kind = "calexp"
    assert state.visit in state.param.visit.objects
    assert state.param.detector.objects == list(range(189))
    assert state.exposure_ref is not None and state.exposure_ref[1]["visit"] == state.visit


# ----- registries that cannot be opened: exit 2, one line --------------------------------------
def _repo_with_db(pg_repo, tmp_path, url: str, namespace: str = "survey_small") -> Path:
    """A copy of the repository's config pointing its registry at ``url``."""
    root, _ = pg_repo
    copy = tmp_path / "repo"
    copy.mkdir()
    config = yaml.safe_load((root / "butler.yaml").read_text())
    config["registry"]["db"] = url
    config["registry"]["namespace"] = namespace
    (copy / "butler.yaml").write_text(yaml.safe_dump(config))
    return copy


def _one_line_failure(result: subprocess.CompletedProcess, *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_server_down_is_one_line(pg_repo, postgres_server, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    repo = _repo_with_db(pg_repo, tmp_path, f"postgresql://{postgres_server['user']}@127.0.0.1:{port}/registry")
    _one_line_failure(_cli("inventory", str(repo)), "not reachable", str(port))


def test_wrong_password_is_one_line(pg_repo, postgres_server, tmp_path):
    auth = tmp_path / "db-auth.yaml"
    auth.write_text(f"- url: postgresql://{postgres_server['user']}@127.0.0.1:{postgres_server['port']}/\n"
                    f"  password: not-the-password\n")
    auth.chmod(0o600)
    root, _ = pg_repo
    line = _one_line_failure(_cli("inventory", str(root), env={"LSST_DB_AUTH": str(auth)}), "password")
    assert _password(postgres_server) not in line and "not-the-password" not in line


def test_no_such_database_is_one_line(pg_repo, postgres_server, tmp_path):
    repo = _repo_with_db(pg_repo, tmp_path, postgres_server["url"]("nosuchdb"))
    _one_line_failure(_cli("inventory", str(repo)), "nosuchdb", "does not exist")


def test_missing_btree_gist_is_one_line(pg_repo, postgres_server, tmp_path):
    repo = _repo_with_db(pg_repo, tmp_path, postgres_server["url"](postgres_server["plain"]))
    _one_line_failure(_cli("inventory", str(repo)), "btree_gist")
