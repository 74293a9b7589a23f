"""explorer.app.stream_registry: HoloViews' stream registry is read while other threads add and
drop streams (pages built on Bokeh's worker threads), without "dictionary changed size during
iteration"."""
from __future__ import annotations

import sys
import threading

import holoviews as hv
import pytest
from holoviews.streams import Stream

from explorer.app.extensions import ensure_extensions


@pytest.fixture
def fast_switching():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns every few bytecodes, as on a busy server
    yield
    sys.setswitchinterval(before)


def test_reads_never_overlap_changes_made_in_other_threads(fast_switching):
    ensure_extensions()
    keep = [(hv.Curve([]), Stream()) for _ in range(200)]  # a registry of some size, as in a server
    for source, stream in keep:
        Stream.registry.register(source, stream)
    errors: list[BaseException] = []
    done = threading.Event()

    def change():
        try:
            for _ in range(500):
                source, stream = hv.Curve([]), Stream()
                Stream.registry.register(source, stream)
                Stream.registry.unregister(source, stream)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read():
        try:
            while not done.is_set():
                Stream.registry.items()
                Stream.registry.values()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=change) for _ in range(3)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    for source, stream in keep:
        Stream.registry.unregister(source, stream)
    assert errors == []
