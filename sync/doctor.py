"""`edge doctor`'s broker check, contributed through the ``classroom_edge.doctor`` plug-in group.

It connects with the daemon's own client settings (:func:`sync.connection.make_client`: TLS,
credentials), subscribes to a throw-away topic under the node's prefix, publishes to it and
waits for its own message, so a broker ACL that refuses the node shows here.
"""

from __future__ import annotations

import threading
import uuid

from edge.cli.doctor import FAIL, OK, SKIP
from edge.config import EdgeConfig

from .connection import ConfigurationError, make_client
from .topics import NodeTopics

__all__ = ["broker_check"]


def broker_check(config: EdgeConfig, timeout_s: float) -> tuple[str, str]:
    """Connect, subscribe, publish and receive once; (status, detail) for the report."""
    if not config.mqtt.enabled:
        return SKIP, "disabled (mqtt.enabled = false)"
    try:
        client, address = make_client(config.mqtt, f"{config.node.id}-doctor-{uuid.uuid4().hex[:8]}")
    except ConfigurationError as exc:
        return FAIL, str(exc)
    where = f"{address.host}:{address.port}"
    topic = f"{NodeTopics.for_node(config.node).prefix}doctor/{uuid.uuid4().hex}"
    client.connect_timeout = timeout_s
    connected, subscribed, received = threading.Event(), threading.Event(), threading.Event()
    refused: list[str] = []

    def on_connect(_client, _userdata, _flags, reason, _props) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_message = lambda _c, _u, msg: received.set() if msg.topic == topic else None
    try:
        client.connect(address.host, address.port, keepalive=max(5, int(timeout_s) * 2))
    except OSError as exc:
        return FAIL, f"{where}: cannot connect ({exc})"
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            return FAIL, f"{where}: no CONNACK within {timeout_s:g} s"
        if refused:
            return FAIL, f"{where}: connection refused ({refused[0]})"
        client.subscribe(topic, qos=1)
        if not subscribed.wait(timeout_s):
            return FAIL, f"{where}: no SUBACK within {timeout_s:g} s"
        client.publish(topic, b"doctor", qos=1)
        if not received.wait(timeout_s):
            return FAIL, f"{where}: own message not received within {timeout_s:g} s (ACL?)"
    finally:
        client.disconnect()
        client.loop_stop()
    return OK, f"{where}: connected, publish/subscribe round trip ok"
