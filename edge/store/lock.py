"""One daemon per store: an exclusive lock on ``<store>.lock`` for as long as ``edge run`` lives.

Two daemons writing one store would both write every window (and both publish them). The lock
is a BSD ``flock`` on a companion file, not on the database: SQLite's own (POSIX) locks on the
database are independent of it, and store recovery may move the database file aside while the
lock must stay. The kernel drops the lock when the process dies, so a crash never leaves a
stale lock behind; the file holds the owner's pid only to name it in the error.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Self

from .store import StoreError

__all__ = ["StoreLock", "StoreLocked"]


class StoreLocked(StoreError):
    """Another process holds the store's lock."""


class StoreLock:
    """``with StoreLock(path):`` holds the lock of the store at ``path``.

    :raises StoreLocked: when another process holds it.
    :raises StoreError: when the lock file cannot be created (e.g. a read-only directory).
    """

    def __init__(self, store_path: str | Path):
        self.store_path = Path(store_path)
        self.path = self.store_path.with_name(self.store_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now, or fail at once (never waits)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.store_path}: cannot create the lock file {self.path}: "
                             f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(
                f"{self.store_path}: in use by another edge process (pid {holder}); stop it "
                "first, or give each daemon its own store.path") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (the file stays: deleting it would race a starting daemon)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
