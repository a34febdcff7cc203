"""What every input source offers: a kind, a description, iteration and clean closing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

ItemT = TypeVar("ItemT")


class Source(ABC, Generic[ItemT]):
    """An iterable input (frames for media, typed samples for scene files); a context manager.

    Subclasses set ``kind`` and implement ``__iter__`` and ``describe``; those holding an OpenCV
    capture release it in ``close`` (called on ``with`` exit and when iteration ends).
    """

    kind: ClassVar[str]

    @abstractmethod
    def __iter__(self) -> Iterator[ItemT]:
        """Yield items in time order."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Plain facts for logs and ``--json`` output: kind, source, size, fps, frames (None = unknown)."""

    def close(self) -> None:
        """Release held resources; safe to call more than once."""

    def __enter__(self) -> Source[ItemT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
