"""explorer.allocator: freed large blocks leave the process at once (glibc)."""
from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

# In a fresh interpreter: free a 16 MB block (glibc's default then raises its mmap threshold to
# 16 MB), then allocate 4 MB and report whether it got a mapping of its own (mallinfo2's hblkhd).
PROBE = r"""
import ctypes, json, sys
import numpy as np
if sys.argv[1] == "tuned":
    from explorer.allocator import map_large_blocks
    assert map_large_blocks()
libc = ctypes.CDLL("libc.so.6")
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = Info
big = np.ones(16 * 2**20, np.uint8)
del big
before = libc.mallinfo2().hblkhd
block = np.ones(4 * 2**20, np.uint8)
print(json.dumps({"mapped": libc.mallinfo2().hblkhd - before}))
"""


def _mapped_bytes(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)["mapped"]


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_large_blocks_are_mapped_after_a_larger_one_was_freed():
    assert _mapped_bytes("default") < 4 * 2**20  # the rise: from the heap, where its pages stay
    assert _mapped_bytes("tuned") >= 4 * 2**20  # its own mapping, unmapped when freed


def test_a_threshold_must_be_positive():
    from explorer.allocator import map_large_blocks

    with pytest.raises(ValueError, match="positive"):
        map_large_blocks(0)
