"""Handing freed memory back to the operating system during long runs.

glibc keeps freed heap memory for reuse, and length-bucketed batches of ever different shapes leave it
fragmented, so resident memory crept up with the number of batches predicted: +25% from 10,000 to
1,000,000 sequences (docs/performance.md). ``release_free_memory`` calls ``malloc_trim(0)``, which returns
the free pages; prediction calls it once per window of batches (:mod:`seqrnn.inference.engine`). On other C
libraries (macOS, musl) it does nothing.

``tune_allocator`` stops glibc from returning memory between batches on its own. By default every
allocation above 128 KB (a batch's activations) is its own ``mmap`` and is unmapped when freed, and the
heap's top is trimmed at every large free, so each batch faulted in and zeroed its activations afresh:
kernel time was about 40% of a variants run. Prediction raises the mmap threshold to glibc's maximum
(32 MiB) and the trim threshold to 1 GiB, so freed activations are reused by the next batch; the
explicit trim once per window still bounds resident memory.

``cap_primitive_caches`` bounds the other thing that grew with the input: oneDNN and ideep (torch's CPU
RNN kernels) cache one compiled primitive per input shape, 1,024 each by default, and every new
(batch, length) pair of a long prediction kept ~0.8 MB. Prediction caps them at 64; training keeps the
defaults, because its many shapes recur every epoch and a 64-entry cache cost it 10-20% in speed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


# mallopt parameters (glibc malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024


@cache
def tune_allocator() -> bool:
    """Let freed batch activations be reused instead of unmapped and faulted in again (see the module
    docstring); once per process, for prediction. True if glibc took both settings."""
    if _malloc_trim() is None:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def release_free_memory() -> bool:
    """Return free heap pages to the OS; True if anything could be asked (glibc), else False."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def cap_primitive_caches(capacity: int = 64) -> None:
    """Bound oneDNN's and ideep's per-shape primitive caches. Torch reads these variables at the first
    RNN call of the process, so this only takes effect before one; a user's own setting wins."""
    for var in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
        os.environ.setdefault(var, str(capacity))
