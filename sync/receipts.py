"""Hub receipts (SPEC 7): what the hub committed, so the edge knows what was really delivered.

A receipt is published by the hub to ``cls/v1/<district>/<school>/<room>/<node>/receipt``
(QoS 1) after the store committed a batch of that node's aggregates::

    {"schema": "cls.receipt/v1", "epoch": "3f2a...", "from": 101, "upto": 180,
     "gaps": [[150, 152]], "ts": ...}

meaning: every seq from ``from`` to ``upto`` of store epoch ``epoch`` is committed at the hub
(newly stored or already there), except the inclusive ``gaps`` ranges. Each hub worker
receipts exactly what it committed itself, so receipts stay exact when several workers share
one subscription. Receipts are idempotent: a lost one only costs a re-publish, which the hub
absorbs as a duplicate and receipts again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sensors.untrusted_json import UntrustedJson, loads_bounded

from .contract import RECEIPT_MAX_GAPS, schema_id, validator
from .topics import receipt_topic

__all__ = ["MAX_RECEIPT_BYTES", "ReceiptBatch", "ReceiptError", "covered_ranges",
           "receipt_payloads"]

MAX_RECEIPT_BYTES = 16 * 1024


class ReceiptError(ValueError):
    """A receipt the edge cannot use (the text says why)."""


def _runs(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted distinct seqs -> inclusive runs of consecutive seqs."""
    runs: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def receipt_payloads(epoch: str, seqs: Iterable[int],
                     now: float | None = None) -> list[dict[str, Any]]:
    """Receipt payloads covering exactly ``seqs`` (split so none has too many gaps)."""
    runs = _runs(seqs)
    ts = round(time.time() if now is None else now, 3)
    payloads = []
    for start in range(0, len(runs), RECEIPT_MAX_GAPS + 1):
        chunk = runs[start:start + RECEIPT_MAX_GAPS + 1]
        gaps = [[a[1] + 1, b[0] - 1] for a, b in zip(chunk, chunk[1:], strict=False)]
        payloads.append({"schema": schema_id("receipt"), "epoch": epoch, "from": chunk[0][0],
                         "upto": chunk[-1][1], "gaps": gaps, "ts": ts})
    return payloads


def covered_ranges(payload: bytes, epoch: str) -> list[tuple[int, int]]:
    """The inclusive seq ranges a receipt confirms for the store with ``epoch``.

    :raises ReceiptError: when the receipt is oversized, not valid, or for another epoch
        (e.g. a receipt for the store this one replaced).
    """
    try:
        data = loads_bounded(payload, max_bytes=MAX_RECEIPT_BYTES)
    except UntrustedJson as exc:
        raise ReceiptError(f"receipt refused: {exc}") from None
    error = next(iter(validator("receipt").iter_errors(data)), None)
    if error is not None:
        raise ReceiptError(f"invalid receipt: {error.message[:200]}")
    if data["epoch"] != epoch:
        raise ReceiptError(f"receipt for store epoch {data['epoch']!r}, this store is {epoch!r}")
    low, high = data["from"], data["upto"]
    ranges, cursor = [], low
    for gap_low, gap_high in sorted(data["gaps"]):
        if not low < gap_low <= gap_high < high or gap_low < cursor:
            raise ReceiptError(f"receipt gap [{gap_low}, {gap_high}] outside {low}..{high}")
        ranges.append((cursor, gap_low - 1))
        cursor = gap_high + 1
    if cursor > high:
        raise ReceiptError("receipt covers nothing")
    ranges.append((cursor, high))
    return ranges


@dataclass
class ReceiptBatch:
    """Hub side: seqs of the open store transaction, per node and epoch.

    The hub adds each aggregate written (or found already stored) and takes the receipts
    after the commit, so a burst costs one receipt per node, not one per message.
    """

    _pending: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, node_key: str, epoch: str, seq: int) -> None:
        """Remember that ``seq`` of ``node_key``'s store ``epoch`` is in this batch."""
        self._pending.setdefault((node_key, epoch), []).append(seq)

    def take(self) -> list[tuple[str, bytes]]:
        """(topic, payload) of every receipt of the batch; empties it."""
        out = []
        for (node_key, epoch), seqs in self._pending.items():
            topic = receipt_topic(node_key)
            out += [(topic, json.dumps(p, separators=(",", ":")).encode())
                    for p in receipt_payloads(epoch, seqs)]
        self._pending = {}
        return out
