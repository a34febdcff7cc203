"""Delivery confirmed by the hub (SPEC 7 receipts): a broker that loses its state loses nothing.

Real Mosquitto without persistence (SIGKILLed and restarted empty), the real hub, and the real
`edge sync drain` / `edge sync status --json` commands. Each scenario lost every row (or many)
when the broker's PUBACK counted as delivery (issue 14: 17/17, 2,206/10,000, 435/435).
"""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.store import Store
from sync.publisher import OutboxPublisher
from sync.receipts import ReceiptError, covered_ranges, receipt_payloads
from sync.topics import NodeTopics
from tests.daemon_process import ROOT, Daemon, daemon_config
from tests.mqtt_broker import Broker
from tests.ports import free_port
from tests.sync_fixtures import (
    NODE,
    HubRunner,
    add_rows,
    expected_ids,
    make_store,
    mqtt_config,
    outbox_seqs,
    store_epoch_of,
    wait_for,
)

EDGE = str(Path(sys.executable).with_name("edge"))
TOPICS = NodeTopics.for_node(NODE)
VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"


@pytest.fixture
def volatile_broker(tmp_path: Path):
    """A broker without persistence: a restart (or SIGKILL) forgets every session and queue."""
    directory = tmp_path / "volatile-broker"
    directory.mkdir()
    instance = Broker(directory, persistence=False).start()
    try:
        yield instance
    finally:
        instance.stop()


def _config(tmp_path: Path, **mqtt_keys) -> Path:
    path = tmp_path / "edge.toml"
    keys = {"max_inflight": 20, "receipt_timeout_s": 2, **mqtt_keys}
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    path.write_text('[node]\ndistrict = "d1"\nschool = "s1"\nroom = "r101"\nid = "n1"\n'
                    f"[mqtt]\n{lines}")
    return path


def _drain(db: Path, broker: Broker, config: Path, timeout: float) -> tuple[int, dict]:
    res = subprocess.run([EDGE, "sync", "drain", "--db", str(db), "--broker", broker.url,
                          "--timeout", str(timeout), "--config", str(config)],
                         capture_output=True, text=True, timeout=timeout + 60)
    return res.returncode, json.loads(res.stdout.strip().splitlines()[-1])


