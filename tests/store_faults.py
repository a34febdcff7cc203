"""Real faults under a store, for tests and bench/faults.py: read-only and full filesystems.

Mounting needs root (the CI container has it); :func:`can_mount` says whether this machine can,
so callers skip with that reason otherwise. Nothing is mocked: SQLite sees the kernel's EROFS
and ENOSPC.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["can_mount", "fill_disk", "read_only_file", "read_only_mount", "small_tmpfs"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


def can_mount() -> str | None:
    """None when tmpfs and bind mounts can be made here, else why not."""
    if os.geteuid() != 0:
        return "mounting a read-only or full filesystem needs root"
    return None


@contextlib.contextmanager
def small_tmpfs(folder: Path, size_kb: int = 4096) -> Iterator[Path]:
    """A fresh tmpfs of ``size_kb`` mounted at ``folder`` for the duration."""
    folder.mkdir(parents=True, exist_ok=True)
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder))
    if done.returncode != 0:
        raise OSError(f"tmpfs mount failed: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        _run("umount", "-l", str(folder))


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[Path]:
    """The tmpfs at ``folder`` remounted read-only (no file may be open for writing)."""
    done = _run("mount", "-o", "remount,ro", str(folder))
    if done.returncode != 0:
        raise OSError(f"remount ro failed: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        _run("mount", "-o", "remount,rw", str(folder))


@contextlib.contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """``path`` read-only (a read-only bind mount over it) while its directory stays writable:
    SQLite then opens it read-only without a word, as it does a 0444 file for a non-root user."""
    for args in (("mount", "--bind", str(path), str(path)),
                 ("mount", "-o", "remount,ro,bind", str(path))):
        done = _run(*args)
        if done.returncode != 0:
            raise OSError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    try:
        yield path
    finally:
        _run("umount", str(path))


@contextlib.contextmanager
def fill_disk(folder: Path) -> Iterator[Path]:
    """Fill the filesystem of ``folder`` to the last byte; the filler goes on exit."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 16, 512, 1):  # unbuffered: every byte that fits is written
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    try:
        yield filler
    finally:
        filler.unlink(missing_ok=True)
