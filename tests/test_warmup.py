"""The served process's warm-up page (explorer.app.warmup.warm_page, explorer.server._warm_page)."""
from __future__ import annotations

import gc
import weakref

import panel as pn
from bokeh.document import Document

from explorer.app import Explorer
from explorer.app.warmup import release_document, warm_page
from explorer.repo.cache import shared_cache
from explorer.server import _warm_page


def test_the_warm_up_page_reads_the_default_view_and_leaves_no_page_behind(sample_gen3):
    cache = shared_cache()
    cache.clear()
    views, templates = set(pn.state._views), set(pn.state._templates)

    assert warm_page(str(sample_gen3)) > 0

    assert cache.stats().bytes > 0  # the default view's data, read for the first visitor
    assert set(pn.state._views) == views  # released as a closed session is
    assert set(pn.state._templates) == templates
    misses = cache.stats().misses
    Explorer(repo=str(sample_gen3)).template().server_doc(Document())  # the first visitor's page
    assert cache.stats().misses == misses  # every read was already done


def test_the_warm_up_of_a_repository_that_does_not_open_neither_fails_nor_stays(tmp_path):
    views = set(pn.state._views)
    _warm_page(str(tmp_path / "no-such-repository"), ())  # (its visitors' pages will say why)
    assert set(pn.state._views) == views


def _served_and_closed(repo):
    """A weak reference to a page built into a document, every tool opened, and then released as
    the server releases a closed session (the document itself goes with the session)."""
    doc = Document()
    page = Explorer(repo=repo)
    page.template().server_doc(doc)
    page.open_tools()  # (every tool: any plot hook that holds its panel keeps the page)
    freed = weakref.ref(page)
    release_document(doc)
    return freed


def test_a_closed_page_is_freed_with_its_plots(sample_gen3):
    """HoloViews keeps every element's options, hooks included, in a process-wide tree until the
    elements that use it are collected: a hook that held a panel kept every page a server had
    served in memory. Released as the server releases a closed session, a page must be freed."""
    freed = _served_and_closed(str(sample_gen3))
    gc.collect()
    assert freed() is None
