"""The district page (`edge hub --web`): roles, node state from state/Will, live alerts, ack.

Real hub (ingest thread) fed by a real edge publisher process over a real Mosquitto; the page
in headless Chromium. Screenshots go to the test's tmp dir, never into the repository.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import Browser, serve

from edge.config import ZonesConfig
from edge.config.zones_file import save_zones
from edge.lesson.live import LiveState
from sync.district.app import DistrictTokens, create_app, load_tokens
from sync.hub_store import open_store
from tests.daemon_process import Daemon, daemon_config
from tests.pe_scenegen import make_pe_scene
from tests.ports import free_port
from tests.sync_fixtures import NODE_KEY, HubRunner, make_store, wait_for

ROOT = Path(__file__).resolve().parents[1]
TOKENS = DistrictTokens("district-token-0123456789", {"s1": "school-s1-token-012345",
                                                      "s2": "school-s2-token-012345"})
KEEPALIVE_S = 5


def _alert(store_url: str, prefix: str, node_key: str, seq: int, start: float) -> str:
    store = open_store(store_url, prefix)
    msg_id = f"{node_key}:0123456789abcdef:{seq}"
    payload = {"schema": "cls.agg.alert/v1", "msg_id": msg_id.split("/")[-1], "seq": seq,
               "window": {"start": start, "end": start}, "n": None,
               "values": {"suppressed": False, "alert": "fall", "zone": "court"},
               "quality": {}, "historical": False}
    assert store.insert_aggregate(msg_id, node_key, "alert", start, start, json.dumps(payload),
                                  start, "0123456789abcdef", seq)
    store.close()
    return msg_id


def _client(tmp_path: Path) -> tuple[TestClient, str]:
    url = str(tmp_path / "hub.db")
    open_store(url).close()
    return TestClient(create_app(lambda: open_store(url), TOKENS, KEEPALIVE_S)), url


def _auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_roles_scope_nodes_and_alerts_and_acknowledge(tmp_path):
    client, url = _client(tmp_path)
    store = open_store(url)
    store.update_node(NODE_KEY, True, 3, 1000.0)
    store.update_node("d1/s2/r9/n9", False, 1, 1000.0)
    store.set_health(NODE_KEY, 42, 1001.0)
    store.close()
    mine = _alert(url, "", NODE_KEY, 1, 1000.0)
    other = _alert(url, "", "d1/s2/r9/n9", 1, 1000.0)
    assert client.get("/api/nodes").status_code == 401
    assert client.get("/api/nodes", headers=_auth("wrong-token-0123456789")).status_code == 401
    every = client.get("/api/nodes", headers=_auth(TOKENS.district)).json()
    assert [n["node"] for n in every] == [NODE_KEY, "d1/s2/r9/n9"]
    assert every[0]["online"] and every[0]["backlog"] == 42 and not every[1]["online"]
    s1 = _auth(TOKENS.schools["s1"])
    assert [n["node"] for n in client.get("/api/nodes", headers=s1).json()] == [NODE_KEY]
    assert [a["msg_id"] for a in client.get("/api/alerts", headers=s1).json()] == [mine]
    assert client.post("/api/alerts/ack", json={"msg_id": other}, headers=s1).status_code == 404
    done = client.post("/api/alerts/ack", json={"msg_id": mine}, headers=s1).json()
    assert done["new"] and not client.post("/api/alerts/ack", json={"msg_id": mine},
                                           headers=s1).json()["new"]
    acked = client.get("/api/alerts", headers=_auth(TOKENS.district)).json()
    assert {a["msg_id"]: a["acked_by"] for a in acked} == {mine: "s1", other: None}


def test_token_file_errors_are_one_line(tmp_path):
    bad = tmp_path / "tokens.json"
    bad.write_text('{"district": "short"}')
    with pytest.raises(ValueError, match="tokens.json: needs"):
        load_tokens(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="cannot read tokens"):
        load_tokens(bad)


def test_page_shows_node_offline_within_keepalive_and_alert_within_2s(tmp_path, broker):
    hub = HubRunner(str(tmp_path / "hub.db"), "", broker.url).start()
    db = make_store(tmp_path / "edge.db", rows=3)
    code = ("import threading; from sync.publisher import OutboxPublisher;"
            "from tests.sync_fixtures import NODE, mqtt_config;"
            f"OutboxPublisher({str(db)!r}, mqtt_config({broker.url!r}, "
            f"keepalive_s={KEEPALIVE_S}), NODE, health_interval_s=1).run(threading.Event())")
    edge = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    app = create_app(lambda: open_store(str(tmp_path / "hub.db")), TOKENS, KEEPALIVE_S)
    browser = Browser(tmp_path / "profile")
    try:
        with serve(app, LiveState("classroom")) as base:
            browser.goto(f"{base}/")
            browser.wait_for("typeof start === 'function'", 10)  # district.js has run
            browser.evaluate(f"document.getElementById('token').value = '{TOKENS.district}';"
                             "document.getElementById('login').requestSubmit()")
            row = f"document.querySelector('#nodes tr[data-node=\"{NODE_KEY}\"]')"
            # The edge process needs a few seconds to import on a loaded machine.
            browser.wait_for(f"{row} && {row}.cells[3].className === 'online'", 40)
            wait_for(lambda: (hub.hub.store.node(NODE_KEY) is not None), what="node at hub")
            browser.wait_for(f"{row}.cells[5].textContent === '0'", 20)  # health: backlog 0

            msg_id = _alert(str(tmp_path / "hub.db"), "", NODE_KEY, 99, 2000.0)
            took = browser.wait_for(
                f"document.querySelector('#alerts tr[data-msg-id=\"{msg_id}\"]') !== null", 2.0)
            assert took <= 2.0
            browser.screenshot(tmp_path / "district_online_alert.png")
            browser.evaluate(
                f"document.querySelector('#alerts tr[data-msg-id=\"{msg_id}\"] button').click()")
            browser.wait_for(f"document.querySelector('#alerts tr[data-msg-id=\"{msg_id}\"]')"
                             ".cells[3].className === 'acked'", 5)

            edge.kill()  # no DISCONNECT: the broker publishes the Will after 1.5 keepalives
            edge.wait(10)
            offline = browser.wait_for(f"{row}.cells[3].className === 'offline'",
                                       1.5 * KEEPALIVE_S + 2)
            assert offline <= 1.5 * KEEPALIVE_S + 2
            browser.evaluate("document.getElementById('lang').click()")
            browser.wait_for("document.querySelector('h1').textContent === '区域看板'", 5)
            browser.wait_for(f"{row}.cells[3].textContent === '离线'", 3)
            browser.screenshot(tmp_path / "district_offline_zh.png")
            assert browser.console_errors() == []
            print("screenshots:", tmp_path)
    finally:
        browser.close()
        if edge.poll() is None:
            edge.kill()
        hub.stop()


def test_edge_hub_web_serves_the_api_and_refuses_bad_arguments(tmp_path, broker):
    edge = str(Path(sys.executable).with_name("edge"))
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"district": TOKENS.district, "schools": TOKENS.schools}))
    base = [edge, "hub", "--broker", broker.url, "--store", str(tmp_path / "hub.db")]
    missing = subprocess.run([*base, "--web", "127.0.0.1:1"], capture_output=True, text=True)
    assert missing.returncode == 2 and "--tokens" in missing.stderr
    bad = subprocess.run([*base, "--web", "nowhere", "--tokens", str(tokens)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr
    port = free_port()
    hub = subprocess.Popen([*base, "--web", f"127.0.0.1:{port}", "--tokens", str(tokens)])
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/me", headers=_auth(
            TOKENS.schools["s2"]))
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert json.load(response) == {"role": "school", "school": "s2"}
                break
            except OSError:
                assert time.monotonic() < deadline, "edge hub --web did not answer"
                time.sleep(0.2)
    finally:
        hub.terminate()
        assert hub.wait(15) == 0


def _fall_scene(path: Path) -> dict:
    """The generated PE lesson from 142 s to 160 s (one student falls while running at ~150 s),
    re-timed from 0 so the daemon meets the fall about 9 s after it starts playing."""
    scene = make_pe_scene(seed=0, duration=170.0)
    start = 142.0
    scene.poses = [dataclasses.replace(s, t=round(s.t - start, 3)) for s in scene.poses
                   if start <= s.t < 160.0]
    scene.heart = [dataclasses.replace(s, t=round(s.t - start, 3)) for s in scene.heart
                   if start <= s.t < 160.0]
    scene.write_jsonl(path)
    return scene.header


def _stored_alerts(db: Path) -> list[tuple[int, float]]:
    """(seq, created) of the alert rows the edge has stored in its outbox."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT seq, created FROM outbox WHERE kind = 'alert' "
                                "ORDER BY seq").fetchall()
        except sqlite3.OperationalError:  # the daemon has not created its tables yet
            return []


