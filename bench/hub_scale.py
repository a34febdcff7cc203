"""Hub scale benchmark: N `edge hub` workers on one MQTT 5 shared subscription, one PostgreSQL.

Starts its own Mosquitto (free port) and uses PostgreSQL at ``$HUB_PG`` (default
``postgresql://postgres@127.0.0.1:5432/test``) with a fresh table prefix per run. For each
(N workers, K nodes): N ``edge hub --shared`` processes, then a load generator that speaks the
edge's protocol faithfully for K nodes (per-node topics, store epoch, seq, real aggregate
payloads built by ``sync.payloads``, QoS 1, receipts on each node's ``receipt`` topic, and
re-publishing of whatever is not receipted after a timeout, as ``OutboxPublisher`` does).
Mid-run one worker is SIGKILLed (and restarted 2 s later, as systemd would). Printed per run:
produced, stored, distinct, lost, duplicates, receipted, messages/s until every message is
stored and receipted, the hub workers' CPU milliseconds per message (the SIGKILLed worker's
first life excluded: a capacity figure that does not depend on how busy the machine is), and
the load average (the machine is shared: read ratios, not absolutes).

Usage: ``python bench/hub_scale.py [--messages 3000] [--workers 1,2,4] [--nodes 10,1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt

from edge.config import NodeConfig
from sync.hub_store import PostgresHubStore
from edge.store.outbox import OutboxRow
from sync.payloads import aggregate_payload, encode, publish_properties
from sync.receipts import ReceiptError, covered_ranges
from sync.topics import NodeTopics
from tests.mqtt_broker import Broker
from tests.sync_fixtures import window_record

EDGE = str(Path(sys.executable).with_name("edge"))
PG_URL = os.environ.get("HUB_PG", "postgresql://postgres@127.0.0.1:5432/test")
RETRY_FIRST_S = 10.0  # like mqtt.receipt_timeout_s, doubling per round
CLIENTS = 4  # generator connections (each speaks for K / CLIENTS nodes)


class Generator:
    """K simulated nodes over a few MQTT connections; tracks what the hub receipted."""

    def __init__(self, port: int, nodes: int, per_node: int):
        self.nodes = [NodeConfig(district="d1", school=f"s{i % 50}", room=f"r{i}", id=f"n{i}")
                      for i in range(nodes)]
        self.epochs = {n.id: uuid.uuid4().hex[:16] for n in self.nodes}
        self.per_node = per_node
        self.unconfirmed = {(n.id, s) for n in self.nodes for s in range(1, per_node + 1)}
        self.lock = threading.Lock()
        self.receipts = 0
        self.clients = []
        for c in range(CLIENTS):
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, f"gen-{c}",
                                 protocol=mqtt.MQTTv5)
            client.max_inflight_messages_set(100)
            client.on_message = self._on_receipt
            client.connect("127.0.0.1", port)
            client.subscribe("cls/v1/+/+/+/+/receipt", qos=1)
            client.loop_start()
            self.clients.append(client)
        time.sleep(0.5)  # SUBACKs before the first aggregate

    def _on_receipt(self, client, userdata, message) -> None:
        node_id = message.topic.split("/")[5]
        try:
            ranges = covered_ranges(message.payload, self.epochs[node_id])
        except (ReceiptError, KeyError):
            return
        with self.lock:
            self.receipts += 1
            for low, high in ranges:
                for seq in range(low, high + 1):
                    self.unconfirmed.discard((node_id, seq))

    def publish(self, pairs) -> int:
        sent = 0
        for i, (node, seq) in enumerate(pairs):
            row = OutboxRow(seq, "classroom", json.dumps(window_record(seq)), False)
            payload = encode(aggregate_payload(row, node.id, self.epochs[node.id]))
            client = self.clients[i % CLIENTS]
            while client.publish(NodeTopics.for_node(node).agg("classroom"), payload, qos=1,
                                 properties=publish_properties()).rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                time.sleep(0.01)
            sent += 1
        return sent

    def run(self, timeout: float) -> tuple[int, float]:
        """Publish every message, re-publish unreceipted ones; (published, seconds)."""
        by_id = {n.id: n for n in self.nodes}
        start = time.perf_counter()
        published = self.publish((n, s) for s in range(1, self.per_node + 1)
                                 for n in self.nodes)
        wait, next_retry = 0.1, start + RETRY_FIRST_S
        while time.perf_counter() - start < timeout:
            time.sleep(wait)
            with self.lock:
                missing = sorted(self.unconfirmed)
            if not missing:
                break
            if time.perf_counter() >= next_retry:
                published += self.publish((by_id[n], s) for n, s in missing)
                next_retry = time.perf_counter() + 2 * (next_retry - start)
        return published, time.perf_counter() - start

    def close(self) -> None:
        for client in self.clients:
            client.loop_stop()
            client.disconnect()


def start_worker(broker: Broker, prefix: str, index: int) -> subprocess.Popen:
    return subprocess.Popen(
        [EDGE, "hub", "--broker", broker.url, "--store", PG_URL, "--table-prefix", prefix,
         "--shared", "bench", "--client-id", f"hub-{prefix}{index}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(workers: int, nodes: int, messages: int) -> dict:
    prefix = f"hs{uuid.uuid4().hex[:8]}_"
    PostgresHubStore(PG_URL, prefix).close()  # tables exist before the workers race for them
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp), persistence=False).start()
        procs = [start_worker(broker, prefix, i) for i in range(workers)]
        time.sleep(2.0)
        generator = Generator(broker.port, nodes, max(1, messages // nodes))
        produced = len(generator.unconfirmed)

        def kill_one() -> None:
            time.sleep(1.0)
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            time.sleep(2.0)
            procs[0] = start_worker(broker, prefix, 0)

        killer = threading.Thread(target=kill_one)
        killer.start()
        published, seconds = generator.run(timeout=120)
        killer.join()
        generator.close()
        hub_cpu = sum(cpu_seconds(proc.pid) for proc in procs)
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        broker.stop()
    store = PostgresHubStore(PG_URL, prefix)
    stored, distinct = store._conn.execute(
        f"SELECT count(*), count(DISTINCT msg_id) FROM {store.aggregates}").fetchone()
    store.drop_tables()
    store.close()
    return {"workers": workers, "nodes": nodes, "produced": produced, "published": published,
            "stored": stored, "distinct": distinct, "lost": produced - distinct,
            "duplicates": stored - distinct, "unreceipted": len(generator.unconfirmed),
            "receipts": generator.receipts, "msg_per_s": produced / seconds,
            "seconds": seconds, "cpu_ms_per_msg": 1000 * hub_cpu / produced}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--nodes", default="10,1000")
    args = parser.parse_args()
    print(f"hub scale: {args.messages} messages per run, one worker SIGKILLed mid-run "
          f"(restarted after 2 s); {os.cpu_count()} cores")
    print(f"{'N':>2} {'K':>5} {'produced':>8} {'published':>9} {'stored':>6} {'distinct':>8} "
          f"{'lost':>4} {'dup':>3} {'unrcpt':>6} {'msg/s':>7} {'hub CPU ms/msg':>14} "
          f"{'load1':>5}")
    for nodes in (int(k) for k in args.nodes.split(",")):
        for workers in (int(n) for n in args.workers.split(",")):
            r = one_run(workers, nodes, args.messages)
            print(f"{r['workers']:>2} {r['nodes']:>5} {r['produced']:>8} {r['published']:>9} "
                  f"{r['stored']:>6} {r['distinct']:>8} {r['lost']:>4} {r['duplicates']:>3} "
                  f"{r['unreceipted']:>6} {r['msg_per_s']:>7.0f} {r['cpu_ms_per_msg']:>14.2f} "
                  f"{os.getloadavg()[0]:>5.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
