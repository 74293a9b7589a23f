"""Shared pytest fixtures. Keep each fixture small and documented; add new ones below the others."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
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


def _write_afw_exposure(path: Path, image: np.ndarray, mask: np.ndarray, variance: np.ndarray,
                        xy0: tuple[int, int] = (0, 0), mask_planes: Optional[dict[str, int]] = None,
                        primary_cards: Optional[dict] = None) -> Path:
    """Write an Exposure in afw's layout with astropy: empty primary (plus ``primary_cards``), then
    IMAGE/MASK/VARIANCE named by EXTTYPE only (as every afw before 2021 wrote them), ``MP_*`` cards
    on the mask and ``LTV1/2 = -xy0`` on each plane."""
    from astropy.io import fits

    mask_planes = mask_planes or {"BAD": 0, "SAT": 1, "INTRP": 2, "CR": 3, "EDGE": 4, "DETECTED": 5}
    primary = fits.PrimaryHDU()
    for key, value in (primary_cards or {}).items():
        primary.header[key if len(key) <= 8 else f"HIERARCH {key}"] = value
    hdus = [primary]
    for name, data in (("IMAGE", image), ("MASK", mask), ("VARIANCE", variance)):
        hdu = fits.ImageHDU(data)
        hdu.header["LTV1"] = -xy0[0]
        hdu.header["LTV2"] = -xy0[1]
        hdu.header["INHERIT"] = True
        hdu.header["EXTTYPE"] = name
        if name == "MASK":
            for plane, bit in mask_planes.items():
                hdu.header[f"HIERARCH MP_{plane}"] = bit
        hdus.append(hdu)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


@pytest.fixture
def write_afw_exposure() -> Callable[..., Path]:
    """The function that writes an afw-layout exposure FITS file (see ``_write_afw_exposure``)."""
    return _write_afw_exposure


# ----- the DC2-like sample repository (owned by the sample-generator helper: explorer/sample) -----
@pytest.fixture(scope="session")
def sample_gen3(tmp_path_factory) -> Path:
    """A small Gen3 sample repository (seed 1), built once per test session and shared: read only.

    Its truth (visits, calexps, the missing calexp, coadd patches, row counts) is in
    ``<root>/sample_manifest.json``.
    """
    from explorer.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "dc2-gen3", layout="gen3", size="small", seed=1)


# ----- a real PostgreSQL server (owned by the scale helper: registry tests) -----------------------
def _pg_bin() -> Path:
    """The newest Debian PostgreSQL's binaries (``/usr/lib/postgresql/<version>/bin``)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 15 server on 127.0.0.1 (a free port) in a temporary directory, for the
    session; stopped and removed at the end. Yields a dict: ``host``, ``port``, ``user``,
    ``database`` (holds ``btree_gist``), ``url(db)`` (no password in it), ``auth_file`` (a
    ``db-auth.yaml`` with the password, also exported as ``LSST_DB_AUTH`` so the butler and CLI
    subprocesses find it), ``plain`` (a database without ``btree_gist``), ``connect(db)``.

    Skips when the PostgreSQL binaries are absent, except in CI (``REPO_EXPLORER_REQUIRE_BROWSER=1``)
    where that fails. PostgreSQL refuses to run as root: its binaries run as ``postgres``.
    """
    import os
    import secrets
    import shutil
    import socket
    import subprocess
    import tempfile
    import time

    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        if os.environ.get("REPO_EXPLORER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PostgreSQL is required in CI but {PG_BIN}/initdb is absent")
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN}")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="explorer-pg-"))
    data = base / "data"
    user, password = "explorer", secrets.token_hex(16)
    pwfile = base / "pw"
    pwfile.write_text(password)
    if as_pg:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    pwfile.chmod(0o600)
    subprocess.run(as_pg + [str(PG_BIN / "initdb"), "-D", str(data), "-U", user, f"--pwfile={pwfile}",
                            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    pwfile.unlink()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(base / "server.log", "wb")
    proc = subprocess.Popen(as_pg + [str(PG_BIN / "postgres"), "-D", str(data), "-k", str(base),
                                     "-h", "127.0.0.1", "-p", str(port), "-c", "fsync=off",
                                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                            stdout=log, stderr=subprocess.STDOUT)
    import psycopg

    def connect(db: str = "postgres", autocommit: bool = True):
        return psycopg.connect(host="127.0.0.1", port=port, user=user, password=password, dbname=db,
                               autocommit=autocommit)

    deadline = time.time() + 60
    while True:
        try:
            connect().close()
            break
        except psycopg.OperationalError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"PostgreSQL did not start: {(base / 'server.log').read_text()[-2000:]}") from None
            time.sleep(0.2)
    with connect() as con:
        con.execute("CREATE DATABASE registry")
        con.execute("CREATE DATABASE plain")
    with connect("registry") as con:
        con.execute("CREATE EXTENSION btree_gist")
    auth_file = base / "db-auth.yaml"
    auth_file.write_text(f"- url: postgresql://{user}@127.0.0.1:{port}/\n  password: {password}\n")
    auth_file.chmod(0o600)
    old_auth = os.environ.get("LSST_DB_AUTH")
    os.environ["LSST_DB_AUTH"] = str(auth_file)
    try:
        yield {"host": "127.0.0.1", "port": port, "user": user, "database": "registry", "plain": "plain",
               "url": lambda db="registry": f"postgresql://{user}@127.0.0.1:{port}/{db}",
               "auth_file": auth_file, "connect": connect}
    finally:
        if old_auth is None:
            os.environ.pop("LSST_DB_AUTH", None)
        else:
            os.environ["LSST_DB_AUTH"] = old_auth
        proc.terminate()  # SIGTERM: smart shutdown; then fast if it lingers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


# ----- HATS catalogs and real Dask clusters (owned by the hats helper: LSDB tests) ------------------
@pytest.fixture(scope="session")
def sample_hats(sample_gen3):
    """The small sample's objectTable as make-sample wrote it as a HATS catalog: a dict with
    ``path`` (the catalog directory, from the manifest) and ``frame`` (every objectTable row, read
    with pandas from the repository's own parquet files: the truth to compare with)."""
    import json

    import pandas as pd

    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    paths = [sample_gen3 / p for p in manifest["paths"]["objectTable"].values()]
    return {"path": sample_gen3 / manifest["hats"]["object"], "paths": [str(p) for p in paths],
            "frame": pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)}


