"""Compile the numba kernels and touch datashader once per process, and build one page, so
nobody's first click (or first page) waits."""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.core.types import ID

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Compile the numba kernels and touch datashader once, so the first real view is fast.

    Runs parallel (OpenMP) code: a process that will fork must call it after the fork, not
    before (GNU OpenMP kills a forked child that runs parallel code after its parent did)."""
    from ..compute.catalog import histogram
    from ..render.raster import render_plane
    from ..render.stretch import compute_limits
    from ..repo.binning import bin_plane

    img = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    # masks as the cache holds them: narrowed to uint8 or uint16 (explorer.repo.bits), or as read
    for mask in (np.zeros((64, 64), np.int32), np.zeros((64, 64), np.uint16), np.zeros((64, 64), np.uint8)):
        mask[3, 3] = 3
        lim = compute_limits(img)
        for rng in (None, (10.0, 20.0)):  # downsampling and upsampling paths
            render_plane({"image": img, "mask": mask}, (0, 0), "image", lim, "asinh", {"BAD": 0, "SAT": 1},
                         ["BAD"], 0.5, rng, rng, 32, 32)
        render_plane({"image": img, "mask": mask}, (0, 0), "mask", lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                     None, None, 32, 32)

        def binned(name, factor, mask=mask):  # the pyramid path (block means and ORs) of wide views
            return bin_plane(mask if name == "mask" else img, factor, is_mask=(name == "mask"))

        for plane in ("image", "mask"):
            render_plane({"image": img, "mask": mask}, (0, 0), plane, lim, "zscale", {"BAD": 0}, ["BAD"], 0.5,
                         None, None, 8, 8, binned=binned)
    for arr in (img.ravel(), img.ravel().astype(np.float64), np.arange(10, dtype=np.int64),
                np.arange(10, dtype=np.int32)):
        for parallel in (False, True):  # short columns run serial kernels, long ones parallel ones
            histogram(arr, bins=10, parallel=parallel)
            histogram(arr, bins=10, log=True, parallel=parallel)


def warm_page(repo: str, repo_roots: Sequence[str] = ()) -> float:
    """Build one page of ``repo`` as a session would, then discard it; returns the seconds taken.

    A served process's first page costs about twice what later ones do (BENCHMARKS.md): the
    first use of HoloViews' plotting classes, of Bokeh's models and of the template, and the
    reading of the default view's data into the shared cache. Built here once per process, that
    wait is not the first visitor's. The page is released as the server releases a closed
    session's (its session-destroyed callbacks, then the document's ``destroy``), so nothing of
    it stays in memory."""
    from bokeh.document import Document

    from .page import Explorer

    start = time.perf_counter()
    doc = Document()
    Explorer(repo=repo, repo_roots=repo_roots).template().server_doc(doc)
    release_document(doc)
    return time.perf_counter() - start


def release_document(doc: Any) -> None:
    """Release a page's Bokeh document as Bokeh's server releases a closed session's: its
    session-destroyed callbacks (Panel's clean-ups), then the document's ``destroy``."""
    from bokeh.server.contexts import BokehSessionContext

    context = BokehSessionContext(ID("released"), None, doc)  # type: ignore[arg-type] - no server
    for callback in list(doc.callbacks.session_destroyed_callbacks):
        try:  # (as Bokeh's server does: Panel's template releases its document twice, and the second fails)
            callback(context)
        except Exception:  # noqa: BLE001 - a release that fails leaves memory, never the server, at stake
            log.debug("releasing a page: %s failed", callback, exc_info=True)
    doc.on_change(_no_session)  # (the server's session had subscribed to the document's changes)
    doc.destroy(_no_session)


def _no_session(_event: Any) -> None:
    """Stands for the server's session, subscribed to a document's changes until it is destroyed."""
