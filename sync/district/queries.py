"""Read-side queries of the district page over the hub store (SQLite or PostgreSQL).

Only what the hub stores is shown: node state, health backlog and aggregates, all of which
passed the closed schema and carry the edge's own k-suppression (``values.suppressed``); a
suppressed window is shown as suppressed, never "unsuppressed" here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sync.hub_store import HubStore

__all__ = ["Scope", "alerts", "nodes"]

ALERT_KIND = "alert"
ALERT_LIMIT = 200


@dataclass(frozen=True)
class Scope:
    """What a caller may see: the whole district, or one school (``school``)."""

    role: str  # "district" or "school"
    school: str | None = None

    def allows(self, node_key: str) -> bool:
        """True when the node ``district/school/room/node`` is within this scope."""
        return self.role == "district" or node_key.split("/")[1] == self.school


def nodes(store: HubStore, scope: Scope, keepalive_s: float,
          now: float | None = None) -> list[dict[str, Any]]:
    """Every node in scope: online (from ``state`` and the Will), last seen, outbox backlog.

    A node whose last ``state``/``health`` is older than 1.5 keepalives *and* whose broker
    session is gone shows offline via its Will; ``stale`` flags a node that is online by its
    retained state but has sent nothing for longer than its health interval.
    """
    now = time.time() if now is None else now
    rows = store.connection.execute(
        f"SELECT node, online, session, updated, backlog, health_ts FROM {store.nodes} "
        "ORDER BY node").fetchall()
    out = []
    for node, online, session, updated, backlog, health_ts in rows:
        if not scope.allows(node):
            continue
        seen = max(v for v in (updated, health_ts, 0.0) if v is not None)
        district, school, room, node_id = node.split("/")
        out.append({"node": node, "school": school, "room": room, "id": node_id,
                    "online": bool(online), "session": int(session),
                    "last_seen": seen or None, "backlog": backlog,
                    "last_seen_age_s": round(now - seen, 1) if seen else None})
    return out


def alerts(store: HubStore, scope: Scope, since: float = 0.0) -> list[dict[str, Any]]:
    """The newest ``agg/alert`` records in scope (newest first) with their acknowledgement."""
    rows = store.connection.execute(store.sql(
        f"SELECT a.msg_id, a.node, a.window_start, a.payload, a.received, k.acked_by, "
        f"k.acked_at FROM {store.aggregates} a LEFT JOIN {store.acks} k "
        "ON k.msg_id = a.msg_id WHERE a.kind = ? AND a.received >= ? "
        "ORDER BY a.received DESC LIMIT ?"), (ALERT_KIND, since, ALERT_LIMIT)).fetchall()
    out = []
    for msg_id, node, start, payload, received, acked_by, acked_at in rows:
        if not scope.allows(node):
            continue
        values = json.loads(payload).get("values", {})
        out.append({"msg_id": msg_id, "node": node, "ts": start, "received": received,
                    "values": values, "acked_by": acked_by, "acked_at": acked_at})
    return out
