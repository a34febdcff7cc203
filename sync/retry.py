"""Edge side of hub receipts: when a PUBACKed row whose receipt is overdue goes out again.

Each row the broker PUBACKed waits ``timeout_s`` for a hub receipt, doubling per re-publish of
that row up to ``RETRY_CAP`` times the base (a hub that is away for hours is not flooded).
All in memory: after a restart every undelivered row is published again anyway.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterable

__all__ = ["RETRY_CAP", "RetryTimer"]

RETRY_CAP = 20  # a row's receipt timeout grows to at most 20x mqtt.receipt_timeout_s


class RetryTimer:
    """Receipt deadlines of PUBACKed rows (seq) on the current connection."""

    def __init__(self, timeout_s: float):
        self._timeout_s = timeout_s
        self._deadlines: list[tuple[float, int]] = []  # (re-publish deadline, seq) heap
        self._attempts: dict[int, int] = {}  # seq -> re-publishes so far (backoff)

    def reset(self) -> None:
        """A new connection: every undelivered row is published again from the start."""
        self._deadlines = []

    def waiting(self, seqs: Iterable[int]) -> None:
        """``seqs`` were PUBACKed: start their receipt timeouts."""
        now = time.monotonic()
        for seq in seqs:
            delay = self._timeout_s * min(2 ** self._attempts.get(seq, 0), RETRY_CAP)
            heapq.heappush(self._deadlines, (now + delay, seq))

    def overdue(self, limit: int) -> list[int]:
        """Up to ``limit`` seqs whose receipt is overdue (some may be delivered meanwhile)."""
        now = time.monotonic()
        due: list[int] = []
        while self._deadlines and self._deadlines[0][0] <= now and len(due) < limit:
            due.append(heapq.heappop(self._deadlines)[1])
        return due

    def republished(self, seq: int) -> None:
        """``seq`` went out again: its next timeout doubles."""
        self._attempts[seq] = self._attempts.get(seq, 0) + 1

    def confirmed(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Forget the backoff of receipted rows (their stale deadlines expire harmlessly)."""
        for low, high in ranges:
            if high - low < len(self._attempts):
                for seq in range(low, high + 1):
                    self._attempts.pop(seq, None)
            else:
                self._attempts = {s: n for s, n in self._attempts.items()
                                  if not low <= s <= high}
