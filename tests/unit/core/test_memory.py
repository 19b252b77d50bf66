"""release_free_memory hands freed heap pages back on glibc: resident memory drops after a trim."""

from __future__ import annotations

import platform

import pytest

from seqrnn.core.memory import release_free_memory


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trim_returns_fragmented_heap_to_the_os() -> None:
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    # 64 KiB blocks come from the heap (below the mmap threshold); free every other one, so the heap
    # cannot shrink from the top and only a trim can return the holes (~64 MiB).
    blocks = [libc.malloc(64 * 1024) for _ in range(2000)]
    for b in blocks:
        ctypes.memset(b, 1, 64 * 1024)
    for b in blocks[:-1:2]:
        libc.free(b)
    before = _rss_kb()
    assert release_free_memory() is True
    after = _rss_kb()
    for b in blocks[1::2]:
        libc.free(b)
    assert before - after > 32 * 1024  # at least half of the ~64 MiB of holes went back
