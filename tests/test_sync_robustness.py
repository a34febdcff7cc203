"""Malformed inputs and hub->edge commands over a real broker: rejected, answered, nobody dies."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.store.outbox import open_outbox
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


def _raw_client(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _valid(seq: int) -> dict:
    return {"schema": "cls.agg.classroom/v1", "msg_id": f"n1:{seq}", "seq": seq,
            "window": {"start": 0.0, "end": 30.0}, "n": 30,
            "values": {"suppressed": False, "hand_raises": 2},
            "quality": {"coverage": None, "sources_ok": None}, "historical": False}


def test_hub_rejects_malformed_payloads_and_keeps_running(tmp_path, broker, caplog):
    hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
    raw = _raw_client(broker.port)
    wrong_type = {**_valid(2), "n": "thirty"}
    spoofed = {**_valid(3), "msg_id": "other-node:3"}
    track_key = {**_valid(4), "values": {"suppressed": False, "track_id": 7}}
    bad = [
        (TOPICS.agg("classroom"), json.dumps(wrong_type).encode(), "n"),
        (TOPICS.agg("classroom"), json.dumps(_valid(5)).encode()[:40], "malformed JSON"),
        (TOPICS.agg("classroom"), b"x" * (10 * 1024 * 1024), "exceeds"),
        (TOPICS.agg("classroom"), json.dumps(spoofed).encode(), "does not match"),
        (TOPICS.agg("classroom"), json.dumps(track_key).encode(), "track_id"),
        (TOPICS.agg("selfies"), json.dumps(_valid(6)).encode(), "unknown aggregate kind"),
        (TOPICS.state, b'{"online": "yes"}', "schema state"),
    ]
    with caplog.at_level(logging.WARNING, logger="sync.hub"):
        for topic, payload, _ in bad:
            raw.publish(topic, payload, qos=1).wait_for_publish(10)
        raw.publish(TOPICS.agg("classroom"), json.dumps(_valid(1)), qos=1).wait_for_publish(5)
        wait_for(lambda: len(hub.ids()) == 1, what="the valid message")
        wait_for(lambda: hub.hub.counters["rejected"] == len(bad), what="every rejection")
    assert hub.ids() == expected_ids([1])
    for _, _, reason in bad:
        assert any(reason in r.getMessage() for r in caplog.records), reason
    assert hub.alive
    raw.loop_stop()
    raw.disconnect()
    hub.stop()


def test_commands_ping_resync_unknown_and_malformed(tmp_path, broker):
    db = make_store(tmp_path / "edge.db", rows=30)
    hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
    publisher = OutboxPublisher(db, mqtt_config(broker.url), NODE, backoff_first_s=0.1,
                                backoff_cap_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,))
    thread.start()
    wait_for(lambda: outbox_seqs(db, unsent_only=True) == [], what="outbox drained")
    replies: queue.Queue = queue.Queue()
    raw = _raw_client(broker.port)
    raw.on_message = lambda c, u, m: replies.put((m.properties.CorrelationData,
                                                  json.loads(m.payload)))
    raw.subscribe("hub/replies/#", qos=1)

    def ask(verb: str, payload: bytes, correlation: bytes) -> dict:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"hub/replies/{verb}"
        props.CorrelationData = correlation
        raw.publish(TOPICS.prefix + f"cmd/{verb}", payload, qos=1, properties=props)
        got_correlation, reply = replies.get(timeout=10)
        assert got_correlation == correlation
        return reply

    wait_for(lambda: raw.is_connected(), what="raw client")
    time.sleep(0.3)  # SUBACK
    pong = ask("ping", b"", b"c1")
    assert pong["ok"] and pong["result"]["unsent"] == 0 and pong["result"]["session"] >= 1
    unknown = ask("format-disk", b"{}", b"c2")
    assert not unknown["ok"] and "unknown command" in unknown["error"]
    truncated = ask("resync", b'{"seq": 1', b"c3")
    assert not truncated["ok"] and "malformed JSON" in truncated["error"]
    invalid = ask("resync", b'{"seq": -4}', b"c4")
    assert not invalid["ok"] and "invalid command" in invalid["error"]
    assert outbox_seqs(db, unsent_only=True) == []  # none of those executed anything
    duplicates_before = hub.hub.counters["duplicates"]
    resync = ask("resync", b'{"seq": 21}', b"c5")
    assert resync["ok"] and resync["result"]["rows"] == 10
    wait_for(lambda: hub.hub.counters["duplicates"] >= duplicates_before + 10,
             what="resent rows reach the hub")
    wait_for(lambda: outbox_seqs(db, unsent_only=True) == [], what="resent rows acknowledged")
    conn = open_outbox(db)
    assert conn.execute("SELECT COUNT(*) FROM outbox WHERE historical = 1").fetchone()[0] == 10
    conn.close()
    assert hub.ids() == expected_ids(range(1, 31))
    assert thread.is_alive() and hub.alive
    stop.set()
    thread.join(10)
    raw.loop_stop()
    raw.disconnect()
    hub.stop()
