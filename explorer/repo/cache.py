"""The one cache every reader and every session shares: thread-safe, LRU, bounded in bytes.

Why one cache: a collaboration server holds many sessions that look at the same exposures; each
16-megapixel plane costs 64 MB, so per-session caches would multiply memory, and an unbounded
cache would grow until the server dies. Keys built with :func:`file_key` include the file's
mtime and size, so an entry whose file changed on disk is never served stale.

Concurrent requests for the same key load it once: the first caller loads, the others wait for
its result (a per-key lock), and a failed load is not cached.
"""
from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Optional, TypeVar

import numpy as np

T = TypeVar("T")

DEFAULT_MAX_BYTES = 2 * 1024**3
ENV_MAX_BYTES = "REPO_EXPLORER_CACHE_BYTES"


def sizeof(value: Any) -> int:
    """Approximate bytes held by a cached value (arrays, DataFrames, containers of them)."""
    if isinstance(value, np.ndarray):
        # A memmap (or a view of one) holds no private memory until its pages are touched.
        return 0 if isinstance(value, np.memmap) or isinstance(value.base, np.memmap) else int(value.nbytes)
    try:
        import pandas as pd

        if isinstance(value, (pd.DataFrame, pd.Series)):
            return int(value.memory_usage(index=True, deep=False).sum()) if isinstance(
                value, pd.DataFrame) else int(value.memory_usage(index=True, deep=False))
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(sizeof(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(sizeof(v) for v in value.values())
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, (int, np.integer)):
        return int(nbytes)
    return sys.getsizeof(value)


def file_key(path: str | os.PathLike, *extra: Hashable) -> tuple:
    """A cache key for something read from ``path``: changes when the file is replaced or edited."""
    real = os.path.realpath(os.fspath(path))
    st = os.stat(real)
    return (real, st.st_mtime_ns, st.st_size) + tuple(extra)


@dataclass
class CacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int
    max_bytes: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class ByteCache:
    """LRU cache bounded by the total size of its values, safe to share between threads."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._loading: dict[Hashable, threading.Event] = {}
        self._bytes = 0
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    def get_or_load(self, key: Hashable, loader: Callable[[], T],
                    size_of: Callable[[Any], int] = sizeof) -> T:
        """Return the cached value for ``key``, calling ``loader`` once if it is absent."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return self._entries[key][0]
                pending = self._loading.get(key)
                if pending is None:
                    pending = self._loading[key] = threading.Event()
                    self._misses += 1
                    break
            pending.wait()  # another thread is loading the same key: wait, then look again
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return self._entries[key][0]
            # the other load failed or was too big to keep: load it ourselves on the next pass
            with self._lock:
                if key not in self._loading:
                    self._loading[key] = pending = threading.Event()
                    self._misses += 1
                    break
        try:
            value = loader()
            self._store(key, value, size_of(value))
            return value
        finally:
            with self._lock:
                self._loading.pop(key, None)
            pending.set()

    def _store(self, key: Hashable, value: Any, nbytes: int) -> None:
        with self._lock:
            if nbytes > self.max_bytes:
                return  # larger than the whole cache: hand it over without keeping it
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes and self._entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
                self._evictions += 1

    def get(self, key: Hashable, default: Optional[Any] = None) -> Any:
        with self._lock:
            item = self._entries.get(key)
            return default if item is None else item[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def resize(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = int(max_bytes)
            while self._bytes > self.max_bytes and self._entries:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
                self._evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._entries),
                              self._bytes, self.max_bytes)


_shared: Optional[ByteCache] = None
_shared_lock = threading.Lock()


def shared_cache() -> ByteCache:
    """The process-wide cache; its bound comes from ``REPO_EXPLORER_CACHE_BYTES`` (default 2 GiB)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            raw = os.environ.get(ENV_MAX_BYTES, "")
            try:
                limit = int(float(raw)) if raw else DEFAULT_MAX_BYTES
            except ValueError:
                limit = DEFAULT_MAX_BYTES
            _shared = ByteCache(limit)
        return _shared


def cached_file_read(path: str | os.PathLike, what: Hashable, loader: Callable[[], T]) -> T:
    """Read something derived from one file through the shared cache, keyed by the file's identity."""
    return shared_cache().get_or_load(file_key(path, what), loader)


def authority_key(realm: str, token: Optional[str]) -> str:
    """A short name for "bytes fetched from ``realm`` with this token", safe to put in cache keys
    and file names: a salted SHA-256 of both, never the token itself.

    Entries read with one user's authority must never serve a session without it, so everything
    fetched remotely is keyed (and spooled) under this key: two tokens give two partitions of the
    shared cache, even for the same file, and no token ("anon") is a partition of its own.
    """
    import hashlib

    digest = hashlib.sha256(b"repo-explorer authority\x00" + realm.encode() + b"\x00"
                            + (token or "").encode()).hexdigest()
    return ("tok-" if token else "anon-") + digest[:24]
