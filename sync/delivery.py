"""The publisher's delivery bookkeeping: which outbox rows are on the wire, which are delivered.

* Rows go out in ``seq`` order from a cursor, at most ``mqtt.max_inflight`` not yet PUBACKed.
  paho's ``mid`` is mapped to ``seq`` in memory only; a successful PUBACK is recorded
  (``broker_acked_at``), never the return of ``publish()``.
* ``delivery = "hub"``: a row is delivered (``sent_at``) only when a hub receipt covers it
  (:mod:`sync.receipts`); a row PUBACKed but not receipted within ``mqtt.receipt_timeout_s``
  is due again, the timeout doubling per attempt (:mod:`sync.retry`).
  ``delivery = "broker"``: the PUBACK itself marks the row delivered.
* The high-water mark (highest seq ever handed to the MQTT client) is persisted before such a
  row can reach the hub: the outbox roll-up policy must never merge rows the hub may hold.

No MQTT here: :class:`sync.publisher.OutboxPublisher` owns the connection and calls in from its
one thread (paho callbacks included), so nothing needs a lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

from edge.store import outbox

from .receipts import ReceiptError, covered_ranges
from .retry import RetryTimer

__all__ = ["Delivery"]

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.5  # how often an empty outbox is looked at again


class Delivery:
    """In-flight rows, PUBACKs and receipts of the outbox on ``db`` (store ``epoch``).

    :param counters: the publisher's counters; ``acked``, ``confirmed``, ``republished``,
        ``rejected`` and ``bad_receipts`` are counted here.
    """

    def __init__(self, db: sqlite3.Connection, epoch: str, hub_delivery: bool,
                 receipt_timeout_s: float, max_inflight: int, counters: dict[str, int]):
        self._db, self._epoch, self._hub_delivery = db, epoch, hub_delivery
        self._max_inflight, self.counters = max_inflight, counters
        self._retry = RetryTimer(receipt_timeout_s)
        self.inflight: dict[int, int] = {}  # paho mid -> outbox seq, this connection only
        self._acked: list[int] = []
        self._cursor = 0  # highest seq handed to this connection
        self._high_water = outbox.get_counter(db, outbox.HIGH_WATER_KEY)
        self._next_poll = 0.0

    def reset(self) -> None:
        """A new connection: nothing in flight, every undelivered row goes out again."""
        self.inflight, self._acked, self._cursor = {}, [], 0
        self._retry.reset()
        self._next_poll = 0.0

    def rewind(self) -> None:
        """Re-read every undelivered row (hub-requested resync); in-flight rows are skipped."""
        self._cursor = 0
        self._next_poll = 0.0

    def lost_connection(self) -> None:
        """Record what was PUBACKed; what is still in flight goes out on the next connection."""
        self.flush()
        self.inflight = {}

    def rows_to_send(self) -> list[outbox.OutboxRow]:
        """Flush recorded PUBACKs; the next rows that fit the in-flight window, in seq order."""
        free = self._max_inflight - len(self.inflight)
        rows: list[outbox.OutboxRow] = []
        now = time.monotonic()
        if free > 0 and (now >= self._next_poll or self._acked):
            rows = outbox.unsent_after(self._db, self._cursor, free)
            in_flight = set(self.inflight.values())
            rows = [r for r in rows if r.seq not in in_flight]
            if not rows:
                self._next_poll = now + IDLE_POLL_S
        top = max((r.seq for r in rows), default=0)
        if self._acked or top > self._high_water:
            # One transaction: record PUBACKs, and persist the high-water mark *before* the
            # rows can reach the hub (the roll-up policy must never merge such rows).
            with outbox.atomic(self._db):
                self._record_acks()
                if top > self._high_water:
                    outbox.set_counter(self._db, outbox.HIGH_WATER_KEY, top)
            self._high_water = max(self._high_water, top)
        return rows

    def overdue_rows(self) -> list[outbox.OutboxRow]:
        """PUBACKed rows whose receipt is overdue (within the free window), to publish again."""
        due = self._retry.overdue(self._max_inflight - len(self.inflight))
        if not due:
            return []
        in_flight = set(self.inflight.values())
        rows = [r for r in outbox.rows_by_seq(self._db, due) if r.seq not in in_flight]
        if rows:
            log.info("mqtt: %d rows not receipted by the hub in time; publishing again",
                     len(rows))
        for row in rows:
            self._retry.republished(row.seq)
            self.counters["republished"] += 1
        return rows

    def handed(self, seq: int) -> None:
        """``seq`` was taken from the outbox for this connection (sent or skipped)."""
        self._cursor = max(self._cursor, seq)

    def published(self, mid: int, seq: int) -> None:
        """paho accepted ``seq`` as message ``mid``; its PUBACK is awaited."""
        self.inflight[mid] = seq

    def puback(self, mid: int, reason_code: Any) -> None:
        """The broker's PUBACK of ``mid`` (recorded with the next flush)."""
        seq = self.inflight.pop(mid, None)
        if seq is None:  # state, meta, health or a reply
            return
        if reason_code.is_failure:
            # e.g. 0x87 not authorized: stays unsent, retried on the next connection.
            self.counters["rejected"] += 1
            log.warning("mqtt: broker rejected outbox seq %d: %s", seq, reason_code)
            return
        self._acked.append(seq)  # 0x00 success or 0x10 no matching subscribers

    def receipt(self, payload: bytes) -> None:
        """A hub receipt: mark the rows it covers delivered (never raises into paho's loop)."""
        try:
            ranges = covered_ranges(payload, self._epoch)
        except ReceiptError as exc:
            self.counters["bad_receipts"] += 1
            log.warning("mqtt: receipt ignored: %s", exc)
            return
        try:
            self.flush()  # a receipt can overtake the PUBACK bookkeeping of the same rows
            self.counters["confirmed"] += outbox.confirm_ranges(self._db, ranges)
        except sqlite3.Error as exc:  # the receipt comes again
            log.error("outbox: cannot record receipt: %s", exc)
            return
        self._retry.confirmed(ranges)

    def flush(self) -> None:
        """Write the PUBACKs collected so far in one transaction."""
        if self._acked:
            with outbox.atomic(self._db):
                self._record_acks()

    def _record_acks(self) -> None:
        """Write the PUBACKs collected since the last call (caller owns the transaction)."""
        if not self._acked:
            return
        outbox.mark_broker_acked(self._db, self._acked)
        if self._hub_delivery:
            self._retry.waiting(self._acked)
        else:
            outbox.mark_sent(self._db, self._acked)
        self.counters["acked"] += len(self._acked)
        self._acked = []
