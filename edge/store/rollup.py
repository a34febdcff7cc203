"""One rule for merging consecutive window records into a coarser window.

Used by store retention (hourly roll-up, :mod:`edge.store.maintenance`) and by the outbox policy
(:mod:`edge.store.outbox_policy`), so a window rolled up on the device and one rolled up in the
outbox mean the same thing.

- counts (:data:`SUMMED_KEYS`) are summed;
- head counts (:data:`LEVEL_KEYS`) take the largest value;
- every other number is the duration-weighted mean of the non-null values (suppressed windows
  carry nulls for their rates, so they add nothing to a rate);
- lists (alerts) are concatenated; strings and booleans keep the latest value;
- ``n`` is the largest ``n`` among the unsuppressed windows (all windows when every one was
  suppressed): each window that contributes a rate passed the privacy gate with its own ``n``;
- the merge is ``suppressed`` only when all its windows were.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LEVEL_KEYS", "SUMMED_KEYS", "merge_metrics", "merge_window_records"]

# Event counts and accumulations: a longer window holds the sum of its parts.
SUMMED_KEYS = frozenset(
    {"hand_raises", "stand_events", "count", "minutes_ge_120", "trimp_edwards", "distance"}
)
# Head counts: "how many were there" over a longer window is the largest part's count.
LEVEL_KEYS = frozenset({"students_present", "participants"})


def merge_metrics(parts: list[tuple[Any, float]], key: str = "") -> Any:
    """Merge metric values, each given with its window's duration in seconds (rules above)."""
    values = [(v, w) for v, w in parts if v is not None]
    if not values:
        return None
    latest = values[-1][0]
    if isinstance(latest, dict):
        keys = dict.fromkeys(k for v, _ in values if isinstance(v, dict) for k in v)
        return {k: merge_metrics([(v.get(k), w) for v, w in values if isinstance(v, dict)], k)
                for k in keys}
    if isinstance(latest, list):
        return [item for v, _ in values if isinstance(v, list) for item in v]
    numbers = [(v, w) for v, w in values
               if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if isinstance(latest, (str, bool)) or not numbers:
        return latest
    if key in SUMMED_KEYS:
        return sum(v for v, _ in numbers)
    if key in LEVEL_KEYS:
        return max(v for v, _ in numbers)
    total = sum(w for _, w in numbers)
    if total <= 0:
        return sum(v for v, _ in numbers) / len(numbers)
    return round(sum(v * w for v, w in numbers) / total, 6)


def merge_window_records(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One coarser SPEC 5 window record from consecutive window records of one mode."""
    weights = [max(float(r["end"]) - float(r["start"]), 0.0) for r in records]
    open_ns = [r["n"] for r in records if not r.get("suppressed") and r.get("n") is not None]
    all_ns = [r["n"] for r in records if r.get("n") is not None]
    ns = open_ns or all_ns
    return {
        "type": "window",
        "mode": records[0].get("mode"),
        "start": min(float(r["start"]) for r in records),
        "end": max(float(r["end"]) for r in records),
        "n": max(ns) if ns else None,
        "suppressed": all(bool(r.get("suppressed")) for r in records),
        "metrics": merge_metrics([(r.get("metrics") or {}, w) for r, w in zip(records, weights)])
        or {},
        "rolled_up": sum(int(r.get("rolled_up") or 1) for r in records),
    }
