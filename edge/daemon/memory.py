"""Keep the daemon's resident memory flat (SPEC 10: <= 400 MB with one camera).

glibc gives every thread that allocates its own malloc arena (up to 8 per core), and memory freed
in an arena is seldom returned to the system. The daemon has many threads (capture, inference,
feeds, the web page's thread pool serving technician snapshots), so resident memory grew with
each thread that once did a large allocation. Two arenas are plenty for a process whose heavy
lifting happens inside onnxruntime and OpenCV.

Blocks of :data:`MMAP_THRESHOLD` and more (decoded frames, the pose network's input: ~6 MB
each) are mapped on their own and handed back when freed. glibc's default threshold rises to the
size of the largest block freed (up to 32 MB), after which such blocks came from the arenas and
stayed there, spread over the threads' arenas: measured on the demo with 10 technician
snapshots, 15 MB more resident before the snapshots and 6 MB more peak (24 and 51 MB before the
pose decoding upsampled its maps two channels at a time); CPU per analysed frame the same within
the noise. Freed heap is also handed back after one-off work (loading a model) and once a
minute. All of this is a no-op where glibc is not the C library.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["ARENAS", "MMAP_THRESHOLD", "configure_malloc", "release_free_memory"]

ARENAS = 2
MMAP_THRESHOLD = 4 * 1024 * 1024  # bytes
_M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


def configure_malloc(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's malloc arenas and fix its mmap threshold (call before the daemon starts its
    threads); False where that is not possible."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas)
                and libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def release_free_memory() -> None:
    """Return freed heap memory to the system (after a model load, say)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
