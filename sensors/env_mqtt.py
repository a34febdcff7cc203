"""Environment readings from existing MQTT sensors (Zigbee2MQTT, ESPHome, Tasmota...).

One :class:`MqttEnvironmentSource` subscribes to one topic and maps quantities to dotted paths into
the JSON payload (``{"co2_ppm": "co2", "temp_c": "sensors.temperature"}``); an empty path means the
payload is the number itself (ESPHome state topics). Every message becomes one
:class:`EnvironmentSample` with the quantities it carried; bad payloads are counted, never raised.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Self

import paho.mqtt.client as mqtt

from .samples import EnvironmentSample
from .untrusted_json import UntrustedJson, loads_bounded

# Messages waiting for the consumer; older ones are dropped (and counted) past this.
_QUEUE_MAX = 1000
# Zigbee2MQTT/ESPHome/Tasmota sensor payloads are a few hundred bytes.
MAX_PAYLOAD_BYTES = 64 * 1024


def value_at(payload: Any, path: str) -> float | None:
    """The number at dotted ``path`` in a decoded JSON payload (list indices allowed), or None.

    >>> value_at({"sensors": {"temperature": 21.5}}, "sensors.temperature")
    21.5
    """
    node = payload
    for part in path.split(".") if path else []:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, (int, float, str)):
        return None
    try:
        number = float(node)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def decode_payload(payload: bytes | bytearray, fields: dict[str, str]) -> dict[str, float]:
    """Quantities found in one message; an unparseable payload gives an empty dict.

    Deeply nested, oversized or non-finite payloads are refused too (see
    :mod:`sensors.untrusted_json`): this runs in paho's network thread, which must not die.
    """
    try:
        document = loads_bounded(payload, max_bytes=MAX_PAYLOAD_BYTES, object_only=False)
    except UntrustedJson:
        return {}
    values = {}
    for quantity, path in fields.items():
        number = value_at(document, path)
        if number is not None:
            values[quantity] = number
    return values


@dataclass
class MqttCounters:
    """Health of one MQTT-fed sensor."""

    messages: int = 0
    readings: int = 0
    bad_payloads: int = 0
    dropped: int = 0
    connects: int = 0
    disconnects: int = 0


class MqttEnvironmentSource:
    """Subscribes to ``topic`` on a broker; iterate :meth:`samples` (t = monotonic receive time).

    paho's network thread reconnects on its own; a lost broker only shows up in the counters.
    """

    def __init__(
        self, host: str, port: int, topic: str, fields: dict[str, str], name: str = "mqtt",
        username: str | None = None, password: str | None = None,
    ):
        self.host, self.port, self.topic, self.name = host, port, topic, name
        self.fields = dict(fields)
        self.counters = MqttCounters()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.last_error: str | None = None
        self._queue: queue.Queue[EnvironmentSample] = queue.Queue(_QUEUE_MAX)
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="")
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 60)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self) -> Self:
        """Connect in the background (returns at once; a missing broker is retried)."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused the connection: {reason}"
            return
        self.counters.connects += 1
        self.last_error = None
        self.connected.set()
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: list,
                      properties: Any) -> None:
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            self.last_error = f"subscription to {self.topic} refused"

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self.counters.disconnects += 1
        self.connected.clear()
        self.subscribed.clear()
        self.last_error = f"disconnected from {self.host}:{self.port}: {reason}"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.counters.messages += 1
        values = decode_payload(message.payload, self.fields)
        if not values:
            self.counters.bad_payloads += 1
            return
        self.counters.readings += 1
        try:
            self._queue.put_nowait(EnvironmentSample(t=time.monotonic(), values=values))
        except queue.Full:
            self.counters.dropped += 1

    def samples(self, stop: threading.Event, poll_s: float = 0.2) -> Iterator[EnvironmentSample]:
        """Readings as they arrive, until ``stop`` is set."""
        while not stop.is_set():
            try:
                yield self._queue.get(timeout=poll_s)
            except queue.Empty:
                continue

    def read(self, timeout: float) -> EnvironmentSample | None:
        """The next reading within ``timeout`` seconds, or None."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def health(self) -> dict[str, Any]:
        """Connection state, counters and the last error."""
        return {"connected": self.connected.is_set(), "last_error": self.last_error,
                **asdict(self.counters)}
