"""Sync benchmark (SPEC 10): outbox drain rate vs raw paho QoS 1, bytes on the wire per hour.

Starts its own Mosquitto on a free port, then in the same run:
1. raw paho: 10,000 QoS 1 publishes of the same payloads, same in-flight window, timed until
   the last PUBACK;
2. ours, ``delivery = "broker"``: ``OutboxPublisher.drain`` of a 10,000-row outbox (SQLite
   reads, payload building, PUBACK bookkeeping in SQLite), done at the last PUBACK;
3. ours, ``delivery = "hub"`` (default): the same drain with a real ``edge hub`` process
   (SQLite hub store) subscribed, done only when hub receipts cover every row: the cost of
   end-to-end confirmation (receipt handling, a second SQLite update per row, the hub's
   commit latency); the hub process's CPU time over the drain is printed per message;
4. bytes per classroom-hour: 120 windows of 30 s + one lesson record, counted as MQTT 5
   packets (fixed header, topic, packet id, properties, payload, PUBACK) plus keepalive pings,
   periodic health messages and one receipt per window (upper bound: the hub batches).
Targets: ours >= 25% of raw; <= 64 KB per classroom-hour. Machine load is printed (the
machine is shared); the publisher's CPU seconds per 1,000 records are printed beside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt

from edge.store.outbox import OutboxRow, store_epoch
from edge.store.outbox import open_outbox as open_edge_outbox
from sync.receipts import receipt_payloads
from sync.payloads import HEALTH_EXPIRY_S, aggregate_payload, encode, publish_properties
from sync.publisher import OutboxPublisher
from sync.topics import NodeTopics
from tests.mqtt_broker import Broker
from tests.sync_fixtures import NODE, make_store, mqtt_config

RECORDS = 10_000
INFLIGHT = 20
EPOCH = "0123456789abcdef"
EDGE = str(Path(sys.executable).with_name("edge"))


def classroom_window(i: int) -> dict:
    """A full classroom window record as the engines write it with a microphone and room sensors
    (SPEC 5 key names; the shape of a window from `edge replay sensors/demo/classroom_demo.jsonl`)."""
    return {"type": "window", "mode": "classroom", "start": i * 30.0, "end": i * 30.0 + 30.0,
            "n": 32, "suppressed": False,
            "metrics": {"students_present": 32, "hand_raises": i % 4, "hand_raise_rate": 0.0125,
                        "participation": 0.12, "standing": 0.6, "stand_events": 1,
                        "head_up_rate": 0.712, "writing_rate": 0.118, "activity_index": 0.031,
                        "teacher": {"zone_share": 0.8, "board_share": 0.1, "distance": 4.1},
                        "audio": {"speech_ratio": 0.7, "silence_ratio": 0.2,
                                  "teacher_talk_ratio": 0.5, "noise_dba": 55.2},
                        "st": {"samples": "T", "rt": 1.0, "ch": 0.0, "lesson_type": "lecture"},
                        "env": {"co2_ppm": 999.3, "temp_c": 24.5, "rh": 46.0, "lux_desk": 430.0,
                                "lux_board": 540.0, "noise_dba": 55.2,
                                "compliance": {"co2": True, "lux_desk": True, "lux_board": True},
                                "alerts": []}}}


def lesson_record() -> dict:
    record = classroom_window(0)
    record.update(type="lesson", end=2700.0)
    record["metrics"]["participation"] = 0.41
    record["metrics"]["st"] = {"samples": "TTSST" * 18, "rt": 0.52, "ch": 0.21,
                               "lesson_type": "mixed"}
    return record


def raw_paho_rate(port: int, topic: str, payloads: list[bytes]) -> float:
    """QoS 1 publishes/s of a bare paho client, timed until the last PUBACK."""
    done = threading.Event()
    acked = [0]

    def on_publish(client, userdata, mid, reason_code, properties):
        acked[0] += 1
        if acked[0] == len(payloads):
            done.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = time.perf_counter()
    for payload in payloads:
        client.publish(topic, payload, qos=1, properties=publish_properties())
    done.wait(120)
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    return len(payloads) / elapsed


def wire_bytes(topic: str, payload: bytes, props) -> int:
    """Bytes of one MQTT 5 QoS 1 PUBLISH plus its PUBACK (``topic`` "" when aliased)."""
    remaining = 2 + len(topic.encode()) + 2 + len(props.pack()) + len(payload)
    varint = 1 if remaining < 128 else 2 if remaining < 16_384 else 3
    return 1 + varint + remaining + 4


def hour_bytes(topics: NodeTopics) -> tuple[int, int]:
    """(bytes per classroom-hour, of which aggregates) as counted by :func:`wire_bytes`."""
    # The publisher sends a topic once per connection with a Topic Alias, then the alias only.
    agg = 0
    for i in range(120):
        row = OutboxRow(i + 1, "classroom", json.dumps(classroom_window(i)), False)
        agg += wire_bytes("" if i else topics.agg("classroom"),
                          encode(aggregate_payload(row, NODE.id, EPOCH)),
                          publish_properties(TopicAlias=1))
    lesson = OutboxRow(121, "lesson", json.dumps(lesson_record()), False)
    agg += wire_bytes(topics.agg("lesson"), encode(aggregate_payload(lesson, NODE.id, EPOCH)),
                      publish_properties(TopicAlias=2))
    health = {"schema": "cls.health/v1", "ts": 1.0e9, "session": 12,
              "outbox": {"unsent": 0, "oldest_unsent_age_s": None, "bytes": 0, "rows": 9000,
                         "total_bytes": 2_000_000, "rolled_up": 0, "dropped": 0,
                         "pruned_sent": 0, "session": 12},
              "sync": {"published": 100, "acked": 100, "rejected": 0, "connects": 1,
                       "unencodable": 0}}
    per_hour_health = 3600 // 600  # OutboxPublisher health_interval_s default
    other = per_hour_health * wire_bytes(topics.health, encode(health),
                                         publish_properties(HEALTH_EXPIRY_S))
    other += (3600 // 30) * 4  # PINGREQ + PINGRESP at keepalive 30 s (upper bound)
    receipt = json.dumps(receipt_payloads(EPOCH, [1], now=1.0e9)[0], separators=(",", ":"))
    other += 121 * wire_bytes(topics.receipt, receipt.encode(), publish_properties())
    return agg + other, agg


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_rate(path: Path, url: str, delivery: str) -> tuple[float, float, bool]:
    """(records/s, publisher CPU seconds, drained) of draining a fresh RECORDS-row outbox."""
    db = make_store(path)
    conn = open_edge_outbox(db)
    now = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO outbox(kind, record, window_start, window_end, n, created, "
            "bytes) VALUES ('classroom', ?, ?, ?, 32, ?, ?)",
            [(json.dumps(r), r["start"], r["end"], now, len(json.dumps(r)))
             for r in map(classroom_window, range(RECORDS))])
    assert store_epoch(conn)
    conn.close()
    publisher = OutboxPublisher(db, mqtt_config(url, max_inflight=INFLIGHT, delivery=delivery),
                                NODE)
    start, cpu = time.perf_counter(), time.process_time()
    drained = publisher.drain(300)
    rate = RECORDS / (time.perf_counter() - start)
    cpu = time.process_time() - cpu
    publisher.close()
    return rate, cpu, drained


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp), persistence=False).start()
        try:
            topics = NodeTopics.for_node(NODE)
            payloads = [encode(aggregate_payload(
                OutboxRow(i + 1, "classroom", json.dumps(classroom_window(i)), False), NODE.id,
                EPOCH)) for i in range(RECORDS)]
            raw = raw_paho_rate(broker.port, topics.agg("classroom"), payloads)
            broker_mode = drain_rate(Path(tmp) / "broker-mode.db", broker.url, "broker")
            hub = subprocess.Popen([EDGE, "hub", "--broker", broker.url, "--store",
                                    str(Path(tmp) / "hub.db"), "--client-id", "bench-hub"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(2.0)  # connected and subscribed
                hub_cpu = process_cpu_s(hub.pid)
                hub_mode = drain_rate(Path(tmp) / "hub-mode.db", broker.url, "hub")
                hub_cpu = process_cpu_s(hub.pid) - hub_cpu
            finally:
                hub.terminate()
                hub.wait(10)
        finally:
            broker.stop()
    total, agg = hour_bytes(topics)
    load = os.getloadavg()
    print(f"sync drain: {RECORDS} records, in-flight window {INFLIGHT}; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"  raw paho QoS 1          : {raw:8.0f} publishes/s")
    for name, (rate, cpu, drained) in (("delivery=broker (PUBACK)", broker_mode),
                                       ("delivery=hub (receipts)", hub_mode)):
        print(f"  {name:<24}: {rate:8.0f} records/s  ({rate / raw:.0%} of raw; target >= 25%)"
              f"  {cpu * 1000 / RECORDS:.3f} CPU s/1k records, drained={drained}")
    print(f"  hub process (edge hub)  : {hub_cpu * 1000 / RECORDS:.3f} CPU ms per message "
          "(parse, validate, SQLite insert, commit, receipts)")
    print(f"  receipts vs PUBACK only : {hub_mode[0] / broker_mode[0]:.0%} of the PUBACK-mode "
          f"rate, {hub_mode[1] / broker_mode[1]:.2f}x its CPU time")
    print(f"  wire per class-hour : {total / 1024:8.1f} KB  (aggregates {agg / 1024:.1f} KB; "
          f"target <= 64 KB, {total / 65536:.0%} of budget)")


if __name__ == "__main__":
    main()
