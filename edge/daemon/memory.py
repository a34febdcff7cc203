"""Keep the daemon's resident memory flat (SPEC 10: <= 400 MB with one camera).

glibc gives every thread that allocates its own malloc arena (up to 8 per core), and memory freed
in an arena is seldom returned to the system. The daemon has many threads (capture, inference,
feeds, the web page's thread pool serving technician snapshots), so resident memory grew with
each thread that once did a large allocation. Two arenas are plenty for a process whose heavy
lifting happens inside onnxruntime and OpenCV; and freed heap is handed back after one-off work
(loading and rewriting a model) and once a minute (what technician snapshots left behind). Both are no-ops where glibc is not the C library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["ARENAS", "limit_malloc_arenas", "release_free_memory"]

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") else None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (call before the daemon starts its threads); False elsewhere."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas))


def release_free_memory() -> None:
    """Return freed heap memory to the system (after a model load, say)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
