"""Hostile MQTT payloads (issue 13 section 3): deeply nested JSON, huge numbers, retained poison.

Real mosquitto, real hub stores (SQLite and PostgreSQL), the real publisher thread.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from edge.daemon.logging_setup import setup_logging
from sensors.env_mqtt import decode_payload
from sensors.untrusted_json import UntrustedJson, loads_bounded, nesting_depth
from sync.publisher import OutboxPublisher
from sync.topics import NodeTopics
from tests.sync_fixtures import (
    NODE,
    HubRunner,
    expected_ids,
    make_store,
    mqtt_config,
    outbox_seqs,
    wait_for,
)

TOPICS = NodeTopics.for_node(NODE)
NESTED_LIST = b"[" * 1000 + b"]" * 1000  # 2 KB: json.loads raises RecursionError on it
NESTED_OBJECT = b'{"a":' * 400 + b"1" + b"}" * 400


def _raw_client(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_for(client.is_connected, 10, "raw client connected")
    return client


def _valid(seq: int) -> bytes:
    return json.dumps({"schema": "cls.agg.classroom/v1", "msg_id": f"n1:{seq}", "seq": seq,
                       "window": {"start": 0.0, "end": 30.0}, "n": 30,
                       "values": {"suppressed": False, "hand_raises": 2},
                       "quality": {"coverage": None, "sources_ok": None},
                       "historical": False}).encode()


def test_bounded_parse_refuses_depth_non_finite_and_size_with_one_line():
    with pytest.raises(RecursionError):
        json.loads(NESTED_LIST)  # what every parse path did before
    for payload, reason in ((NESTED_LIST, "nested 1000 levels"),
                            (NESTED_OBJECT, "nested 400 levels"),
                            (b'{"seq": 1e400}', "out of range"),
                            (b'{"seq": NaN}', "non-finite"),
                            (b'{"x": -Infinity}', "non-finite"),
                            (b"x" * 5000, "exceeds"),
                            (b"[1, 2]", "not a JSON object"),
                            (b'{"a": "\xff"}', "malformed JSON")):
        with pytest.raises(UntrustedJson, match=reason):
            loads_bounded(payload, max_bytes=4096)
    # brackets inside strings (escaped quotes included) are not nesting
    text = json.dumps({"a": "[[[[{{{{\\\"" * 100, "b": [[1]]}).encode()
    assert nesting_depth(text) == 3
    assert loads_bounded(text, max_bytes=10_000)["b"] == [[1]]
    assert loads_bounded(b"21.5", max_bytes=100, object_only=False) == 21.5


def test_env_mqtt_sensor_survives_nested_and_non_finite_payloads():
    fields = {"co2_ppm": "co2"}
    assert decode_payload(NESTED_LIST, fields) == {}
    assert decode_payload(b'{"co2": 1e999}', fields) == {}
    assert decode_payload(b'{"co2": 812}', fields) == {"co2_ppm": 812.0}


def test_nested_json_on_every_topic_does_not_stop_the_hub(hub_store, broker):
    """Before: RecursionError counted as a store failure, so the hub reconnected forever and the
    broker redelivered the poison each time (0 of 435 legitimate messages stored)."""
    url, prefix = hub_store
    hub = HubRunner(url, prefix, broker.url).start()
    raw = _raw_client(broker.port)
    poison = [(TOPICS.agg("classroom"), NESTED_LIST), (TOPICS.agg("pe"), NESTED_OBJECT),
              (TOPICS.state, NESTED_LIST), (TOPICS.meta, NESTED_LIST),
              (TOPICS.agg("classroom"), _valid(99).replace(b'"seq": 99', b'"seq": 1e30'))]
    for topic, payload in poison:
        raw.publish(topic, payload, qos=1).wait_for_publish(10)
    legit = range(1, 436)
    for seq in legit:
        raw.publish(TOPICS.agg("classroom"), _valid(seq), qos=1)
    wait_for(lambda: hub.hub.counters["stored"] == len(legit), 60, "435 legitimate messages")
    assert hub.ids() == expected_ids(legit)
    assert hub.hub.counters["rejected"] == len(poison)
    assert hub.hub.counters["store_errors"] == 0 and hub.alive
    raw.loop_stop()
    raw.disconnect()
    hub.stop()


def test_hub_rejections_are_rate_limited_in_the_log(tmp_path, broker):
    """`edge hub` logs through the rate-limited handler: 300 bad messages, a handful of lines."""
    import io
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging(stream=stream, env={}, burst=5, interval_s=60)
    try:
        hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
        raw = _raw_client(broker.port)
        for _ in range(300):
            raw.publish(TOPICS.agg("classroom"), NESTED_LIST, qos=1)
        wait_for(lambda: hub.hub.counters["rejected"] == 300, 30, "300 rejections")
        raw.loop_stop()
        raw.disconnect()
        hub.stop()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [line for line in stream.getvalue().splitlines() if "rejected message" in line]
    assert 1 <= len(lines) <= 5


def test_poisoned_commands_do_not_kill_the_publisher(tmp_path, broker):
    """Before: a retained nested cmd/ping (RecursionError) or cmd/resync {"seq": 1e30}
    (OverflowError in SQLite) escaped paho's loop and ended the publisher thread for good."""
    db = make_store(tmp_path / "edge.db", rows=20)
    raw = _raw_client(broker.port)
    replies: queue.Queue = queue.Queue()
    raw.on_message = lambda c, u, m: replies.put((m.topic, json.loads(m.payload)))
    raw.subscribe(TOPICS.prefix + "reply/#", qos=1)
    time.sleep(0.3)  # SUBACK
    raw.publish(TOPICS.prefix + "cmd/ping", NESTED_LIST, qos=1, retain=True).wait_for_publish(5)
    publisher = OutboxPublisher(db, mqtt_config(broker.url), NODE, backoff_first_s=0.1,
                                backoff_cap_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,))
    thread.start()
    try:
        topic, reply = replies.get(timeout=10)
        assert topic.endswith("reply/ping") and not reply["ok"]
        assert "retained" in reply["error"]
        for payload in (b'{"seq": 1e30}', b'{"seq": 100000000000000000000000000000}',
                        b'{"seq": 1e999}', NESTED_OBJECT):
            raw.publish(TOPICS.prefix + "cmd/resync", payload, qos=1)
            topic, reply = replies.get(timeout=10)
            assert topic.endswith("reply/resync") and not reply["ok"], payload[:30]
        raw.publish(TOPICS.prefix + "cmd/ping", b"", qos=1)
        _, pong = replies.get(timeout=10)
        assert pong["ok"]
        wait_for(lambda: outbox_seqs(db, unsent_only=True) == [], what="outbox drained")
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
        raw.publish(TOPICS.prefix + "cmd/ping", b"", qos=1, retain=True).wait_for_publish(5)
        raw.loop_stop()
        raw.disconnect()


