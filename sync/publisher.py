"""Drain the store's outbox to the broker at QoS 1: at-least-once on the wire, nothing lost.

Protocol (SPEC 7):

* Each connection is a fresh paho client (MQTT 5, callback API v2, clean start): the
  persisted ``session`` counter is incremented first and goes into the retained ``state``
  message and its Last Will, so the hub can tell a stale Will from the current session.
* Undelivered rows are published in ``seq`` order with at most ``mqtt.max_inflight`` not yet
  PUBACKed; what is in flight, PUBACKed, receipted or due again is :mod:`sync.delivery`'s.
* ``delivery = "hub"`` (default): a row is delivered only when a hub receipt on
  ``<prefix>receipt`` covers it (:mod:`sync.receipts`): a broker that loses its state cannot
  lose rows. ``delivery = "broker"``: the PUBACK itself marks the row delivered (no receipts).
* After a disconnect or a restart everything still undelivered is published again
  (``historical`` is not changed: a replay is still the same message). The hub absorbs
  duplicates by ``msg_id`` = ``<node>:<store epoch>:<seq>``.
* All MQTT I/O and SQLite access happen on the thread calling :meth:`run` / :meth:`drain`
  (``client.loop()``, no paho thread), so callbacks need no locks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.config import MqttConfig, NodeConfig

from edge.store import outbox
from .commands import CommandContext, handle_command
from .connection import make_client, reconnect_backoff
from .contract import schema_id
from .delivery import Delivery
from edge.store.outbox_policy import OutboxLimits, enforce
from .payloads import (
    HEALTH_EXPIRY_S,
    PayloadError,
    aggregate_payload,
    encode,
    meta_payload,
    publish_properties,
    state_payload,
)
from .topics import NodeTopics

__all__ = ["OutboxPublisher"]

log = logging.getLogger(__name__)

CONNACK_TIMEOUT_S = 10.0
LOOP_TIMEOUT_S = 0.05
CLOSE_GRACE_S = 2.0


class OutboxPublisher:
    """Publishes the outbox of the store at ``db_path`` for node ``node``.

    Usage::

        publisher = OutboxPublisher("edge.db", config.mqtt, config.node)
        publisher.run(stop_event)          # daemon: until stop_event is set
        ok = publisher.drain(timeout=30)   # one-shot: True once the outbox is empty

    :param broker: overrides ``mqtt_config.broker`` (``--broker`` on the command line).
    :param sources: names of the configured data sources, published in ``meta``.
    :param camera_status: returns camera id -> {state, frames, reconnects, failures}; each
        camera's status is published retained on ``cam/<id>/status`` when its state changes
        and after every (re)connect.
    :param feed_status: returns feed name -> {state, samples, failures} (microphone, sensors,
        bands), sent in the ``health`` record.
    :raises edge.store.outbox.OutboxError: when ``db_path`` is not a store with an outbox.
    """

    def __init__(self, db_path: str | Path, mqtt_config: MqttConfig, node: NodeConfig, *,
                 broker: str | None = None, sources: list[str] | None = None,
                 camera_status: Callable[[], dict[str, dict[str, Any]]] | None = None,
                 feed_status: Callable[[], dict[str, dict[str, Any]]] | None = None,
                 backoff_first_s: float = 0.5, backoff_cap_s: float = 60.0,
                 policy_interval_s: float = 60.0, health_interval_s: float = 600.0):
        self._db = outbox.open_outbox(db_path)
        self._epoch = outbox.store_epoch(self._db)
        self._hub_delivery = mqtt_config.delivery == "hub"
        self._mqtt_config, self._node, self._broker = mqtt_config, node, broker
        self._sources = sources or []
        self._camera_status = camera_status
        self._feed_status = feed_status
        self._camera_states_sent: dict[str, str] = {}  # camera -> state last published
        self.topics = NodeTopics.for_node(node)
        self._limits = OutboxLimits.from_config(mqtt_config)
        self._backoff = reconnect_backoff(backoff_first_s, backoff_cap_s)
        self._policy_interval_s, self._health_interval_s = policy_interval_s, health_interval_s
        self._client: mqtt.Client | None = None
        self._connected = False
        self._next_policy = self._next_health = 0.0
        self._aliases: dict[str, Properties] = {}  # topic -> its Topic Alias properties
        self._alias_max = 0
        self.session = 0
        self.counters = {"published": 0, "acked": 0, "confirmed": 0, "republished": 0,
                         "rejected": 0, "connects": 0, "unencodable": 0, "bad_receipts": 0}
        self._delivery = Delivery(self._db, self._epoch, self._hub_delivery,
                                  mqtt_config.receipt_timeout_s, mqtt_config.max_inflight,
                                  self.counters)

    # -- public API ------------------------------------------------------------------------

    def run(self, stop_event: threading.Event) -> None:
        """Publish continuously, reconnecting with capped backoff, until ``stop_event`` is set."""
        self._loop(stop_event.is_set, stop_event.wait, until_empty=False)

    def drain(self, timeout: float) -> bool:
        """Publish until every row is delivered; False when ``timeout`` (s) ran out.

        Delivered means receipted by the hub (``delivery = "hub"``) or PUBACKed (``"broker"``).
        """
        deadline = time.monotonic() + timeout

        def expired() -> bool:
            return time.monotonic() >= deadline

        def wait(seconds: float) -> None:
            time.sleep(max(0.0, min(seconds, deadline - time.monotonic())))

        return self._loop(expired, wait, until_empty=True)

    def stats(self) -> outbox.OutboxStats:
        """Outbox depth and counters (for health and `edge sync status`)."""
        return outbox.stats(self._db)

    def close(self) -> None:
        """Release the database connection."""
        self._db.close()

    # -- connection loop -------------------------------------------------------------------

    def _loop(self, should_stop: Callable[[], bool], wait: Callable[[float], Any],
              until_empty: bool) -> bool:
        while not should_stop():
            self._maybe_enforce_policy()
            if until_empty and self._outbox_empty():
                return True
            try:
                if self._connect(should_stop):
                    done = self._pump(should_stop, until_empty)
                    self._close(graceful=done or should_stop())
                    if done:
                        return True
                    continue
            except (OSError, ValueError) as exc:  # refused, DNS, TLS, bad config file
                log.warning("mqtt: cannot reach %s: %s",
                            self._broker or self._mqtt_config.broker, exc)
            self._close(graceful=False)
            wait(self._backoff.next_delay())
        self._close(graceful=True)
        return until_empty and self._outbox_empty()

    def _connect(self, should_stop: Callable[[], bool]) -> bool:
        with outbox.atomic(self._db):
            self.session = outbox.add_counter(self._db, outbox.SESSION_KEY, 1)
        client_id = "cls-" + self.topics.prefix[len("cls/v1/"):-1].replace("/", ".")
        client, address = make_client(self._mqtt_config, client_id, self._broker)
        client.will_set(self.topics.state, encode(state_payload(False, self.session)), qos=1,
                        retain=True, properties=publish_properties(packet=PacketTypes.WILLMESSAGE))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        # Our own window bounds in-flight rows; leave paho room for state/meta/replies.
        client.max_inflight_messages_set(self._mqtt_config.max_inflight + 4)
        self._client = client
        self._delivery.reset()  # the cursor restarts at 0: every undelivered row goes out again
        self._aliases, self._alias_max = {}, 0  # topic aliases live for one connection
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 0  # the outbox is our session: nothing to keep at the broker
        client.connect(address.host, address.port, self._mqtt_config.keepalive_s,
                       clean_start=True, properties=props)
        deadline = time.monotonic() + CONNACK_TIMEOUT_S
        while not self._connected and time.monotonic() < deadline and not should_stop():
            if client.loop(timeout=LOOP_TIMEOUT_S) != mqtt.MQTT_ERR_SUCCESS:
                return False
        return self._connected

    def _pump(self, should_stop: Callable[[], bool], until_empty: bool) -> bool:
        """Exchange packets until disconnected or stopped; True when drained (until_empty)."""
        assert self._client is not None
        while self._connected and not should_stop():
            rc = self._client.loop(timeout=LOOP_TIMEOUT_S)
            self._fill_window()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self._maybe_enforce_policy()
            self._republish_overdue()
            self._maybe_publish_health()
            self._publish_camera_changes()
            if until_empty and not self._delivery.inflight and self._outbox_empty():
                return True
        return False

    def _close(self, graceful: bool) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if graceful and self._connected:
            # Announce the orderly exit (a clean DISCONNECT suppresses the Will) and give
            # outstanding PUBACKs a moment so they are recorded rather than re-sent.
            client.publish(self.topics.state, encode(state_payload(False, self.session)), qos=1,
                           retain=True, properties=publish_properties())
            deadline = time.monotonic() + CLOSE_GRACE_S
            while self._connected and time.monotonic() < deadline and (
                    self._delivery.inflight or client.want_write()):
                client.loop(timeout=LOOP_TIMEOUT_S)
            self._delivery.flush()
            client.disconnect()
            client.loop(timeout=LOOP_TIMEOUT_S)
        sock = client.socket()  # still open after a CONNACK timeout or a refused CONNECT
        if sock is not None:
            sock.close()
        self._connected = False
        self._delivery.lost_connection()

    # -- outbox <-> wire -------------------------------------------------------------------

    def _fill_window(self) -> None:
        """Flush recorded PUBACKs and top the in-flight window up from the outbox."""
        for row in self._delivery.rows_to_send():
            self._publish_row(row)

    def _republish_overdue(self) -> None:
        """Publish again the PUBACKed rows whose receipt is overdue (within the free window)."""
        for row in self._delivery.overdue_rows():
            self._publish_row(row)

    def _publish_row(self, row: outbox.OutboxRow) -> None:
        assert self._client is not None
        self._delivery.handed(row.seq)
        try:
            payload = aggregate_payload(row, self._node.id, self._epoch, demo=self._node.demo)
        except PayloadError as exc:
            # Left unsent (never deleted): the data stays for inspection, counted in health.
            self.counters["unencodable"] += 1
            log.error("outbox: %s; skipped", exc)
            return
        topic, props = self._aliased(self.topics.agg(row.kind))
        info = self._client.publish(topic, encode(payload), qos=1, properties=props)
        if info.rc == mqtt.MQTT_ERR_SUCCESS or info.rc == mqtt.MQTT_ERR_NO_CONN:
            # NO_CONN: paho queued it; the next connection starts from scratch anyway.
            self._delivery.published(info.mid, row.seq)
            self.counters["published"] += 1

    def _aliased(self, topic: str) -> tuple[str, Properties]:
        """MQTT 5 Topic Alias: after the first message a topic costs 3 bytes, not ~40."""
        # One Properties object per alias and connection (paho only packs it): building one per
        # message was a tenth of the publisher's CPU per row.
        props = self._aliases.get(topic)
        if props is not None:
            return "", props
        if len(self._aliases) < self._alias_max:
            props = self._aliases[topic] = publish_properties(TopicAlias=len(self._aliases) + 1)
            return topic, props
        return topic, publish_properties()

    def _outbox_empty(self) -> bool:
        return not outbox.has_undelivered(self._db)

    def _maybe_enforce_policy(self) -> None:
        now = time.monotonic()
        if now >= self._next_policy:
            self._next_policy = now + self._policy_interval_s
            self._delivery.flush()
            enforce(self._db, self._limits)

    def _maybe_publish_health(self) -> None:
        now = time.monotonic()
        if now < self._next_health or self._client is None:
            return
        self._next_health = now + self._health_interval_s
        payload = {"schema": schema_id("health"), "ts": round(time.time(), 3),
                   "session": self.session, "outbox": self.stats().as_dict(),
                   "sync": dict(self.counters)}
        if self._feed_status is not None:
            payload["feeds"] = self._feed_status()
        self._client.publish(self.topics.health, encode(payload), qos=1, retain=True,
                             properties=publish_properties(HEALTH_EXPIRY_S))

    def _publish_camera_changes(self) -> None:
        if self._camera_status is None or self._client is None:
            return
        for camera, status in self._camera_status().items():
            if self._camera_states_sent.get(camera) == status.get("state"):
                continue
            payload = {"schema": schema_id("camera"), "camera": camera,
                       "ts": round(time.time(), 3), **status}
            self._client.publish(self.topics.cam_status(camera), encode(payload), qos=1,
                                 retain=True, properties=publish_properties())
            self._camera_states_sent[camera] = status.get("state")

    # -- paho callbacks (run inside client.loop() on our thread) -----------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: Any, properties: Properties | None) -> None:
        if reason_code.is_failure:
            log.error("mqtt: broker refused the connection: %s", reason_code)
            return
        self._connected = True
        self._alias_max = int(getattr(properties, "TopicAliasMaximum", 0) or 0)
        self._backoff.reset()
        self.counters["connects"] += 1
        self._next_health = 0.0
        self._camera_states_sent.clear()  # send every camera's status again on this connection
        log.info("mqtt: connected (session %d)", self.session)
        client.publish(self.topics.state, encode(state_payload(True, self.session)), qos=1,
                       retain=True, properties=publish_properties())
        client.publish(self.topics.meta, encode(meta_payload(self._node.id, self._sources,
                                                             self._node.demo)),
                       qos=1, retain=True, properties=publish_properties())
        # Before any row goes out, so no receipt can arrive ahead of the subscription.
        topics = [(self.topics.commands, 1)]
        if self._hub_delivery:
            topics.append((self.topics.receipt, 1))
        client.subscribe(topics)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Properties | None) -> None:
        if self._connected:
            log.warning("mqtt: disconnected (%s); unacknowledged rows will be re-sent",
                        reason_code)
        self._connected = False

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any,
                    properties: Properties | None) -> None:
        self._delivery.puback(mid, reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs inside client.loop(): an exception here would end the publisher thread.
        try:
            if message.topic == self.topics.receipt:
                self._delivery.receipt(message.payload)
                return
            context = CommandContext(self._db, self._node.id, self.session, self.topics)
            reply = handle_command(message, context)
            if reply.resync_from is not None:
                self._delivery.rewind()
            client.publish(reply.topic, encode(reply.payload), qos=1,
                           properties=reply.properties)
        except Exception:  # noqa: BLE001 - a command or receipt must never stop publishing
            log.exception("mqtt: message on %s could not be handled", message.topic[:200])
