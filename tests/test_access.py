"""explorer.repo.access: the cached entry points (lazy planes, catalog subsets, stale files, missing files)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
import pytest
from concurrent_sessions import at_once

from explorer.repo import access, catalogs, fits as F
from explorer.repo.base import Repository
from explorer.repo.errors import BadFileError, NotOnDiskError
from explorer.repo.model import DatasetLocation, Exposure


@pytest.fixture
def make_exposure(write_afw_exposure):
    """Write a small afw exposure (constant image ``value``, one DETECTED pixel, xy0 = (3, 4))."""
    def make(path: Path, value: float = 1.0, shape=(40, 50)) -> Path:
        image = np.full(shape, value, dtype=np.float32)
        mask = np.zeros(shape, dtype=np.int32)
        mask[0, 0] = 1 << 5
        return write_afw_exposure(path, image, mask, np.ones(shape, np.float32), xy0=(3, 4),
                                  mask_planes={"BAD": 0, "DETECTED": 5})
    return make


def _counting(monkeypatch, module, name: str) -> list:
    calls: list = []
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def _bump_mtime(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_open_exposure_is_lazy_and_cached(tmp_path, fresh_cache, monkeypatch, make_exposure):
    path = make_exposure(tmp_path / "calexp.fits")
    info_reads = _counting(monkeypatch, F, "read_exposure_info")
    plane_reads = _counting(monkeypatch, F, "read_plane")
    exp = access.open_exposure(path, dataset_type="calexp", data_id={"visit": 1, "detector": 2})
    assert isinstance(exp, Exposure) and exp.dataset_type == "calexp" and exp.data_id == {"visit": 1, "detector": 2}
    assert exp.info.xy0 == (3, 4) and exp.info.mask_planes == {"BAD": 0, "DETECTED": 5}
    assert plane_reads == []  # nothing but headers so far
    image = exp.image
    assert [c[1] for c in plane_reads] == ["image"]  # the mask and variance were not read
    assert image.flags.writeable is False  # shared through the cache
    with pytest.raises(ValueError):
        image[0, 0] = 5
    stats = fresh_cache.stats()
    assert stats.bytes >= image.nbytes  # the plane really counts against the byte bound
    # a second open and a second read cost no I/O
    exp2 = access.open_exposure(path)
    assert exp2.image is image
    assert len(info_reads) == 1 and len(plane_reads) == 1
    after = fresh_cache.stats()
    assert after.misses == stats.misses and after.hits > stats.hits
    assert exp2.mask[0, 0] == 32 and len(plane_reads) == 2


@pytest.mark.parametrize("bits, dtype", [((0, 7), np.uint8), ((5, 12), np.uint16), ((3, 31), np.int32)])
def test_masks_are_cached_in_the_narrowest_type_that_holds_them(tmp_path, fresh_cache, write_afw_exposure,
                                                                 bits, dtype):
    shape = (30, 20)
    mask = np.zeros(shape, dtype=np.int32)
    mask[1, 2] = np.int32(np.uint32(1 << bits[0]).view(np.int32))
    mask[4, 5] = np.int32(np.uint32(1 << bits[1]).view(np.int32))  # bit 31 is the sign of an int32 mask
    path = write_afw_exposure(tmp_path / "m.fits", np.ones(shape, np.float32), mask, np.ones(shape, np.float32),
                              mask_planes={"A": bits[0], "B": bits[1]})
    exp = access.open_exposure(path)
    assert exp.mask.dtype == dtype and np.array_equal(exp.mask, F.read_plane(path, "mask"))
    assert exp.info.decode_mask(exp.mask[4, 5]) == ["B"]
    binned = exp.binned("mask", 4)  # ORs, computed as int64, kept as narrow
    assert binned.dtype == dtype and binned[1, 1] == exp.mask[4, 5] and binned[0, 0] == exp.mask[1, 2]


def test_changed_file_is_reread(tmp_path, fresh_cache, make_exposure):
    path = make_exposure(tmp_path / "calexp.fits", value=1.0)
    assert access.open_exposure(path).image[0, 0] == 1.0
    make_exposure(path, value=7.0, shape=(40, 50))
    _bump_mtime(path)
    exp = access.open_exposure(path)
    assert exp.image[0, 0] == 7.0
    # a different shape after the change: the new info and the new planes agree
    make_exposure(path, value=3.0, shape=(20, 10))
    _bump_mtime(path)
    exp = access.open_exposure(path)
    assert exp.info.shape == (20, 10) and exp.image.shape == (20, 10)


def test_missing_files_are_not_on_disk(tmp_path):
    missing = tmp_path / "nope" / "calexp.fits"
    for fn in (access.open_exposure, access.exposure_info, access.read_catalog, access.catalog_schema,
               access.catalog_length):
        with pytest.raises(NotOnDiskError, match="not on disk"):
            fn(missing)


def test_bad_file_errors_are_not_cached(tmp_path, fresh_cache, make_exposure):
    path = tmp_path / "bad.fits"
    path.write_bytes(b"junk" * 100)
    for _ in range(2):
        with pytest.raises(BadFileError, match="bad.fits"):
            access.open_exposure(path)
    assert fresh_cache.stats().entries == 0
    make_exposure(path)  # fixed on disk: now it reads
    assert access.open_exposure(path).info.shape == (40, 50)


def test_concurrent_plane_loads_read_once(tmp_path, fresh_cache, monkeypatch, make_exposure):
    path = make_exposure(tmp_path / "calexp.fits", shape=(400, 500))
    plane_reads = _counting(monkeypatch, F, "read_plane")
    results = at_once(6, lambda: access.open_exposure(path).variance)
    assert len(plane_reads) == 1
    assert all(r is results[0] for r in results)


# ------------------------------------------------------------------------------------------------
# catalogs
# ------------------------------------------------------------------------------------------------
def _catalog(path: Path, n: int = 30) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.DataFrame({"a": np.arange(n, dtype=np.float64), "b": np.arange(n) * 2, "c": ["x"] * n})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
    return df


def test_catalog_cache_and_subsets_from_full(tmp_path, fresh_cache, monkeypatch):
    path = tmp_path / "src.parq"
    _catalog(path)
    reads = _counting(monkeypatch, catalogs, "read_catalog")
    full = access.read_catalog(path)
    assert full.shape == (30, 3) and len(reads) == 1
    sub = access.read_catalog(path, ["b", "a"])  # served from the cached full catalog
    assert list(sub.columns) == ["b", "a"] and len(reads) == 1
    np.testing.assert_array_equal(sub["b"], np.arange(30) * 2)
    again = access.read_catalog(path)
    assert len(reads) == 1
    # callers may add columns to what they get without touching the cached frame
    again["d"] = 1.0
    again.loc[0, "a"] = -1.0
    fresh = access.read_catalog(path)
    assert "d" not in fresh.columns and fresh.loc[0, "a"] == 0.0


def test_catalog_subset_cached_per_columns(tmp_path, fresh_cache, monkeypatch):
    path = tmp_path / "src.parq"
    _catalog(path)
    reads = _counting(monkeypatch, catalogs, "read_catalog")
    access.read_catalog(path, ["a"])
    access.read_catalog(path, ["a"])
    assert len(reads) == 1 and reads[0][1] == ("a",)
    access.read_catalog(path, ["a", "b"])
    assert len(reads) == 2
    assert access.catalog_length(path) == 30
    assert [c.name for c in access.catalog_schema(path)] == ["a", "b", "c"]
    schema_hits = fresh_cache.stats().hits
    access.catalog_schema(path)
    assert fresh_cache.stats().hits == schema_hits + 1


def test_small_fits_catalog_is_parsed_once_for_any_columns(sample_gen3, fresh_cache, monkeypatch):
    """Histogram column after column: a small afw FITS catalog is decoded whole once, then every
    column subset comes from it; above the size limit (or for parquet) columns are read alone."""
    path = next(sample_gen3.rglob("src_*.fits"))
    names = [c.name for c in access.catalog_schema(path)]
    want = catalogs.read_catalog(path, [names[7], names[3]])
    reads = _counting(monkeypatch, catalogs, "read_catalog")
    a = access.read_catalog(path, [names[3]])
    b = access.read_catalog(path, [names[7], names[3]])
    assert len(reads) == 1 and reads[0][1] is None  # one full read
    assert list(a.columns) == [names[3]] and list(b.columns) == [names[7], names[3]]
    pd.testing.assert_frame_equal(b, want, check_like=False)
    with pytest.raises(catalogs.UnknownColumnError):  # still a clear error for a name it lacks
        access.read_catalog(path, ["no_such_column"])
    fresh_cache.clear()
    reads.clear()
    monkeypatch.setattr(access, "WHOLE_FITS_CATALOG_MAX_BYTES", 0)
    access.read_catalog(path, [names[3]])
    assert reads == [(str(path), (names[3],))]


def test_catalog_reread_after_change(tmp_path, fresh_cache):
    path = tmp_path / "src.parq"
    _catalog(path, n=30)
    assert access.catalog_length(path) == 30 and len(access.read_catalog(path)) == 30
    _catalog(path, n=12)
    _bump_mtime(path)
    assert access.catalog_length(path) == 12 and len(access.read_catalog(path, ["a"])) == 12


@pytest.mark.real
def test_real_catalog_through_access(real_dir, fresh_cache):
    path = real_dir / "lsst_afw" / "tests" / "data" / "sourceCatalog-hsc-v2.fits"
    full = access.read_catalog(path)
    assert full.shape == (5, 228)
    # an alias is not a column of the cached frame: it is resolved by a proper (cached) read
    df = access.read_catalog(path, ["id", "slot_Centroid_x"])
    assert list(df.columns) == ["id", "slot_Centroid_x"]
    np.testing.assert_array_equal(df["slot_Centroid_x"], full["base_SdssCentroid_x"])
    assert access.catalog_length(path) == 5


# ------------------------------------------------------------------------------------------------
# the backend interface reads through access
# ------------------------------------------------------------------------------------------------
class _OneFileRepo(Repository):
    """The smallest backend: one calexp whose file may or may not exist."""

    kind = "test"

    def __init__(self, root: str, path: Path, on_disk: bool):
        super().__init__(root)
        self.path, self.on_disk = path, on_disk

    def collections(self, pattern: Optional[str] = None) -> list[str]:
        return ["run"]

    def inventory(self, collections=None, check_files=False, progress=None):  # pragma: no cover
        raise NotImplementedError

    def dataset_type_names(self) -> list[str]:
        return ["calexp"]

    def dimensions_of(self, dataset_type: str) -> list[str]:
        return ["visit"]

    def query_data_ids(self, dataset_type, where=None, collections=None) -> list[dict[str, Any]]:
        return [{"visit": 1}]

    def locate(self, dataset_type, data_id, collections=None) -> DatasetLocation:
        return DatasetLocation(dataset_type, dict(data_id), str(self.path), self.on_disk)


def test_repository_get_exposure_uses_access(tmp_path, fresh_cache, make_exposure):
    path = make_exposure(tmp_path / "calexp.fits")
    exp = _OneFileRepo(str(tmp_path), path, True).get_exposure("calexp", {"visit": 1})
    assert exp.dataset_type == "calexp" and exp.image.shape == (40, 50)
    with pytest.raises(NotOnDiskError, match="not on disk"):
        _OneFileRepo(str(tmp_path), tmp_path / "gone.fits", False).get_exposure("calexp", {"visit": 1})
