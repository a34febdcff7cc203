"""The one error every source raises for bad input: which file (or stream) and what is wrong."""

from __future__ import annotations

from pathlib import Path


class SourceError(Exception):
    """An input that cannot be read: missing, unreadable, corrupt, malformed or unreachable.

    ``str(error)`` is one line, ``"SOURCE:LINE: problem"`` (or ``"SOURCE: problem"`` without a
    line), ready for a CLI to print and exit 2. The arguments stay in ``args`` so the error
    pickles across processes.

    :param source: file path or (credential-free) stream name
    :param problem: what is wrong, in a few words
    :param line: 1-based line number for line-oriented files
    """

    def __init__(
        self, source: str | Path, problem: str = "cannot be read", line: int | None = None
    ):
        super().__init__(str(source), problem, line)
        self.source = str(source)
        self.problem = problem
        self.line = line

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.problem}"
