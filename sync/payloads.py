"""Payload builders and MQTT 5 publish properties for every message the edge sends (SPEC 7).

All payloads are compact UTF-8 JSON carrying a ``schema`` id (see :mod:`sync.contract`).
Properties: Payload Format Indicator 1 (UTF-8) and Content-Type ``application/json`` always;
Message Expiry only on health, commands and replies, never on aggregates (an aggregate queued
for an offline hub must never silently expire).
"""

from __future__ import annotations

import json
import time
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge import __version__
from models.runtime import manifest

from .contract import all_schemas, schema_id
from edge.store.outbox import OutboxRow

__all__ = [
    "HEALTH_EXPIRY_S",
    "REPLY_EXPIRY_S",
    "PayloadError",
    "aggregate_payload",
    "encode",
    "meta_payload",
    "publish_properties",
    "reply_payload",
    "state_payload",
]

HEALTH_EXPIRY_S = 300
REPLY_EXPIRY_S = 60
CONTENT_TYPE = "application/json"


class PayloadError(ValueError):
    """An outbox record that cannot be turned into a payload (corrupt JSON, missing fields)."""


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON bytes (no spaces: every byte counts on a metered school uplink)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def publish_properties(expiry_s: int | None = None, packet: int = PacketTypes.PUBLISH,
                       **extra: Any) -> Properties:
    """MQTT 5 properties for a JSON payload; ``expiry_s`` sets Message Expiry Interval.

    ``packet`` is ``PacketTypes.WILLMESSAGE`` for a Last Will. ``extra`` sets further
    properties by paho name (e.g. ``CorrelationData=b"..."``).
    """
    props = Properties(packet)
    props.PayloadFormatIndicator = 1
    props.ContentType = CONTENT_TYPE
    if expiry_s is not None:
        props.MessageExpiryInterval = int(expiry_s)
    for name, value in extra.items():
        setattr(props, name, value)
    return props


def aggregate_payload(row: OutboxRow, node_id: str, demo: bool = False) -> dict[str, Any]:
    """The ``agg/<kind>`` payload of an outbox row.

    ``values`` are the record's metrics plus ``suppressed``; ``quality`` comes from the record
    when the engine supplied it (unknown -> null, never invented); ``historical`` is true for
    rows replayed from backlog or rolled up.

    :raises PayloadError: when the stored record is not a usable JSON object.
    """
    try:
        record = json.loads(row.record)
    except (json.JSONDecodeError, TypeError) as exc:
        raise PayloadError(f"outbox seq {row.seq}: record is not JSON ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), dict):
        raise PayloadError(f"outbox seq {row.seq}: record has no metrics object")
    try:
        window = {"start": float(record["start"]), "end": float(record["end"])}
    except (KeyError, TypeError, ValueError):
        raise PayloadError(f"outbox seq {row.seq}: record has no numeric start/end") from None
    source_quality = record.get("quality") if isinstance(record.get("quality"), dict) else {}
    # Unknown quality members are left out rather than sent as null: bytes count on the uplink.
    quality: dict[str, Any] = {k: source_quality[k] for k in ("coverage", "sources_ok")
                               if source_quality.get(k) is not None}
    if int(record.get("rolled_up") or 0) >= 2:
        quality["rolled_up"] = int(record["rolled_up"])
    payload: dict[str, Any] = {
        "schema": schema_id(f"agg.{row.kind}"),
        "msg_id": f"{node_id}:{row.seq}",
        "seq": row.seq,
        "window": window,
        "n": record.get("n"),
        "values": {**record["metrics"], "suppressed": bool(record.get("suppressed", False))},
        "quality": quality,
        "historical": bool(row.historical or record.get("rolled_up")),
    }
    if row.kind == "lesson" and record.get("mode") in ("classroom", "pe"):
        payload["mode"] = record["mode"]  # the topic names the kind; only a lesson needs a mode
    if demo or record.get("demo"):
        payload["demo"] = True
    return payload


def state_payload(online: bool, session: int, ts: float | None = None) -> dict[str, Any]:
    """``state`` payload; the Last Will variant carries no ``ts`` (it is sent by the broker)."""
    payload: dict[str, Any] = {"schema": schema_id("state"), "online": online, "session": session}
    if online:
        payload["ts"] = round(time.time() if ts is None else ts, 3)
    return payload


def reply_payload(verb: str, ok: bool, result: dict | None = None,
                  error: str | None = None) -> dict[str, Any]:
    """Answer to a hub command (``ok`` with ``result``, or ``error``)."""
    payload: dict[str, Any] = {
        "schema": schema_id("reply"), "ok": ok, "verb": verb[:64], "ts": round(time.time(), 3),
    }
    if result is not None:
        payload["result"] = result
    if error is not None:
        payload["error"] = error
    return payload


def meta_payload(node_id: str, sources: list[str] | None = None,
                 demo: bool = False) -> dict[str, Any]:
    """Retained ``meta``: software version, schema ids, models (id + sha256), sources."""
    payload: dict[str, Any] = {
        "schema": schema_id("meta"),
        "version": __version__,
        "node": node_id,
        "schemas": {name: schema_id(name) for name in all_schemas()},
        "models": [{"id": e.name, "sha256": e.sha256} for e in manifest().values()],
        "sources": sorted(sources or []),
        "ts": round(time.time(), 3),
    }
    if demo:
        payload["demo"] = True
    return payload
