"""The Gen3 backend on the real obs_lsst imsim repository, checked against the butler itself.

The truth comes from the ``butler`` command-line tool that ships with lsst-daf-butler (a separate
process, its own queries), not from our code.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from explorer.repo import (BadDataIdError, DatasetNotFoundError, NotOnDiskError, UnknownDatasetTypeError,
                           open_repo)

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def imsim_gen3(real_dir: Path) -> Path:
    return real_dir / "lsst_obs_lsst" / "tests" / "data" / "input" / "imsim"


def _butler(*args: str) -> str:
    exe = Path(sys.executable).with_name("butler")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "lsst.daf.butler.cli.butler"]
    out = subprocess.run(cmd + list(args), capture_output=True, text=True, check=True)
    return out.stdout


def _table_rows(text: str) -> list[list[str]]:
    """Data rows of the butler's astropy-style text tables (skip titles, headers and rules)."""
    rows, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if not line.strip() or set(line.strip()) <= {"-", " "}:
            continue
        if i + 1 < len(lines) and set(lines[i + 1].strip()) <= {"-", " "} and lines[i + 1].strip():
            continue  # a header line (followed by its rule)
        rows.append(line.split())
    return rows


def test_inventory_matches_the_butler_command(imsim_gen3):
    inv = open_repo(imsim_gen3).inventory(check_files=True)
    text = _butler("query-datasets", str(imsim_gen3), "*", "--collections", "*", "--limit", "0")
    butler_counts = Counter(row[0] for row in _table_rows(text) if row)
    ours = {d.name: d.count for d in inv.dataset_types if d.count}
    assert ours == dict(butler_counts)

    types = _butler("query-dataset-types", str(imsim_gen3))
    assert sorted(d.name for d in inv.dataset_types) == sorted(
        row[0] for row in _table_rows(types) if row and row[0] != "name")

    colls = _butler("query-collections", str(imsim_gen3), "--chains", "NO-CHILDREN")
    assert set(inv.collections) == {row[0] for row in _table_rows(colls) if row}

    detectors = _butler("query-dimension-records", str(imsim_gen3), "detector")
    assert inv.detectors == len(_table_rows(detectors))
    assert inv.instrument == "LSSTCam-imSim"
    assert inv.bands == ["u", "g", "r", "i", "z", "y"]
    assert inv.visits == 1
    assert inv.tracts == [] and inv.patches == 0 and inv.sky_area_deg2 == 0.0


def test_missing_files_are_counted_only_when_asked(imsim_gen3):
    repo = open_repo(imsim_gen3)
    quick = {d.name: d for d in repo.inventory().dataset_types}
    assert quick["bfk"].missing is None
    checked = {d.name: d for d in repo.inventory(check_files=True).dataset_types}
    on_disk = {name: sum(1 for p in (imsim_gen3).rglob("*.fits") if f"/{name}/" in str(p))
               for name in ("bfk", "bias", "flat")}
    assert checked["bfk"].missing == checked["bfk"].count - on_disk["bfk"] == 189
    assert checked["bias"].missing == 0 and checked["flat"].missing == 0


def test_locate_and_errors(imsim_gen3):
    repo = open_repo(imsim_gen3)
    loc = repo.locate("flat", {"detector": 42})
    assert loc.on_disk and os.path.isfile(loc.path) and loc.data_id["band"] == "i"
    with pytest.raises(NotOnDiskError, match="not on disk"):
        repo.get_exposure("bfk", {"detector": 3})
    with pytest.raises(BadDataIdError, match="no data ID key 'visit'"):
        repo.locate("flat", {"visit": 3})
    with pytest.raises(UnknownDatasetTypeError, match="calexp"):
        repo.locate("calexp", {"visit": 3})
    with pytest.raises(DatasetNotFoundError):
        repo.locate("bias", {"detector": 7})
    with pytest.raises(BadDataIdError, match="matches 189"):
        repo.locate("bfk", {})


def test_cli_inventory_json_keys(imsim_gen3):
    from explorer.cli import main

    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "inventory", str(imsim_gen3), "--json",
                           "--check-files"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("kind", "collections", "dataset_types", "instrument", "bands", "visits", "detectors",
                "tracts", "patches", "sources", "sky_area_deg2"):
        assert key in data
    assert data["kind"] == "gen3"
    bfk = next(d for d in data["dataset_types"] if d["name"] == "bfk")
    assert set(bfk) >= {"name", "dimensions", "storage_class", "count", "missing"}
    assert bfk["missing"] == 189
    assert main(["inventory", str(imsim_gen3), "--collections", "no-such-collection*"]) == 2


def test_registry_is_not_modified(imsim_gen3, tmp_path):
    import shutil

    copy = Path(shutil.copytree(imsim_gen3, tmp_path / "imsim"))
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in copy.rglob("*")}
    repo = open_repo(copy)
    repo.inventory(check_files=True)
    repo.query_data_ids("raw")
    repo.close()
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in copy.rglob("*")}
    assert before == after