def _status(db: Path, config: Path) -> dict:
    res = subprocess.run([EDGE, "sync", "status", "--json", "--db", str(db), "--config",
                          str(config)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(res.stdout)


def _settled(hub: HubRunner, count: int) -> list[str]:
    wait_for(lambda: len(hub.ids()) >= count, what=f"{count} aggregates at the hub")
    time.sleep(0.5)  # a late duplicate would land now
    return hub.ids()


def test_hub_away_broker_killed_empty_then_hub_back(tmp_path, volatile_broker, hub_store):
    db = make_store(tmp_path / "edge.db", rows=17)
    config = _config(tmp_path)
    hub = HubRunner(*hub_store, volatile_broker.url).start()
    hub.stop()  # its persistent session is at the broker, which will forget it
    code, out = _drain(db, volatile_broker, config, timeout=4)
    assert code == 1 and out["confirmed"] == 0
    status = _status(db, config)
    assert status["unsent"] == 17 and status["unacked_by_broker"] == 0  # PUBACKed, not delivered
    volatile_broker.restart(sig=signal.SIGKILL)  # restarts empty: the 17 queued rows are gone
    back = HubRunner(*hub_store, volatile_broker.url).start()
    code, out = _drain(db, volatile_broker, config, timeout=30)
    assert code == 0, out
    assert _settled(back, 17) == expected_ids(range(1, 18), db)
    assert _status(db, config)["unsent"] == 0
    back.stop()


def test_broker_sigkilled_mid_drain_without_persistence(tmp_path, volatile_broker):
    db = make_store(tmp_path / "edge.db", rows=2000)
    config = _config(tmp_path, max_inflight=100)
    hub = HubRunner(str(tmp_path / "hub.db"), "", volatile_broker.url).start()
    result: list[tuple[int, dict]] = []
    drain = threading.Thread(target=lambda: result.append(
        _drain(db, volatile_broker, config, timeout=90)))
    drain.start()
    wait_for(lambda: len(hub.ids()) >= 300, what="first rows at the hub")
    volatile_broker.restart(down_s=0.5, sig=signal.SIGKILL)
    drain.join(120)
    assert result and result[0][0] == 0, result
    assert _settled(hub, 2000) == expected_ids(range(1, 2001), db)
    assert _status(db, config)["unsent"] == 0
    assert hub.hub.counters["receipts"] >= 1
    hub.stop()


def test_edge_publishes_before_any_hub_session_exists(tmp_path, volatile_broker):
    db = make_store(tmp_path / "edge.db", rows=435)
    config = _config(tmp_path)
    # PUBACK 0x10 "no matching subscribers": the broker drops every row at once.
    code, out = _drain(db, volatile_broker, config, timeout=4)
    assert code == 1 and out["confirmed"] == 0 and out["unsent"] == 435
    hub = HubRunner(str(tmp_path / "hub.db"), "", volatile_broker.url).start()
    code, out = _drain(db, volatile_broker, config, timeout=60)
    assert code == 0 and out["unsent"] == 0
    assert _settled(hub, 435) == expected_ids(range(1, 436), db)
    hub.stop()


def test_unreceipted_rows_republished_after_timeout_in_one_connection(tmp_path, volatile_broker):
    db = make_store(tmp_path / "edge.db", rows=40)
    publisher = OutboxPublisher(db, mqtt_config(volatile_broker.url, receipt_timeout_s=1), NODE,
                                backoff_first_s=0.1, backoff_cap_s=0.5)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,))
    thread.start()
    wait_for(lambda: publisher.counters["acked"] >= 40, what="40 PUBACKs with no hub")
    hub = HubRunner(str(tmp_path / "hub.db"), "", volatile_broker.url).start()
    # Same connection, no restart: only the receipt timeout can bring the rows to the hub.
    wait_for(lambda: outbox_seqs(db, unsent_only=True) == [], timeout=30,
             what="rows re-published and receipted")
    assert publisher.counters["connects"] == 1 and publisher.counters["republished"] >= 40
    assert _settled(hub, 40) == expected_ids(range(1, 41), db)
    stop.set()
    thread.join(10)
    hub.stop()


def test_recreated_store_gets_a_new_epoch_and_every_record_is_stored(tmp_path, broker):
    """Regression (issue 13): msg_id <node>:<seq> restarted with a new store -> dropped."""
    hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
    db = make_store(tmp_path / "edge.db", rows=25)
    first_epoch = store_epoch_of(db)
    assert OutboxPublisher(db, mqtt_config(broker.url), NODE).drain(30)
    for leftover in tmp_path.glob("edge.db*"):
        leftover.unlink()
    make_store(db, rows=0)
    add_rows(db, range(100, 148))  # seqs 1..48 again, new windows
    assert store_epoch_of(db) != first_epoch
    assert OutboxPublisher(db, mqtt_config(broker.url), NODE).drain(30)
    ids = _settled(hub, 73)
    assert len(ids) == 73 and hub.hub.counters["duplicates"] == 0
    assert sum(1 for i in ids if i.split(":")[1] == first_epoch) == 25
    hub.stop()


def test_duplicate_msg_id_with_different_content_is_logged(tmp_path, broker, caplog):
    hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
    raw = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    raw.connect("127.0.0.1", broker.port)
    raw.loop_start()

    def send(start: float, historical: bool) -> None:
        payload = {"schema": "cls.agg.classroom/v1", "msg_id": "n1:5", "seq": 5,
                   "window": {"start": start, "end": start + 30}, "n": 30,
                   "values": {"suppressed": False}, "quality": {}, "historical": historical}
        raw.publish(TOPICS.agg("classroom"), json.dumps(payload), qos=1).wait_for_publish(5)

    with caplog.at_level(logging.WARNING, logger="sync.hub"):
        send(0.0, False)
        send(0.0, True)  # a re-send marked historical: the same content
        wait_for(lambda: hub.hub.counters["duplicates"] == 1, what="first duplicate")
        assert hub.hub.counters["conflicts"] == 0
        send(600.0, False)  # same id, another window: an epoch-less node reused its ids
        wait_for(lambda: hub.hub.counters["conflicts"] == 1, what="conflict counted")
    assert any("different content" in r.getMessage() for r in caplog.records)
    wait_for(lambda: len(hub.ids()) == 1, what="the first one committed")  # batched commits
    time.sleep(0.5)
    assert len(hub.ids()) == 1
    raw.loop_stop()
    raw.disconnect()
    hub.stop()


