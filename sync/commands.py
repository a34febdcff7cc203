"""Hub -> edge commands on ``cmd/<verb>``, answered on the MQTT 5 Response Topic.

Verbs: ``ping`` (liveness, session and outbox depth) and ``resync`` (``{"seq": N}``: mark every
outbox row from ``N`` on unsent and historical, so it is published again). Anything else, or a
payload that is not a valid command, is answered with ``{"ok": false, "error": ...}`` and
never executed. The reply goes to the request's Response Topic with its Correlation Data, or
to ``<prefix>reply/<verb>`` when the request has none; replies expire (Message Expiry).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties

from edge.store import outbox
from sensors.untrusted_json import UntrustedJson, loads_bounded

from .contract import validator
from .payloads import REPLY_EXPIRY_S, publish_properties, reply_payload
from .topics import NodeTopics

__all__ = ["MAX_COMMAND_BYTES", "CommandContext", "CommandReply", "handle_command"]

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 4096
_VERB = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class CommandContext:
    """What a command may act on."""

    db: sqlite3.Connection
    node_id: str
    session: int
    topics: NodeTopics


@dataclass(frozen=True)
class CommandReply:
    """The answer to publish, and whether the publisher must re-read the outbox."""

    topic: str
    payload: dict[str, Any]
    properties: Properties
    resync_from: int | None = None


class _Rejected(Exception):
    """A command that is answered with an error and not executed."""


def _ping(args: dict[str, Any], ctx: CommandContext) -> dict[str, Any]:
    return {"node": ctx.node_id, "session": ctx.session,
            "unsent": outbox.stats(ctx.db).unsent}


def _resync(args: dict[str, Any], ctx: CommandContext) -> dict[str, Any]:
    if "seq" not in args:
        raise _Rejected("resync needs {\"seq\": N}")
    seq = int(args["seq"])  # the schema bounds it to a SQLite integer
    rows = outbox.mark_unsent_from(ctx.db, seq)
    log.info("command resync from seq %d: %d rows will be re-sent", seq, rows)
    return {"from_seq": seq, "rows": rows}


VERBS: dict[str, Callable[[dict[str, Any], CommandContext], dict[str, Any]]] = {
    "ping": _ping, "resync": _resync,
}


def handle_command(message: mqtt.MQTTMessage, ctx: CommandContext) -> CommandReply:
    """Validate and execute one command message; always returns a reply (never raises)."""
    verb = message.topic[len(ctx.topics.prefix + "cmd/"):]
    props = getattr(message, "properties", None)
    response_topic = getattr(props, "ResponseTopic", None)
    correlation = getattr(props, "CorrelationData", None)
    if not response_topic or any(c in response_topic for c in "+#") or len(response_topic) > 256:
        response_topic = ctx.topics.reply(verb if _VERB.match(verb) else "error")
    extra = {"CorrelationData": correlation} if correlation else {}
    reply_props = publish_properties(REPLY_EXPIRY_S, **extra)
    try:
        if message.retain:
            # A command is a request of this moment; retained, it would run again (or fail
            # again) on every connection of every start.
            raise _Rejected("retained commands are not executed")
        args = _parse(verb, message.payload)
        result = VERBS[verb](args, ctx)
        payload = reply_payload(verb, True, result=result)
        resync = int(args["seq"]) if verb == "resync" else None
        return CommandReply(response_topic, payload, reply_props, resync)
    except _Rejected as exc:
        log.warning("command %r rejected: %s", verb[:64], exc)
        return CommandReply(response_topic, reply_payload(verb, False, error=str(exc)),
                            reply_props)
    except Exception as exc:  # noqa: BLE001 - runtime failure: answered, never fatal
        log.error("command %r failed: %s: %s", verb[:64], type(exc).__name__, exc)
        return CommandReply(response_topic, reply_payload(verb, False, error=f"failed: {exc}"),
                            reply_props)


def _parse(verb: str, payload: bytes) -> dict[str, Any]:
    if not _VERB.match(verb) or verb not in VERBS:
        raise _Rejected(f"unknown command {verb[:64]!r} (known: {', '.join(sorted(VERBS))})")
    if not payload.strip():
        return {}
    try:
        args = loads_bounded(payload, max_bytes=MAX_COMMAND_BYTES)
    except UntrustedJson as exc:
        raise _Rejected(f"command payload refused: {exc}") from None
    errors = sorted(validator("command").iter_errors(args), key=str)
    if errors:
        raise _Rejected(f"invalid command: {errors[0].message}")
    return args