def test_an_edge_fall_alert_reaches_the_page_within_2s(tmp_path, broker):
    """`edge run` (PE, a generated lesson with a fall) -> its outbox and publisher -> Mosquitto
    -> `edge hub --web` -> the page in headless Chromium, timed from the edge's stored time."""
    scene = tmp_path / "gym.jsonl"
    header = _fall_scene(scene)
    web_port, hub_port = free_port(), free_port()
    # Not a demo: the lesson starts from the timetable, as in a school (all day, every day).
    timetable = ('[[lessons.timetable]]\nstart = "00:00"\nend = "23:59"\n'
                 "weekdays = [1, 2, 3, 4, 5, 6, 7]\n")
    config = daemon_config(tmp_path, f'[cameras.gym]\nsource = "{scene}"\n', web_port,
                           timetable)
    text = config.read_text().replace(
        "[node]\n", '[node]\nmode = "pe"\ndistrict = "d1"\nschool = "s1"\nroom = "gym"\n'
        f'id = "n7"\nage = {header["age"]}\n', 1).replace("demo = true", "demo = false")
    config.write_text(text.replace("[mqtt]\nenabled = false",
                                   f'[mqtt]\nenabled = true\nbroker = "{broker.url}"'))
    save_zones(config, ZonesConfig.model_validate(header["zones"]))  # the field's calibration
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"district": TOKENS.district, "schools": TOKENS.schools}))
    hub = subprocess.Popen([str(Path(sys.executable).with_name("edge")), "hub", "--broker",
                            broker.url, "--store", str(tmp_path / "hub.db"), "--web",
                            f"127.0.0.1:{hub_port}", "--tokens", str(tokens)], cwd=ROOT)
    browser = Browser(tmp_path / "profile")
    daemon = None
    try:
        base = f"http://127.0.0.1:{hub_port}"
        wait_for(lambda: _answers(f"{base}/"), 30, "edge hub --web")
        browser.goto(f"{base}/")
        browser.wait_for("typeof start === 'function'", 10)
        browser.evaluate(f"document.getElementById('token').value = '{TOKENS.schools['s1']}';"
                         "document.getElementById('login').requestSubmit()")
        browser.wait_for("document.getElementById('main').hidden === false", 10)
        daemon = Daemon(config, web_port)
        row = "document.querySelector('#nodes tr[data-node=\"d1/s1/gym/n7\"]')"
        browser.wait_for(f"{row} && {row}.cells[3].className === 'online'", 30)
        db = tmp_path / "state" / "edge.db"
        wait_for(lambda: bool(_stored_alerts(db)), 60, "the edge storing its fall alert")
        seq, created = _stored_alerts(db)[0]
        alert = f"document.querySelector('#alerts tr[data-msg-id$=\":{seq}\"]')"
        browser.wait_for(f"{alert} !== null", 10)
        shown = time.time()
        latency = shown - created
        print(f"fall alert: stored at the edge -> on the page {latency:.2f} s "
              f"(load {os.getloadavg()[0]:.2f})")
        assert browser.evaluate(f"{alert}.cells[2].textContent") == "fall, 1 student(s)"
        assert latency <= 2.0
        browser.screenshot(tmp_path / "district_edge_fall.png")
        browser.evaluate(f"{alert}.querySelector('button').click()")
        browser.wait_for(f"{alert}.cells[3].className === 'acked'", 5)
        assert browser.console_errors() == []
        print("screenshots:", tmp_path)
    finally:
        browser.close()
        if daemon is not None:
            daemon.kill()
        hub.terminate()
        hub.wait(15)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False