def test_receipt_ranges_round_trip_and_bad_receipts():
    epoch = "0123456789abcdef"
    seqs = [1, 2, 3, 7, 8, 20]
    (payload,) = receipt_payloads(epoch, seqs)
    assert (payload["from"], payload["upto"], payload["gaps"]) == (1, 20, [[4, 6], [9, 19]])
    assert covered_ranges(json.dumps(payload).encode(), epoch) == [(1, 3), (7, 8), (20, 20)]
    many = receipt_payloads(epoch, range(1, 2000, 2))  # 1,000 runs: split, each within bounds
    covered = [s for p in many for lo, hi in covered_ranges(json.dumps(p).encode(), epoch)
               for s in range(lo, hi + 1)]
    assert covered == list(range(1, 2000, 2))
    with pytest.raises(ReceiptError, match="epoch"):
        covered_ranges(json.dumps(payload).encode(), "fedcba9876543210")
    with pytest.raises(ReceiptError, match="gap"):
        covered_ranges(json.dumps({**payload, "gaps": [[2, 30]]}).encode(), epoch)
    with pytest.raises(ReceiptError, match="refused"):
        covered_ranges(b"{", epoch)
    with pytest.raises(ReceiptError, match="refused"):
        covered_ranges(b"[" * 5000, epoch)  # nesting bomb


def test_epoch_made_once_at_creation(tmp_path):
    with Store(tmp_path / "a.db") as first, Store(tmp_path / "b.db") as second:
        epochs = [s.db.execute("SELECT value FROM meta WHERE key = 'store.epoch'").fetchone()[0]
                  for s in (first, second)]
    assert epochs[0] != epochs[1] and all(len(e) == 16 for e in epochs)
    with Store(tmp_path / "a.db") as again:
        assert again.db.execute(
            "SELECT value FROM meta WHERE key = 'store.epoch'").fetchone()[0] == epochs[0]


def test_daemon_keeps_rows_until_the_hub_receipts_them(tmp_path, broker):
    """Inside `edge run`: PUBACKed rows stay undelivered with no hub, then the receipts come."""
    port = free_port()
    cameras = (f'[cameras.front]\nsource = "{VIDEO}"\nloop = true\nanalyse_fps = 0.5\n'
               "[pose]\ntiles = 1\n")
    text = daemon_config(tmp_path, cameras, port).read_text().replace(
        "[mqtt]\nenabled = false",
        f'[mqtt]\nenabled = true\nbroker = "{broker.url}"\nreceipt_timeout_s = 2')
    (tmp_path / "edge.toml").write_text(text)
    db = tmp_path / "state" / "edge.db"

    def rows() -> list[tuple]:
        if not db.exists():
            return []
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT seq, broker_acked_at, sent_at FROM outbox").fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            conn.close()

    daemon = Daemon(tmp_path / "edge.toml", port)
    hub = None
    try:
        daemon.wait_for(lambda: sum(1 for _, acked, _ in rows() if acked) >= 2, 90,
                        "two windows PUBACKed by the broker")
        assert all(sent is None for _, _, sent in rows())  # no hub: nothing is delivered
        hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
        daemon.wait_for(lambda: sum(1 for _, _, sent in rows() if sent) >= 2, 60,
                        "windows receipted by the hub")
        delivered = {seq for seq, _, sent in rows() if sent}
        epoch = store_epoch_of(db)
        at_hub = {int(i.rsplit(":", 1)[1]) for i in hub.ids() if f":{epoch}:" in i}
        assert delivered <= at_hub  # delivered means the hub has it
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
        if hub is not None:
            hub.stop()
    assert code == 0, "".join(daemon.lines)