def test_a_dead_service_thread_fails_health_and_stops_the_watchdog(tmp_path):
    """Before: the daemon never looked at its services again: a dead publisher left health
    `ok` and the watchdog fed, so the outbox grew silently until someone looked."""
    from fastapi.testclient import TestClient

    from edge.config import EdgeConfig
    from edge.daemon.heartbeat import Heartbeats
    from edge.daemon.services import watch_services
    from edge.lesson.live import LiveState
    from edge.web import create_app
    from edge.web.auth import Tokens

    live, beats = LiveState(), Heartbeats()
    release = threading.Event()
    alive = threading.Thread(target=release.wait, daemon=True)
    dead = threading.Thread(target=lambda: None)
    alive.start()
    dead.start()
    dead.join()
    config = EdgeConfig.model_validate({"node": {"state_dir": str(tmp_path)}})
    app = create_app(config, live, None, None, tokens=Tokens("t" * 24, "u" * 24))
    with TestClient(app, client=("127.0.0.1", 1)) as client:
        watch_services({"hub-link": alive}, beats, live)
        assert client.get("/api/health").json()["status"] == "ok"
        watch_services({"hub-link": alive, "publisher": dead}, beats, live)
        health = client.get("/api/health")
        assert health.status_code == 503
        assert health.json()["problems"] == ["service publisher: stopped"]
    # the feeder stops pinging systemd while any loop is stale (tests/test_notify.py)
    assert beats.stale(30) == ["service publisher"]
    release.set()


def test_env_mqtt_sensor_thread_survives_a_nested_payload_on_a_real_broker(broker):
    """Before: RecursionError escaped on_message and ended paho's network thread: the sensor
    went silent for good (connected, no readings)."""
    from sensors.env_mqtt import MqttEnvironmentSource

    topic = "zigbee2mqtt/room-101"
    with MqttEnvironmentSource("127.0.0.1", broker.port, topic, {"co2_ppm": "co2"}) as sensor:
        assert sensor.subscribed.wait(10)
        raw = _raw_client(broker.port)
        for payload in (NESTED_LIST, NESTED_OBJECT, b'{"co2": 1e999}', b'{"co2": 905}'):
            raw.publish(topic, payload, qos=1).wait_for_publish(5)
        reading = sensor.read(10)
        assert reading is not None and reading.values == {"co2_ppm": 905.0}
        assert sensor.counters.bad_payloads == 3
        raw.loop_stop()
        raw.disconnect()