@pytest.fixture(scope="module")
def objects(sample_hats):
    """``(paths, frame)`` of the sample's objectTable: its parquet files and every row read by pandas."""
    return sample_hats["paths"], sample_hats["frame"]


@pytest.fixture(scope="module")
def hats_dir(sample_hats):
    """The HATS catalog make-sample wrote of the objectTable (several HEALPix partitions)."""
    return sample_hats["path"]


@pytest.fixture(scope="module")
def dask_local_client():
    """A client to a real ``distributed.LocalCluster`` (one worker process, two threads, on
    127.0.0.1), for one test module; closed after it."""
    from explorer.compute.cluster import dask_client

    with dask_client(n_workers=1, threads_per_worker=2, memory_limit="1GiB") as client:
        yield client


@pytest.fixture(scope="session")
def dask_scheduler(tmp_path_factory):
    """The address of a `dask scheduler` and one `dask worker` started here on 127.0.0.1 as
    processes of their own (this checkout first on their path: the workers run its kernels, as Dask
    requires the client's environment), for the session; stopped at its end."""
    from serve_helpers import running_dask

    with running_dask(tmp_path_factory.mktemp("dask"), 1, str(REPO_ROOT)) as address:
        yield address


# ----- parallel runs (pytest-xdist, as scripts/test.sh runs the suite; owned by the ci helper) ----
# ``-n N --dist loadfile`` runs each test module whole on one worker, so its module fixtures are
# built once; every worker builds its own session fixtures (sample, servers) under its own
# ``tmp_path_factory`` directory. The modules go out longest first (estimated below) so that a long
# one does not start last while the other workers sit idle. A new module that takes minutes: mark
# its tests ``slow`` (tests in tests/browser/ count as ``browser``), or list it in ``MODULE_COST_S``.
TEST_COST_S = {"browser": 60.0, "slow": 30.0}  # relative cost of one test with that mark; any other: 5
MODULE_COST_S = {  # what a module's fixtures (servers, clusters, samples) add to its marks; measured in
    # a three-worker run at load 20-30 (seconds there; only the order matters)
    "test_jupyterlab.py": 700.0,  # JupyterLab, a kernel and Chromium: one long test, sent out first
    "test_nginx.py": 450.0,  # two explorer servers behind nginx, and Chromium
    "test_remote.py": 300.0,  # a Butler server, and an explorer served from it in Chromium
    "test_catalog_tools_lsdb.py": 400.0,  # Dask clusters
    "test_sample.py": 400.0,  # the large recipe, shrunk, still writes 189 detectors' catalogs
    "test_app_state.py": 300.0,
    "test_lsdb.py": 180.0,  # Dask schedulers and workers
    "test_confinement.py": 150.0,  # an explorer server
    "test_cli.py": 150.0,  # a subprocess a test
    "test_postgres.py": 120.0,  # a PostgreSQL server and a registry written into it
    "test_views.py": 100.0,
}


def _module_cost(items: list) -> float:
    """A module's estimated cost: its table entry plus its tests' (a test in tests/browser/ counts
    as a browser test, marked or not)."""
    path = items[0].path
    in_browser_dir = path.parent.name == "browser"

    def cost(item) -> float:
        marks = {m.name for m in item.iter_markers()} | ({"browser"} if in_browser_dir else set())
        return max([TEST_COST_S[m] for m in marks if m in TEST_COST_S], default=5.0)

    return MODULE_COST_S.get(path.name, 0.0) + sum(cost(item) for item in items)


def pytest_collection_modifyitems(config, items):
    """In a pytest-xdist worker: order the modules longest first (``--dist loadfile
    --no-loadscope-reorder`` hands them out in collection order); each keeps its tests' order.
    A run in one process keeps the collection order."""
    if not hasattr(config, "workerinput"):
        return
    modules: dict = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    ordered = sorted(modules.values(), key=_module_cost, reverse=True)  # stable: ties keep collection order
    items[:] = [item for module in ordered for item in module]
