"""How the interpreter is set up for thousands of accounts: the collector's pace, the allocator's
threshold for giving large buffers back, and how soon a thread hands over the GIL."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

# Allocations between two young-generation collections (Python's default is 700): thousands of
# accounts allocate millions of long-lived objects, and frequent collections scan them anew.
GC_THRESHOLD = 50_000

# glibc's mallopt parameter, and the size from which it maps a buffer of its own.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


# Seconds a thread holds the GIL while another waits for it (Python's default is 5 ms): the
# render thread gives the event loop its turn within a millisecond, so probes and scrapes
# answered on the loop wait at most that long behind a render.
SWITCH_INTERVAL = 0.001


def tune_runtime() -> None:
    collect_garbage_rarely()
    map_large_buffers()
    sys.setswitchinterval(SWITCH_INTERVAL)


def collect_garbage_rarely() -> None:
    gc.set_threshold(GC_THRESHOLD, 20, 100)


def map_large_buffers() -> bool:
    """Keep glibc mapping every buffer of 128 KiB or more on its own, so that freeing it gives
    the memory back. By default glibc raises that size to the largest buffer freed so far: once
    a body of several MiB is replaced, the next bodies come from the heap, whose freed pieces
    the process keeps (measured at 10,000 accounts: 12 MB more RSS). True when set."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl has no mallopt to speak of)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
