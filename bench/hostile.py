"""Hostile-input fault table (issue 13 section 3): rerun every attack, print what got through.

Each row: the case, how many legitimate items were produced alongside the attack, how many of
them were stored (or answered), how many were lost, and what the attack itself got. Real
mosquitto, real SQLite and PostgreSQL hubs, the daemon's own web server, real `edge`
subprocesses. Run: ``.venv/bin/python bench/hostile.py`` (about a minute).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import httpx
import paho.mqtt.client as mqtt

from sync.hub_store import PostgresHubStore
from sync.publisher import OutboxPublisher
from sync.topics import NodeTopics
from tests.mqtt_broker import Broker
from tests.sync_fixtures import NODE, PG_URL, HubRunner, make_store, mqtt_config, outbox_seqs
from tests.test_hostile_input import png_bomb, wav_with_channels
from tests.test_hostile_mqtt import NESTED_LIST, _valid
from tests.test_web_hostile import Site

TOPICS = NodeTopics.for_node(NODE)
Row = tuple[str, int, int, str]  # case, produced, stored, what the attack got


def _raw(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def hub_case(broker: Broker, store_url: str, prefix: str, label: str) -> Row:
    """435 legitimate aggregates with a 2 KB nested JSON first on the same topic."""
    hub = HubRunner(store_url, prefix, broker.url).start()
    raw = _raw(broker.port)
    raw.publish(TOPICS.agg("classroom"), NESTED_LIST, qos=1).wait_for_publish(10)
    for seq in range(1, 436):
        raw.publish(TOPICS.agg("classroom"), _valid(seq), qos=1)
    _wait(lambda: hub.hub.counters["stored"] >= 435)
    stored = len(hub.ids())
    attack = f"rejected {hub.hub.counters['rejected']}, store errors {hub.hub.counters['store_errors']}"
    raw.loop_stop()
    raw.disconnect()
    hub.stop()
    return (f"nested JSON on agg ({label} hub)", 435, stored, attack)


def publisher_case(broker: Broker, folder: Path) -> Row:
    """A retained nested cmd/ping and cmd/resync {"seq": 1e30} while 100 rows drain."""
    db = make_store(folder / "edge.db", rows=100)
    raw = _raw(broker.port)
    raw.publish(TOPICS.prefix + "cmd/ping", NESTED_LIST, qos=1, retain=True).wait_for_publish(5)
    raw.publish(TOPICS.prefix + "cmd/resync", b'{"seq": 1e30}', qos=1,
                retain=True).wait_for_publish(5)
    publisher = OutboxPublisher(db, mqtt_config(broker.url), NODE, backoff_first_s=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,), daemon=True)
    thread.start()
    _wait(lambda: outbox_seqs(db, unsent_only=True) == [], 30)
    acked = 100 - len(outbox_seqs(db, unsent_only=True))
    alive = thread.is_alive()
    stop.set()
    thread.join(10)
    for verb in ("ping", "resync"):
        raw.publish(TOPICS.prefix + f"cmd/{verb}", b"", qos=1, retain=True).wait_for_publish(5)
    raw.loop_stop()
    raw.disconnect()
    return ("retained poison commands (publisher)", 100, acked,
            "publisher thread alive" if alive else "publisher thread DEAD")


def web_cases(folder: Path) -> list[Row]:
    site = Site(folder)
    rows: list[Row] = []
    try:
        page = site.teacher_browser()
        forged = page.post("/api/lesson/start", headers={"Origin": f"http://127.0.0.1:{site.port + 1}"})
        rows.append(("CSRF from another port (cookie)", 0, 0, f"HTTP {forged.status_code}"))
        tech = {"Authorization": f"Bearer {site.tokens.technician}",
                "Content-Type": "application/json"}
        big = httpx.put(site.base + "/api/calibration/zones", content=b"[" * 12_000_000,
                        headers=tech, timeout=30)
        rows.append(("12 MB zones PUT", 0, 0, f"HTTP {big.status_code}"))
        nul = httpx.get(site.base + "/static/x%00",
                        headers={"Authorization": f"Bearer {site.tokens.teacher}"})
        rows.append(("/static/x%00", 0, 0, f"HTTP {nul.status_code}"))
        codes = [httpx.get(site.base + "/api/live", headers={"Authorization": f"Bearer g{i:030d}"})
                 .status_code for i in range(12)]
        rows.append(("12 token guesses", 0, 0, f"{codes.count(401)} x 401, {codes.count(429)} x 429"))
    finally:
        site.live.close_listeners()
        site.server.stop()
    return rows


def cli_cases(folder: Path) -> list[Row]:
    def edge(*args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "edge.cli.main", *args], capture_output=True,
                              text=True, check=False, env={**os.environ, **(env or {})}, timeout=120)
        return f"exit {done.returncode}, {done.stderr.count(chr(10))} line(s)"

    nan = folder / "nan.toml"
    nan.write_text("[zones]\nteacher = [[0, 0], [nan, 0], [100, 100]]\n")
    plain = folder / "plain.toml"
    plain.write_text("[node]\nroom = 'r1'\n")
    scene = folder / "audio.jsonl"
    scene.write_text('{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                     '{"t": 0, "audio": {"speech": 0.5, "duration": 1e12}}\n')
    return [
        ("NaN zone coordinate", 0, 0, edge("config", "validate", str(nan))),
        ("config validate + bad EDGE__ override", 0, 0,
         edge("config", "validate", str(plain), env={"EDGE__ZONES__TEACHER": "[[0, 0]]"})),
        ("WAV with 0 channels", 0, 0,
         edge("calibrate", "audio", "--file", str(wav_with_channels(folder / "z.wav", 0)))),
        ("PNG bomb 100000 x 100000", 0, 0,
         edge("detect", str(png_bomb(folder / "bomb.png", 100_000, 100_000)))),
        ("scene audio duration 1e12", 0, 0, edge("replay", str(scene))),
    ]


def main() -> None:
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cpus {os.cpu_count()}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "broker").mkdir()
        broker = Broker(folder / "broker").start()
        try:
            rows.append(hub_case(broker, str(folder / "hub.db"), "", "SQLite"))
            prefix = f"b{uuid.uuid4().hex[:8]}_"
            rows.append(hub_case(broker, PG_URL, prefix, "PostgreSQL"))
            PostgresHubStore(PG_URL, prefix).drop_tables()
            rows.append(publisher_case(broker, folder))
        finally:
            broker.stop()
        (folder / "web").mkdir()
        rows += web_cases(folder / "web")
        rows += cli_cases(folder)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  produced  stored  lost  attack got")
    for case, produced, stored, got in rows:
        print(f"{case:<{width}}  {produced:>8}  {stored:>6}  {produced - stored:>4}  {got}")
    print(json.dumps({"lost_total": sum(r[1] - r[2] for r in rows)}))


if __name__ == "__main__":
    main()
