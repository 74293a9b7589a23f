"""One cache across sessions and threads, through the real readers on the sample's files.

* concurrent requests for the same plane or catalog read the file once;
* the byte bound holds while many threads read many files;
* a file changed on disk (mtime or size) is read again, never served stale.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from astropy.io import fits
from concurrent_sessions import at_once

from explorer.repo import access
from explorer.repo import catalogs as catalog_reader
from explorer.repo import fits as fits_reader
from explorer.repo.cache import shared_cache


@pytest.fixture(scope="module")
def files(sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    calexps = [str(sample_gen3 / c["path"]) for c in manifest["calexps"] if c.get("on_disk", True)]
    tables = [str(sample_gen3 / p) for p in manifest["paths"]["sourceTable"].values()]
    return {"calexps": calexps, "tables": tables}


@pytest.fixture
def empty_cache():
    cache = shared_cache()
    cache.clear()
    limit = cache.max_bytes
    yield cache
    cache.resize(limit)
    cache.clear()


def _counting(monkeypatch, module, name):
    """Wrap ``module.name`` so calls are counted (and slowed, to widen any race)."""
    calls: list[tuple] = []
    lock = threading.Lock()
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        with lock:
            calls.append(args[:2])
        time.sleep(0.05)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_concurrent_requests_for_one_plane_read_it_once(files, empty_cache, monkeypatch):
    calls = _counting(monkeypatch, fits_reader, "read_plane")
    path = files["calexps"][0]
    results = at_once(8, lambda: access.open_exposure(path).image)
    assert len(calls) == 1, calls
    assert all(r is results[0] for r in results)  # one array, shared (and read-only)
    assert not results[0].flags.writeable and results[0].dtype.isnative


def test_concurrent_requests_for_one_catalog_read_it_once(files, empty_cache, monkeypatch):
    calls = _counting(monkeypatch, catalog_reader, "read_catalog")
    path = files["tables"][0]
    frames = at_once(6, lambda: access.read_catalog(path, ["coord_ra", "coord_dec"]))
    assert len(calls) == 1, calls
    assert all(len(f) == len(frames[0]) and list(f.columns) == ["coord_ra", "coord_dec"] for f in frames)


def test_the_byte_bound_holds_while_many_threads_read(files, empty_cache):
    one_plane = access.open_exposure(files["calexps"][0]).image.nbytes
    empty_cache.clear()
    bound = int(one_plane * 3.5)  # room for three planes: reading ~30 planes must evict
    empty_cache.resize(bound)
    seen: list[int] = []
    lock = threading.Lock()
    jobs = [(p, plane) for p in files["calexps"][:10] for plane in ("image", "mask", "variance")]

    def read(job):
        path, plane = job
        arr = access.read_plane(path, plane)
        with lock:
            seen.append(empty_cache.stats().bytes)
        return arr.shape

    with ThreadPoolExecutor(6) as pool:
        shapes = list(pool.map(read, jobs * 2))
    stats = empty_cache.stats()
    assert len(shapes) == 2 * len(jobs)
    assert max(seen) <= bound and stats.bytes <= bound
    assert stats.evictions > 0


def test_a_file_changed_on_disk_is_read_again(files, empty_cache, tmp_path):
    path = tmp_path / "calexp.fits"
    shutil.copy2(files["calexps"][0], path)
    before = access.open_exposure(path).image
    assert access.open_exposure(path).image is before  # cached
    first = float(before[10, 10])

    with fits.open(path, mode="update") as hdul:  # rewrite one pixel in place: same size
        idx = next(i for i, h in enumerate(hdul)
                   if str(h.header.get("EXTTYPE", h.header.get("EXTNAME", ""))).strip().upper() == "IMAGE")
        hdul[idx].data[10, 10] = first + 12345.0
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a later mtime, as any writer leaves
    after = access.open_exposure(path).image
    assert after is not before
    assert float(after[10, 10]) == pytest.approx(first + 12345.0)

    # same mtime but another size (a file replaced by a longer one within the clock's resolution)
    table = tmp_path / "table.parq"
    shutil.copy2(files["tables"][0], table)
    rows = len(access.read_catalog(table, ["coord_ra"]))
    other = next(t for t in files["tables"][1:] if os.path.getsize(t) != os.path.getsize(table))
    mtime = os.stat(table).st_mtime_ns
    shutil.copyfile(other, table)
    os.utime(table, ns=(mtime, mtime))
    fresh = access.read_catalog(table, ["coord_ra"])
    assert len(fresh) == len(access.read_catalog(other, ["coord_ra"])) != rows
