"""End to end over a real Mosquitto: outbox -> broker faults -> hub store, exactly once.

Every test runs against both hub stores (SQLite file and PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from edge.store.outbox import SESSION_KEY, get_counter, open_outbox
from sync.payloads import encode, state_payload
from sync.publisher import OutboxPublisher
from sync.topics import NodeTopics
from tests.sync_fixtures import (
    NODE,
    NODE_KEY,
    HubRunner,
    expected_ids,
    make_store,
    mqtt_config,
    outbox_seqs,
    wait_for,
)

EDGE = str(Path(sys.executable).with_name("edge"))


def _publisher(db: Path, url: str, **kw) -> OutboxPublisher:
    return OutboxPublisher(db, mqtt_config(url), NODE, backoff_first_s=0.1, backoff_cap_s=0.5,
                           **kw)


def test_broker_restart_during_drain_every_aggregate_once(tmp_path, broker, hub_store):
    db = make_store(tmp_path / "edge.db", rows=400)
    hub = HubRunner(*hub_store, broker.url).start()
    publisher = _publisher(db, broker.url)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(publisher.drain(60)))
    thread.start()
    wait_for(lambda: len(outbox_seqs(db, unsent_only=True)) < 300, what="first PUBACKs")
    broker.restart(down_s=0.5)
    thread.join(60)
    assert result == [True]
    assert outbox_seqs(db, unsent_only=True) == []
    assert publisher.counters["connects"] >= 2  # it really reconnected
    wait_for(lambda: len(hub.ids()) >= 400, what="hub to receive all 400")
    time.sleep(0.3)  # any late duplicate would land now
    assert hub.ids() == expected_ids(range(1, 401), db)
    assert hub.alive
    hub.stop()


def test_publisher_sigkill_before_confirmation_duplicates_absorbed(tmp_path, broker, hub_store):
    """Rows the broker took but the edge never saw confirmed go out again after a SIGKILL; the
    hub stores each once and counts the copies."""
    db = make_store(tmp_path / "edge.db", rows=200)
    config = tmp_path / "edge.toml"
    config.write_text('[node]\ndistrict = "d1"\nschool = "s1"\nroom = "r101"\nid = "n1"\n'
                      '[mqtt]\nmax_inflight = 20\n')
    HubRunner(*hub_store, broker.url).start().stop()  # a persistent session the broker queues for
    cmd = [EDGE, "sync", "drain", "--db", str(db), "--broker", broker.url, "--timeout", "30",
           "--config", str(config)]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # With the hub away no receipt comes: PUBACKed rows stay undelivered at the edge. (Racing a
    # running hub to a kill mid-drain was flaky: a fast drain may finish before the kill.)
    wait_for(lambda: _broker_acked(db) >= 20, what="first PUBACKs")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert len(outbox_seqs(db, unsent_only=True)) == 200
    hub = HubRunner(*hub_store, broker.url).start()
    wait_for(lambda: len(hub.ids()) >= 20, what="queued rows at the hub")
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    wait_for(lambda: len(hub.ids()) >= 200, what="hub to receive all 200")
    time.sleep(0.3)
    assert hub.ids() == expected_ids(range(1, 201), db)
    assert hub.hub.counters["duplicates"] >= 1
    assert outbox_seqs(db, unsent_only=True) == []
    hub.stop()


def _broker_acked(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE broker_acked_at IS NOT NULL"
                            ).fetchone()[0]
    finally:
        conn.close()


def test_broker_delivery_mode_hub_offline_persistent_session(tmp_path, broker, hub_store):
    db = make_store(tmp_path / "edge.db", rows=150)
    hub = HubRunner(*hub_store, broker.url).start()
    hub.stop()  # the broker keeps the session and queues for it
    # delivery = "broker": the PUBACK counts, so the drain ends with the hub still away.
    publisher = OutboxPublisher(db, mqtt_config(broker.url, delivery="broker"), NODE,
                                backoff_first_s=0.1, backoff_cap_s=0.5)
    assert publisher.drain(30)
    broker.restart()  # and the queue survives a broker restart (persistence)
    back = HubRunner(*hub_store, broker.url).start()
    wait_for(lambda: len(back.ids()) >= 150, what="queued messages after hub returns")
    assert back.ids() == expected_ids(range(1, 151), db)
    back.stop()


def test_stale_will_after_quick_reconnect_keeps_node_online(tmp_path, broker, hub_store):
    db = make_store(tmp_path / "edge.db", rows=5)
    hub = HubRunner(*hub_store, broker.url).start()
    assert _publisher(db, broker.url).drain(20)  # session 1, ends with an orderly offline
    conn = open_outbox(db)
    stop = threading.Event()
    thread = threading.Thread(target=_publisher(db, broker.url).run, args=(stop,))
    thread.start()
    wait_for(lambda: get_counter(conn, SESSION_KEY) == 2, what="second session")
    wait_for(lambda: (n := hub.hub.store.node(NODE_KEY)) is not None and n.online
             and n.session == 2, what="hub sees session 2 online")
    # The Will of session 1 arrives late (e.g. the broker noticed the old socket only now).
    raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()
    raw.publish(NodeTopics.for_node(NODE).state, encode(state_payload(False, 1)), qos=1,
                retain=True).wait_for_publish(5)
    wait_for(lambda: hub.hub.counters["state_ignored"] >= 1, what="stale Will ignored")
    node = hub.hub.store.node(NODE_KEY)
    assert node.online and node.session == 2
    raw.loop_stop()
    raw.disconnect()
    stop.set()
    thread.join(10)
    wait_for(lambda: not hub.hub.store.node(NODE_KEY).online, what="orderly offline applied")
    assert hub.hub.store.node(NODE_KEY).session == 2
    conn.close()
    hub.stop()


def test_will_marks_node_offline_when_publisher_dies(tmp_path, broker, hub_store):
    db = make_store(tmp_path / "edge.db", rows=0)
    hub = HubRunner(*hub_store, broker.url).start()
    code = ("import sys, threading; from sync.publisher import OutboxPublisher;"
            "from tests.sync_fixtures import NODE, mqtt_config;"
            f"OutboxPublisher({str(db)!r}, mqtt_config({broker.url!r}), NODE)"
            ".run(threading.Event())")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[1],
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    wait_for(lambda: (n := hub.hub.store.node(NODE_KEY)) is not None and n.online,
             what="node online")
    proc.kill()
    proc.wait(10)
    wait_for(lambda: not hub.hub.store.node(NODE_KEY).online, what="Will marks node offline")
    hub.stop()
