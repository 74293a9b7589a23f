"""The memo of a repository index: a thread-safe LRU of computed answers, bounded in entries and bytes.

One index is shared by every session of a server, so its memory must not grow with what people
ask: :data:`MEMO_ENTRIES` answers and :data:`MEMO_BYTES` (approximate, by
:func:`explorer.repo.cache.sizeof`) at most, the least recently used dropped first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

MEMO_ENTRIES = 4096  # answers one index remembers (LRU)...
MEMO_BYTES = 64 * 1024**2  # ...and at most this many bytes of them


class Memo:
    """A thread-safe LRU of computed answers, bounded in entries and (approximate) bytes."""

    def __init__(self, entries: int = MEMO_ENTRIES, nbytes: int = MEMO_BYTES):
        self.entries, self.max_bytes = entries, nbytes
        self._data: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The answer remembered under ``key``, else ``compute()``'s, remembered.

        ``compute`` runs outside the lock, so a slow query does not stall other sessions; two
        threads missing the same key at once may both compute it (the first answer stored wins).
        """
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
                return hit[0]
        value = compute()  # outside the lock: a slow query does not stall other sessions' hits
        from ..repo.cache import sizeof

        size = sizeof(value)
        with self._lock:
            if key in self._data:
                return self._data[key][0]
            self._data[key] = (value, size)
            self.bytes += size
            while self._data and (len(self._data) > self.entries or self.bytes > self.max_bytes):
                _, (_, old) = self._data.popitem(last=False)
                self.bytes -= old
        return value

    def peek(self, key: Any) -> Any:
        """The remembered answer, or None (no computing)."""
        with self._lock:
            hit = self._data.get(key)
            return None if hit is None else hit[0]

    def __len__(self) -> int:
        return len(self._data)
