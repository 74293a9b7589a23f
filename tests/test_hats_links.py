"""A HATS catalog holding a symbolic link that leads outside its directory is refused, with a
one-line message naming the link, wherever a catalog is opened: the page's panel (its columns),
the compute functions, and the CLI's ``histogram`` (exit 2). Links that stay inside are fine.
Built on copies of the catalog make-sample writes (tests/conftest.py's ``hats_dir``)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.compute.hats import HatsError, catalog_columns, check_links, open_hats


@pytest.fixture
def catalog(hats_dir, tmp_path):
    """A copy of the sample's HATS catalog (the fixture's own stays untouched) and a folder beside it."""
    copy = tmp_path / "cat"
    shutil.copytree(hats_dir, copy)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return copy, elsewhere


def _partition_files(root):
    return sorted(p for p in (root / "dataset").rglob("Npix=*.parquet"))


def _refused(call, *needles):
    with pytest.raises(HatsError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and "symbolic link leading outside" in message, message
    for n in needles:
        assert n in message, message
    return message


def test_links_that_stay_inside_are_accepted(catalog):
    root, _ = catalog
    (root / "notes.properties").symlink_to(root / "hats.properties")
    first = _partition_files(root)[0]
    (root / "dataset" / "alias").symlink_to(first.parent, target_is_directory=True)
    check_links(root)
    assert "g_psfFlux" in catalog_columns(root)
    assert open_hats(root, ["g_psfFlux"]).npartitions == len(_partition_files(root))


def _link_a_partition_from_outside(root: Path, elsewhere: Path) -> Path:
    """Move the catalog's first partition file out of it and leave a link to it in its place."""
    victim = _partition_files(root)[0]
    moved = elsewhere / victim.name
    shutil.move(victim, moved)
    victim.symlink_to(moved)
    return victim


def test_a_partition_linked_from_outside_is_refused(catalog):
    root, elsewhere = catalog
    victim = _link_a_partition_from_outside(root, elsewhere)
    rel = os.path.relpath(victim, root)
    _refused(lambda: open_hats(root, ["g_psfFlux"]), rel)
    _refused(lambda: catalog_columns(root), rel)  # what the page's panel and a hats= link open


def test_a_directory_or_a_broken_link_out_is_refused(catalog):
    root, elsewhere = catalog
    folder = _partition_files(root)[-1].parent.parent  # a whole Norder=... directory
    shutil.move(folder, elsewhere / folder.name)
    folder.symlink_to(elsewhere / folder.name, target_is_directory=True)
    _refused(lambda: check_links(root), os.path.relpath(folder, root))
    folder.unlink()
    shutil.move(elsewhere / folder.name, folder)
    check_links(root)  # (back as it was: accepted)
    (root / "dataset" / "stale").symlink_to(elsewhere / "gone.parquet")  # a link to nothing, outside
    _refused(lambda: check_links(root), os.path.join("dataset", "stale"))


def test_the_cli_refuses_it_in_one_line(catalog):
    root, elsewhere = catalog
    victim = _link_a_partition_from_outside(root, elsewhere)
    proc = subprocess.run([sys.executable, "-m", "explorer.cli", "histogram", str(root), "--column", "g_psfFlux"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "symbolic link leading outside" in lines[0] and victim.name in lines[0], proc.stderr
