"""Nothing ever writes into a repository being explored.

A copy of the small Gen3 sample (and of the Gen2 sample) is explored the way a person would: the
browser-free :class:`explorer.state.ExplorerState` opens it, takes the inventory with file checks,
walks bands, tracts, patches, visits and detectors, renders every plane with every stretch for both
image kinds, draws histograms of several catalog columns; then the CLI's ``inventory --check-files
--json`` and ``exposure --json`` run on it. Afterwards every file has the same bytes, size and
mtime, and the tree holds no new file (no sqlite ``-journal``/``-wal``/``-shm``, no ``__pycache__``,
no lock files). The same session must also work when the copy is read-only (``chmod -R a-w``);
as root that does not stop writes, so every ``sqlite3.connect`` is recorded and those opening the
Gen2 registry must use a ``mode=ro`` URI.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Iterator

import pytest

from explorer import cli
from explorer.state import ExplorerState, forget_repositories
from explorer.views.stretch import STRETCHES

PLANES = ("image", "mask", "variance")


# ----------------------------------------------------------------------------------------------
# snapshots
# ----------------------------------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root: files as (sha256, size, mtime_ns), directories and links by kind."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            else:
                out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns)
    return out


def assert_untouched(root: Path, before: dict[str, tuple]) -> None:
    after = snapshot(root)
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in before if k in after and after[k] != before[k])
    assert not new, f"new entries in the repository: {new[:10]}"
    assert not gone, f"entries removed from the repository: {gone[:10]}"
    assert not changed, f"files modified (bytes, size or mtime): {changed[:10]}"


def copy_repo(src: Path, dest: Path) -> Path:
    """A copy that keeps mtimes (copy2 + copystat), so mtime_ns comparisons are meaningful."""
    shutil.copytree(src, dest, symlinks=True, copy_function=shutil.copy2)
    return dest


@contextlib.contextmanager
def read_only(root: Path) -> Iterator[None]:
    """``chmod -R a-w`` on the tree for the body; write permission for the owner restored after."""
    modes = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for p in [Path(dirpath)] + [Path(dirpath) / f for f in filenames]:
            if not p.is_symlink():
                modes[p] = p.stat().st_mode
    try:
        for p, mode in modes.items():
            p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


@pytest.fixture
def connects(monkeypatch) -> list[tuple]:
    """Every sqlite3.connect call made during the test: (database, uri flag)."""
    calls: list[tuple] = []
    real = sqlite3.connect

    def recording(database, *args, **kwargs):
        calls.append((str(database), bool(kwargs.get("uri", False))))
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", recording)
    return calls


# ----------------------------------------------------------------------------------------------
# the session
# ----------------------------------------------------------------------------------------------
def explore(root: Path, capsys) -> dict:
    """A full session over the repository; returns counts of what was done (all must be > 0)."""
    forget_repositories()  # a fresh Repository object: its files are opened again, here
    done = {"frames": 0, "histograms": 0, "coadd": 0, "calexp": 0}
    state = ExplorerState(repo=str(root))
    assert state.repo is not None, state.error
    inv = state.repo.inventory(check_files=True)
    assert inv is not None
    exposure_id = None
    for kind in ("coadd", "calexp"):
        state.image_kind = kind
        first = True
        for band in list(state.param.band.objects)[:2]:
            state.band = band
            # calexps: visits of the band wherever they are (the page shows none from another
            # tract under the selected one), each opened as a link opens it
            outer = (state.param.tract.objects if kind == "coadd"
                     else [v for v in state.index.visits if state.index.band_of_visit(v) == band])
            for value in list(outer)[:2]:
                if kind == "coadd":
                    state.tract = value
                    inner_name, inner = "patch", list(state.param.patch.objects)[:2]
                else:
                    state.apply_query({"kind": "calexp", "visit": str(value)})
                    inner_name, inner = "detector", list(state.param.detector.objects)[:2]
                for item in inner:
                    setattr(state, inner_name, item)
                    if state.exposure() is None:
                        continue  # e.g. the sample's deliberately missing calexp
                    done[kind] += 1
                    if kind == "calexp" and exposure_id is None:
                        exposure_id = dict(state.exposure_ref[1])
                    planes = PLANES if first else ("image",)
                    stretches = STRETCHES if first else ("zscale",)
                    for plane in planes:
                        state.plane = plane
                        for stretch in stretches:
                            state.stretch = stretch
                            frame = state.render_image(width=160, height=160)
                            assert frame is not None, state.error
                            done["frames"] += 1
                    state.plane, state.stretch = "image", "zscale"
                    if first:
                        for catalog in list(state.param.catalog.objects)[:2]:
                            state.catalog = catalog
                            for column in list(state.param.column.objects)[:3]:
                                state.column = column
                                if state.histogram() is not None:
                                    done["histograms"] += 1
                            state.source_positions()
                    assert state.describe() != "nothing selected"
                    first = False
    assert all(done.values()), f"the session did not exercise everything: {done}"
    # the command line, in process
    assert cli.main(["inventory", str(root), "--check-files", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out
    data_id = ",".join(f"{k}={v}" for k, v in exposure_id.items() if k in ("visit", "detector"))
    assert cli.main(["exposure", str(root), "--dataset", "calexp", "--data-id", data_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
    forget_repositories()  # close what the session opened before the tree is compared
    return done


@pytest.fixture(scope="module")
def sample_gen2_src(tmp_path_factory) -> Path:
    from explorer.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("ro_gen2") / "dc2-gen2", layout="gen2", size="small", seed=1)


@pytest.fixture(params=["gen3", "gen2"])
def repo_copy(request, sample_gen3, tmp_path) -> Path:
    src = sample_gen3 if request.param == "gen3" else request.getfixturevalue("sample_gen2_src")
    return copy_repo(src, tmp_path / f"copy-{request.param}")


def registry_connects(calls: list[tuple], root: Path) -> list[tuple]:
    return [c for c in calls if str(root) in c[0] or os.path.realpath(root) in c[0]]


@pytest.mark.parametrize("mode", ["writable", "read-only"])
def test_a_full_session_writes_nothing(repo_copy, mode, connects, capsys):
    before = snapshot(repo_copy)
    with read_only(repo_copy) if mode == "read-only" else contextlib.nullcontext():
        done = explore(repo_copy, capsys)
    print(f"session on {repo_copy.name} ({mode}): {done}")
    assert_untouched(repo_copy, before)
    leftovers = [p for p in repo_copy.rglob("*")
                 if p.name.endswith(("-journal", "-wal", "-shm", ".lock")) or p.name == "__pycache__"]
    assert not leftovers, leftovers
    # Every registry (Gen2 registry.sqlite3 by our reader, Gen3 gen3.sqlite3 by daf_butler) is opened
    # through a read-only URI: as root, chmod alone would not have stopped a write.
    mine = registry_connects(connects, repo_copy)
    assert mine, "the registry was never opened through sqlite3.connect"
    for database, uri in mine:
        assert uri and database.startswith("file:") and "mode=ro" in database, (database, uri)
        if (repo_copy / "registry.sqlite3").exists() and mode == "read-only" and not os.access(repo_copy, os.W_OK):
            assert "immutable=1" in database, database  # not as root: no lock file is even tried


def test_the_snapshot_sees_every_kind_of_write(tmp_path):
    """The comparison above can fail: a new journal file, a touched mtime, changed bytes, a new dir."""
    root = tmp_path / "r"
    (root / "sub").mkdir(parents=True)
    (root / "registry.sqlite3").write_bytes(b"SQLite format 3\x00" + bytes(100))
    (root / "sub" / "a.fits").write_bytes(b"SIMPLE  =" + bytes(71))
    before = snapshot(root)
    assert_untouched(root, before)
    writes = [
        lambda: (root / "registry.sqlite3-journal").write_bytes(b""),
        lambda: os.utime(root / "sub" / "a.fits", ns=(0, 12345)),
        lambda: (root / "sub" / "a.fits").write_bytes(b"SIMPLE  =" + bytes(70) + b"\x01"),
        lambda: (root / "sub" / "__pycache__").mkdir(),
    ]
    for write in writes:
        fresh = snapshot(root)
        write()
        with pytest.raises(AssertionError):
            assert_untouched(root, fresh)
