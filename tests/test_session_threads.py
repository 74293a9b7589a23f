"""The server runs its sessions' callbacks one at a time (explorer.server.one_worker_loop).

Bokeh offloads each session's locked callbacks, patch application and reply serialization with
``asyncio.to_thread``: to the event loop's default executor, by default a pool of several threads.
Callbacks of different sessions then interleaved in several threads, and code written for one
thread at a time raced (HoloViews' class-level ``disable_constant``).
"""
from __future__ import annotations

import asyncio
import threading
import time

from explorer.server import one_worker_loop


def _concurrency(loop) -> tuple[int, set[int]]:
    """Run four blocking jobs as Bokeh does (``asyncio.to_thread``); the most that ran at once,
    and the threads that ran them."""
    lock, running, most, threads = threading.Lock(), [0], [0], set()

    def job() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.get_ident())
        time.sleep(0.05)  # (room for another thread to start one: the default pool would)
        with lock:
            running[0] -= 1

    async def main() -> None:
        await asyncio.gather(*(asyncio.to_thread(job) for _ in range(4)))

    loop.run_sync(main)
    return most[0], threads


def test_offloaded_session_work_runs_one_job_at_a_time_off_the_loop_thread():
    loop = one_worker_loop()
    try:
        most, threads = _concurrency(loop)
    finally:
        loop.close()
    assert most == 1 and len(threads) == 1 and threading.get_ident() not in threads


def test_the_default_executor_would_run_them_together():
    """The check above can fail: tornado's own loop runs the same jobs side by side."""
    from tornado.ioloop import IOLoop

    loop = IOLoop(make_current=False)
    try:
        most, threads = _concurrency(loop)
    finally:
        loop.close()
    assert most > 1 and len(threads) > 1
