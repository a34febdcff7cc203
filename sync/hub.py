"""Hub ingest (`edge hub`): every aggregate exactly once in the hub store, nodes' online state.

* Persistent MQTT 5 session: fixed client id, ``clean_start=False`` and a Session Expiry
  Interval, so the broker queues QoS 1 messages while the hub is away. Optionally an MQTT 5
  shared subscription (``$share/<group>/cls/v1/#``) so several hub workers split the load.
* Messages are written in batched transactions (committed after ``BATCH_MAX`` messages or
  ``BATCH_MAX_S``: one fsync per batch, not per message) and acknowledged manually only after the commit (a rejected message too). A store
  failure rolls the batch back, leaves its messages unacknowledged and forces a reconnect, so
  the broker delivers them again: nothing is lost, duplicates are absorbed by the ``msg_id``
  upsert.
* Every payload is size-checked, parsed and validated against its published schema; a bad one
  is logged with its reason and dropped. Nothing a client sends can stop the hub.
* After each commit the batch's (node, store epoch, seq) are published as receipts to each
  node's ``receipt`` topic (:mod:`sync.receipts`); duplicates are receipted too (the edge may have missed the first receipt). A duplicate ``msg_id`` whose
  content differs from the stored one (other than ``historical``) is kept as first stored
  and logged: it means a node reused ids.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import MqttConfig
from sensors.untrusted_json import UntrustedJson, loads_bounded

from .connection import make_client, reconnect_backoff
from .contract import payload_problem, schema_id, validator
from .hub_store import HubStore, StoreError
from .receipts import ReceiptBatch
from .topics import AGG_KINDS, ParsedTopic, parse_topic, subscription

__all__ = ["Hub", "HubOptions", "Rejected"]

log = logging.getLogger(__name__)


BATCH_MAX = 500  # messages per transaction at most
BATCH_MAX_S = 0.02  # and never older than this before commit, acks and receipts
RECEIPTS_IN_FLIGHT = 1000


class Rejected(ValueError):
    """A message the hub refuses (the text is the logged reason)."""


class _StoreFailed(Exception):
    """The store write failed (cause attached): the message stays unacknowledged."""


@dataclass
class HubOptions:
    """How the hub connects; defaults suit one hub process per broker."""

    client_id: str = "cls-hub"
    shared_group: str | None = None
    session_expiry_s: int = 7 * 86_400
    max_payload_bytes: int = 256 * 1024
    keepalive_s: int = 30
    backoff_first_s: float = 0.5
    backoff_cap_s: float = 30.0
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("received", "stored", "duplicates", "conflicts", "rejected", "state_applied",
         "state_ignored", "store_errors", "receipts"), 0))


class Hub:
    """Subscribes to ``cls/v1/#`` and writes what arrives into ``store``.

    Usage::

        hub = Hub(open_store("hub.db"), mqtt_config, "mqtt://broker:1883", HubOptions())
        hub.run(stop_event)
    """

    def __init__(self, store: HubStore, mqtt_config: MqttConfig, broker: str,
                 options: HubOptions | None = None, reopen_store: Any = None):
        self.store, self.options = store, options or HubOptions()
        self.counters = self.options.counters
        self._mqtt_config, self._broker = mqtt_config, broker
        self._reopen_store = reopen_store  # () -> HubStore, used after a store failure
        self._store_failed = False
        self._receipts = ReceiptBatch()  # of the open transaction: published after commit
        self._acks: list[tuple[int, int]] = []  # (mid, qos) to acknowledge after commit
        self._batch_started: float | None = None
        self.connected = threading.Event()

    def run(self, stop_event: threading.Event) -> None:
        """Ingest until ``stop_event`` is set; reconnects with capped backoff."""
        client, address = make_client(self._mqtt_config, self.options.client_id, self._broker)
        client.manual_ack_set(True)
        # Receipts are QoS 1 and one per node per batch: paho's default of 20 in flight would
        # queue a 1,000-node batch behind 50 broker round trips.
        client.max_inflight_messages_set(RECEIPTS_IN_FLIGHT)
        client.on_connect, client.on_message = self._on_connect, self._on_message
        client.on_disconnect = self._on_disconnect
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.options.session_expiry_s
        backoff = reconnect_backoff(self.options.backoff_first_s, self.options.backoff_cap_s)
        connected_once = False
        while not stop_event.is_set():
            try:
                if connected_once:
                    client.reconnect()
                else:
                    client.connect(address.host, address.port, self.options.keepalive_s,
                                   clean_start=False, properties=props)
                    connected_once = True
                while not stop_event.is_set() and not self._store_failed:
                    rc = client.loop(timeout=BATCH_MAX_S / 5 if self._acks else 0.2)
                    if self._acks and self._batch_due():
                        self._commit_batch(client)
                    if rc != mqtt.MQTT_ERR_SUCCESS:
                        break
                    if self.connected.is_set():
                        backoff.reset()
            except (OSError, ValueError) as exc:
                log.warning("hub: cannot reach broker %s: %s", self._broker, exc)
            if self._acks:
                # Stopping: acked and receipted; connection lost: those are lost, the edge re-sends.
                self._commit_batch(client)
            self.connected.clear()
            if self._store_failed:
                client.disconnect()  # unacknowledged messages come back on reconnect
                self._recover_store()
            if not stop_event.is_set():
                stop_event.wait(backoff.next_delay())
        client.disconnect()
        client.loop(timeout=0.2)

    def _batch_due(self) -> bool:
        # By age, not by an idle socket: messages trickle in one by one, and one fsync per
        # message caps a SQLite hub at ~50 messages/s on an SD card or a busy disk.
        return len(self._acks) >= BATCH_MAX or (
            self._batch_started is not None
            and time.monotonic() - self._batch_started >= BATCH_MAX_S)

    def _commit_batch(self, client: mqtt.Client) -> None:
        """Commit the open transaction, then acknowledge its messages and publish receipts."""
        acks, self._acks, self._batch_started = self._acks, [], None
        try:
            self.store.commit()
        except Exception as exc:  # noqa: BLE001 - store/driver failure: keep the messages
            self._fail_batch(exc)
            return
        for mid, qos in acks:
            client.ack(mid, qos)
        for topic, payload in self._receipts.take():
            client.publish(topic, payload, qos=1)
            self.counters["receipts"] += 1

    def _fail_batch(self, exc: Exception) -> None:
        self.counters["store_errors"] += 1
        self._store_failed = True
        self._acks, self._batch_started = [], None
        self._receipts.take()  # rolled back: nothing of it may be receipted
        try:
            self.store.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone; reopened anyway
            pass
        log.error("hub: store write failed, will reconnect and retry: %s", exc)

    def _recover_store(self) -> None:
        if self._reopen_store is None:
            self._store_failed = False
            return
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - the old connection is broken anyway
            pass
        try:
            self.store = self._reopen_store()
            self._store_failed = False
        except StoreError as exc:
            log.error("hub: store still unavailable: %s", exc)

    # -- callbacks ---------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("hub: broker refused the connection: %s", reason_code)
            return
        log.info("hub: connected (session present: %s)", flags.session_present)
        client.subscribe(subscription(self.options.shared_group), qos=1)
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        self.connected.clear()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs inside paho's loop: nothing may escape, or the loop (and ingest) stops.
        self.counters["received"] += 1
        if self._store_failed:
            return  # not acknowledged: redelivered after the reconnect
        try:
            if self._batch_started is None:
                self._write(self.store.begin)
                self._batch_started = time.monotonic()
            self.ingest(message.topic, message.payload)
        except _StoreFailed as exc:  # store/driver failure: keep the batch's messages
            self._fail_batch(exc.__cause__ or exc)
            return
        except Rejected as exc:
            self.counters["rejected"] += 1
            log.warning("hub: rejected message on %s: %s", message.topic[:200], exc)
        except Exception as exc:  # noqa: BLE001 - a payload we did not foresee: drop, not loop
            self.counters["rejected"] += 1
            log.exception("hub: message on %s could not be processed (%s); dropped",
                          message.topic[:200], type(exc).__name__)
        self._acks.append((message.mid, message.qos))  # acknowledged after the commit

    # -- ingest ------------------------------------------------------------------------------

    def ingest(self, topic: str, payload: bytes) -> None:
        """Validate one message and write it; raises :class:`Rejected` with the reason."""
        parsed = parse_topic(topic)
        if parsed is None:
            raise Rejected("topic does not follow cls/v1/<district>/<school>/<room>/<node>/...")
        leaf = parsed.leaf
        if leaf[0] in ("cam", "cmd", "reply", "receipt"):
            return  # live status and request/response traffic: not stored by the hub
        if not (leaf[0] == "agg" and len(leaf) == 2) and leaf not in (
                ("state",), ("meta",), ("health",)):
            raise Rejected(f"unknown topic leaf {'/'.join(leaf)[:100]!r}")
        data = _decode(payload, self.options.max_payload_bytes)
        if leaf == ("state",):
            self._ingest_state(parsed, data)
        elif leaf == ("health",):
            self._ingest_health(parsed, data)
        elif leaf == ("meta",):
            _validate("meta", data)
            if data.get("node", parsed.node_id) != parsed.node_id:  # a node speaks for itself
                raise Rejected(f"meta of node {str(data['node'])[:64]!r} on the topic of node "
                               f"{parsed.node_id!r}")
            self._write(self.store.set_meta, parsed.node_key, json.dumps(data), time.time())
        else:
            self._ingest_aggregate(parsed, leaf[1], data)

    def _write(self, method: Any, *args: Any) -> Any:
        """Call a store method; any failure becomes :class:`_StoreFailed` (retry, not drop)."""
        try:
            return method(*args)
        except Exception as exc:  # noqa: BLE001 - sqlite3/psycopg errors have no common base
            raise _StoreFailed() from exc

    def _ingest_aggregate(self, parsed: ParsedTopic, kind: str, data: dict[str, Any]) -> None:
        if kind not in AGG_KINDS:
            raise Rejected(f"unknown aggregate kind {kind[:40]!r}")
        if data.get("schema") != schema_id(f"agg.{kind}"):  # the payload's kind is the topic's
            raise Rejected(f"schema {str(data.get('schema'))[:60]!r} on topic agg/{kind}")
        # The whole contract (schema, finite numbers, closed values), validated once.
        if (problem := payload_problem(data)) is not None:
            raise Rejected(problem)
        epoch, seq = _msg_id_parts(parsed, data)
        window = data["window"]
        if window["end"] < window["start"]:
            raise Rejected("window ends before it starts")
        key = f"{parsed.node_key}:{epoch}:{seq}" if epoch else f"{parsed.node_key}:{seq}"
        payload = json.dumps(data, separators=(",", ":"))
        stored = self._write(self.store.insert_aggregate, key, parsed.node_key, kind,
                             window["start"], window["end"], payload, time.time(), epoch, seq)
        self.counters["stored" if stored else "duplicates"] += 1
        if not stored:
            self._check_duplicate(key, data)
        if epoch:
            self._receipts.add(parsed.node_key, epoch, seq)

    def _check_duplicate(self, key: str, data: dict[str, Any]) -> None:
        """Log a duplicate msg_id whose content differs from what is stored (ids reused)."""
        first = self._write(self.store.stored_payload, key)
        if first is None or _content(json.loads(first)) == _content(data):
            return
        self.counters["conflicts"] += 1
        log.warning("hub: msg_id %s arrived again with different content; kept the first "
                    "(window %s-%s), dropped the new one (window %s-%s)", key,
                    json.loads(first)["window"]["start"], json.loads(first)["window"]["end"],
                    data["window"]["start"], data["window"]["end"])

    def _ingest_health(self, parsed: ParsedTopic, data: dict[str, Any]) -> None:
        """The node's outbox backlog for the district page (health is retained, expiring)."""
        _validate("health", data)
        backlog = data["outbox"].get("unsent")
        if not isinstance(backlog, int) or isinstance(backlog, bool) or backlog < 0:
            raise Rejected("health: outbox.unsent is not a count")
        self._write(self.store.set_health, parsed.node_key, backlog, time.time())

    def _ingest_state(self, parsed: ParsedTopic, data: dict[str, Any]) -> None:
        _validate("state", data)
        applied = self._write(self.store.update_node, parsed.node_key, data["online"],
                              data["session"], time.time())
        self.counters["state_applied" if applied else "state_ignored"] += 1
        if not applied:
            log.info("hub: ignored offline state (stale Will) of %s: session %d is older than "
                     "the stored one", parsed.node_key, data["session"])


def _msg_id_parts(parsed: ParsedTopic, data: dict[str, Any]) -> tuple[str, int]:
    """(store epoch, seq) of a validated aggregate; its node must be the topic's node."""
    parts = data["msg_id"].split(":")
    node, epoch = parts[0], (parts[1] if len(parts) == 3 else "")
    if node != parsed.node_id or int(parts[-1]) != data["seq"]:
        raise Rejected(f"msg_id {data['msg_id']!r} does not match node {parsed.node_id!r} "
                       f"and seq {data['seq']}")
    return epoch, data["seq"]


def _content(data: dict[str, Any]) -> dict[str, Any]:
    """What must be equal for two copies of one msg_id (a re-send may set ``historical``)."""
    return {k: v for k, v in data.items() if k != "historical"}


def _decode(payload: bytes, max_bytes: int) -> dict[str, Any]:
    try:
        return loads_bounded(payload, max_bytes=max_bytes)
    except UntrustedJson as exc:
        raise Rejected(str(exc)) from None


def _validate(schema: str, data: dict[str, Any]) -> None:
    error = next(iter(validator(schema).iter_errors(data)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "payload"
        raise Rejected(f"schema {schema}: {where}: {error.message[:200]}")
