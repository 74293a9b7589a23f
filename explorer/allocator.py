"""Make the C allocator hand large freed blocks back to the system at once, in a served process.

Each render allocates and frees blocks of a megabyte or more: the frame's RGBA, its encoded
image, the planes the cache reads and evicts. glibc's ``malloc`` maps such a block on its own
and unmaps it when freed, but only while the block is above its *mmap threshold*. That threshold
rises to the size of every mapped block freed (up to 32 MB), so after the first frame is freed,
later frames come from the heap. The heap keeps what they leave behind: holes between live
objects that stay resident. Under load, a serving process held about 20 MB more than it used
this way. A fixed threshold (``M_MMAP_THRESHOLD``) turns the rise off, so large blocks keep
being mapped and unmapped.

Only glibc has ``mallopt``. Elsewhere (macOS, musl), :func:`map_large_blocks` does nothing and
says so.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
LARGE_BLOCK_BYTES = 256 * 1024  # a tile of a frame is smaller; frames, planes and encodings larger


def map_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """Serve blocks of ``threshold`` bytes or more from their own mappings, returned when freed.

    Returns True when the allocator took the setting (glibc), False where there is no
    ``mallopt``. Call it once, early in a server process: forked children inherit it.
    """
    if threshold <= 0:
        raise ValueError(f"threshold must be positive, not {threshold}")
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        log.debug("no mallopt in the C library %r: large blocks stay with the allocator's defaults", name)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, int(threshold)))
