"""Sessions that ask for the same thing at the same moment, for the cache tests: ``at_once(n, read)``
runs ``read`` in ``n`` threads released together by a barrier (the widest window for a race).
Tests import it as ``concurrent_sessions``."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable


def at_once(sessions: int, read: Callable[[], Any]) -> list:
    """What ``read()`` returned in each of ``sessions`` threads released at the same moment."""
    barrier = threading.Barrier(sessions)

    def session(_):
        barrier.wait()
        return read()

    with ThreadPoolExecutor(sessions) as pool:
        return list(pool.map(session, range(sessions)))
