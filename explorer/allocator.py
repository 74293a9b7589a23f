"""Make the C allocator keep less of what a served process frees.

Two glibc defaults cost a serving process memory it no longer uses:

* **The rising mmap threshold.** Each render allocates and frees blocks of a megabyte or more:
  the frame's RGBA, its encoded image, the planes the cache reads and evicts. glibc's ``malloc``
  maps such a block on its own and unmaps it when freed, but only while the block is above its
  *mmap threshold*. That threshold rises to the size of every mapped block freed (up to 32 MB),
  so after the first frame is freed, later frames come from the heap. The heap keeps what they
  leave behind: holes between live objects that stay resident. Under load, a serving process
  held about 20 MB more than it used this way. A fixed threshold (``M_MMAP_THRESHOLD``) turns the
  rise off, so large blocks keep being mapped and unmapped.
* **An arena per thread.** A thread's first ``malloc`` gets an arena of its own, up to eight per
  core, and each arena keeps its freed chunks for that arena's later use. A server has about ten
  threads (Tornado's loop, numba's and Dask's workers, the background fetches); on two cores,
  two arenas (``M_ARENA_MAX``) held 25 MB less over 20 sessions (BENCHMARKS.md).

Only glibc has ``mallopt``. Elsewhere (macOS, musl) these functions do nothing and say so.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Optional

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
M_ARENA_MAX = -8
LARGE_BLOCK_BYTES = 256 * 1024  # a tile of a frame is smaller; frames, planes and encodings larger
SERVING_ARENAS = 2


def _mallopt() -> Optional[ctypes._CFuncPtr]:
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no mallopt in the C library %r: the allocator keeps its defaults", name)
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def map_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Serve blocks of ``threshold`` bytes or more from their own mappings, returned when freed.

    Returns True when the allocator took the setting (glibc), False where there is no
    ``mallopt``. Forked children inherit it.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, not {threshold}")
    mallopt = _mallopt()
    return bool(mallopt and mallopt(M_MMAP_THRESHOLD, int(threshold)))


def limit_arenas(arenas: int = SERVING_ARENAS) -> bool:
    """Let threads share at most ``arenas`` malloc arenas (threads started later included).

    Returns True when the allocator took the setting (glibc), False where there is no
    ``mallopt``. Arenas made before the call stay.
    """
    if arenas <= 0:
        raise ValueError(f"arenas must be positive, not {arenas}")
    mallopt = _mallopt()
    return bool(mallopt and mallopt(M_ARENA_MAX, int(arenas)))


def tune_for_serving() -> bool:
    """Both settings, as a server process wants them: call it once, early, before any fork and
    before the threads start. Returns True when both were taken."""
    mapped = map_large_blocks()
    limited = limit_arenas()
    return mapped and limited
