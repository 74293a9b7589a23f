"""explorer.app.option_trees: HoloViews' option trees are cleaned up safely when two clean-ups for
one id run at once (a collection nested in one, or another thread)."""
from __future__ import annotations

import gc
import threading
import weakref

import holoviews as hv
import pytest
from holoviews.core.options import Store

from explorer.app.extensions import ensure_extensions
from explorer.app.option_trees import cleanup_custom_options


@pytest.fixture(autouse=True)
def bokeh_backend():
    ensure_extensions()


class _Dead:
    """A weak reference whose element is gone; calling it first runs the clean-up for the same id,
    as a collection starting inside the clean-up runs the freed element's callback."""

    def __init__(self, id: int, nested: bool):
        self.id, self.nested = id, nested

    def __call__(self):
        if self.nested:
            self.nested = False
            from holoviews.core import options

            options.cleanup_custom_options(self.id, self)
        return None


def test_a_cleanup_nested_in_another_for_the_same_id_neither_raises_nor_leaves_the_tree():
    from holoviews.core import options

    assert options.cleanup_custom_options is cleanup_custom_options  # installed by the page's extensions
    oid = 10**9 + 7
    Store._custom_options["bokeh"][oid] = Store.options(backend="bokeh")
    Store._weakrefs[oid] = [_Dead(oid, nested=True), _Dead(oid, nested=False)]
    options.cleanup_custom_options(oid)  # HoloViews' own raised RuntimeError here (list.remove)
    assert oid not in Store._custom_options["bokeh"] and oid not in Store._weakrefs


def test_an_element_given_options_keeps_its_tree_while_alive_and_frees_it_after():
    curve = hv.Curve([1, 2, 3]).opts(color="red", backend="bokeh")
    oid = curve.id
    assert oid in Store._custom_options["bokeh"]
    twin = curve.clone()  # the same tree
    ref = weakref.ref(twin)
    del curve
    gc.collect()
    assert oid in Store._custom_options["bokeh"]  # the clone still uses it
    del twin
    gc.collect()
    assert ref() is None and oid not in Store._custom_options["bokeh"] and oid not in Store._weakrefs


def test_threads_cleaning_up_one_id_at_once():
    oid = 10**9 + 11
    Store._custom_options["bokeh"][oid] = Store.options(backend="bokeh")
    Store._weakrefs[oid] = [_Dead(oid, nested=False) for _ in range(2000)]
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run():
        start.wait()
        try:
            for _ in range(50):
                cleanup_custom_options(oid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and oid not in Store._custom_options["bokeh"] and oid not in Store._weakrefs
