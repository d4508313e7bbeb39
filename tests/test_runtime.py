"""The interpreter's set-up: large buffers mapped on their own, rare collections, short turns."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from balance_exporter.runtime import GC_THRESHOLD, SWITCH_INTERVAL, tune_runtime

# In a fresh interpreter: free an 8 MiB buffer, make a 1 MiB one, and print how many bytes
# glibc holds in buffers mapped on their own (mallinfo2's hblkhd).
PROBE = """
import ctypes, sys
from balance_exporter.runtime import map_large_buffers
if sys.argv[1] == "tuned":
    assert map_large_buffers()
class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
big = bytearray(8 << 20)
del big
body = bytearray(1 << 20)
print(libc.mallinfo2().hblkhd)
"""


def mapped_after_a_big_free(mode: str) -> int:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own probe
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_buffer_made_after_a_bigger_one_was_freed_is_still_mapped_on_its_own() -> None:
    assert mapped_after_a_big_free("tuned") >= 1 << 20
    # glibc's own habit, which the tuning undoes: the 1 MiB buffer comes from the heap.
    assert mapped_after_a_big_free("default") < 1 << 20


def test_collections_are_rare_and_a_thread_hands_over_the_gil_within_a_millisecond() -> None:
    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    try:
        tune_runtime()
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
    finally:
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
