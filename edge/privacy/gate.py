"""The privacy gate (SPEC 3.3): every aggregate record passes here before it is stored or sent.

A record summarising fewer than ``privacy.min_group`` people has every rate or
per-person-derived value nulled and ``suppressed: true``; counts are kept. Engine results carry
the names of their rate values (``rate_keys``; a dotted name reaches into a nested block).
"""

from __future__ import annotations

import copy
from typing import Any

from edge.metrics.base import EngineResult

__all__ = ["aggregate_record", "gate"]


def gate(results: list[EngineResult], min_group: int) -> tuple[int | None, bool, dict[str, Any]]:
    """Merge engine results into ``(n, suppressed, metrics)`` with small groups suppressed.

    ``n`` is the largest group any engine summarised (None when no engine counts people).
    """
    metrics: dict[str, Any] = {}
    suppressed = False
    counted = [r.n for r in results if r.n is not None]
    for result in results:
        values = copy.deepcopy(result.metrics)
        if result.n is not None and result.n < min_group:
            suppressed = True
            for key in result.rate_keys:
                _null(values, key.split("."))
        metrics.update(values)
    return (max(counted) if counted else None), suppressed, metrics


def aggregate_record(
    kind: str, mode: str, start: float, end: float, results: list[EngineResult], min_group: int
) -> dict[str, Any]:
    """A SPEC 5 replay-output record (``type`` window or lesson), already gated."""
    n, suppressed, metrics = gate(results, min_group)
    return {
        "type": kind,
        "mode": mode,
        "start": round(start, 3),
        "end": round(end, 3),
        "n": n,
        "suppressed": suppressed,
        "metrics": _rounded(metrics),
    }


def _null(values: dict[str, Any], path: list[str]) -> None:
    head, *rest = path
    if head not in values:
        return
    if not rest:
        values[head] = None
    elif isinstance(values[head], dict):
        _null(values[head], rest)


def _rounded(value: Any) -> Any:
    """Floats to 4 decimals: aggregates do not need more, and records stay short."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
