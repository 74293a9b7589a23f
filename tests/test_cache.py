"""The shared cache: bounded in bytes, LRU, one load per key under concurrency, never stale."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from concurrent_sessions import at_once

from explorer.repo.cache import ByteCache, file_key, sizeof


def test_bound_in_bytes_evicts_least_recently_used():
    cache = ByteCache(max_bytes=3_000)
    for key in "abc":
        cache.get_or_load(key, lambda: np.zeros(1000, dtype=np.uint8))
    cache.get_or_load("a", lambda: pytest.fail("'a' should still be cached"))  # touch a: b is now oldest
    cache.get_or_load("d", lambda: np.zeros(1000, dtype=np.uint8))
    stats = cache.stats()
    assert stats.bytes <= 3_000
    assert "b" not in cache and "a" in cache and "d" in cache
    assert stats.evictions == 1


def test_value_larger_than_the_cache_is_returned_but_not_kept():
    cache = ByteCache(max_bytes=100)
    value = cache.get_or_load("big", lambda: np.zeros(1000, dtype=np.uint8))
    assert value.nbytes == 1000
    assert "big" not in cache and cache.stats().bytes == 0


def test_concurrent_requests_for_one_key_load_once():
    cache = ByteCache(max_bytes=10**6)
    calls = []

    def slow_loader():
        calls.append(1)
        time.sleep(0.2)
        return np.ones(10)

    results = at_once(8, lambda: cache.get_or_load("k", slow_loader))
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert cache.stats().hits == 7 and cache.stats().misses == 1


def test_failed_load_is_not_cached_and_is_retried():
    cache = ByteCache(max_bytes=10**6)

    def broken():
        raise OSError("disk on fire")

    with pytest.raises(OSError):
        cache.get_or_load("k", broken)
    assert cache.get_or_load("k", lambda: 42) == 42


def test_file_key_changes_when_the_file_changes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"12345")
    first = file_key(path, "x")
    os.utime(path, ns=(1, 1))
    assert file_key(path, "x") != first
    path.write_bytes(b"123456")
    assert file_key(path, "x")[2] == 6


def test_sizeof_counts_arrays_and_frames():
    import pandas as pd

    assert sizeof(np.zeros((10, 10), dtype=np.float32)) == 400
    frame = pd.DataFrame({"a": np.zeros(1000), "b": np.zeros(1000, dtype=np.int32)})
    assert sizeof(frame) >= 12_000
    assert sizeof([np.zeros(100), np.zeros(100)]) >= 1600
