"""Giving freed memory back to the operating system during long batch runs and in the
service.

Scoring allocates and frees many large, differently sized buffers (PyTorch activations of
batches padded to different lengths, Arrow and pandas frames).  glibc's allocator raises its
mmap threshold after such frees and then serves big blocks from the heap, which fragments
and is not returned: the resident set of a long run creeps up with the number of batches.
Two remedies keep the peak RSS that of one batch -- the property the chunked run promises:
:func:`limit_heap_growth` fixes the mmap threshold (blocks of 256 KiB and more are mapped
and unmapped, never left in the heap), and :func:`release_memory`, called after each batch
and each staged flush, hands free heap pages back.  The service's HTTP process does the same
for the buffers of uploads (which come in every size, on many threads).  Elsewhere than glibc
both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
MMAP_THRESHOLD_BYTES = 256 * 1024


@functools.cache
def _libc_function(name: str):
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        return getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):
        return None


@functools.cache
def limit_heap_growth() -> bool:
    """Fix glibc's mmap threshold for this process (once); True if it was set."""
    mallopt = _libc_function("mallopt")
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_memory() -> None:
    """Return free heap pages (glibc) and Arrow's unused pool memory to the system."""
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()
