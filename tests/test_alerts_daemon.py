"""Real-time alerts inside `edge run`: a PE lesson with a fall (a scene file standing in for the
camera, played at real-time pace: the pose model's speed is not under test here, see
tests/test_fall_video.py for the real clip); the fall reaches the teacher's page (headless
Chromium) within 2 s of detection and the hub's broker at once as one `agg/alert` record, long
before its window closes; the teacher acknowledges it on the page."""

from __future__ import annotations

import time
from dataclasses import replace

from sync.contract import validator
from tests.daemon_process import TOKEN, Daemon, daemon_config, rows
from tests.mqtt_broker import MessageRecorder
from tests.pe_scenegen import PEScene, make_pe_scene
from tests.ports import free_port
from tests.web_fixtures import Browser

FALL_AT_S = 5.0  # where the generated faller hits the floor in the cut-out scene

BANNER = "document.querySelector('#alert-banner:not([hidden]) .alert-fall') !== null"


def _fall_scene(path) -> None:
    """The generated PE lesson from 5 s before its fall (t = 150 s) to 15 s after, re-timed."""
    full = make_pe_scene(duration=166.0)
    cut = [replace(s, t=round(s.t - 150.0 + FALL_AT_S, 3)) for s in full.poses
           if 150.0 - FALL_AT_S <= s.t < 165.0]
    PEScene(header=full.header, poses=cut).write_jsonl(path)


def test_fall_in_the_running_daemon_reaches_page_and_mqtt_at_once(tmp_path, broker):
    port = free_port()
    scene = tmp_path / "fall.jsonl"
    _fall_scene(scene)
    cameras = f'[cameras.gym]\nsource = "{scene}"\n'
    text = daemon_config(tmp_path, cameras, port).read_text()
    text = text.replace("[mqtt]\nenabled = false", f'[mqtt]\nenabled = true\nbroker = "{broker.url}"')
    text = text.replace("[node]\n", '[node]\nmode = "pe"\n').replace("seconds = 5.0", "seconds = 60.0")
    (tmp_path / "edge.toml").write_text(text)
    db = tmp_path / "state" / "edge.db"
    hub = MessageRecorder(broker.port, "cls/v1/+/+/+/+/agg/#")
    daemon = Daemon(tmp_path / "edge.toml", port)
    browser = Browser(tmp_path / "profile")
    try:
        browser.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        browser.wait_for("document.getElementById('alert-banner') !== null", 15)
        assert browser.evaluate("document.getElementById('alert-banner').hidden")
        browser.wait_for(BANNER, 40)
        seen = time.time()
        [(start, n)] = rows(db, "SELECT start, n FROM alerts")[:1]
        lesson = daemon.http.get("/api/live", headers=daemon.auth).json()["lesson"]
        assert n == 1 and 0 < start - lesson["start"] <= FALL_AT_S + 3  # the scene's fall
        print(f"banner on the page {seen - start:.2f} s after detection")
        assert seen - start <= 2.0, f"banner {seen - start:.2f} s after detection"
        daemon.wait_for(lambda: hub.payloads("/agg/alert"), 10, "agg/alert on the broker")
        assert time.time() - start < 10  # a 60 s window is far from closed
        payload = hub.payloads("/agg/alert")[0]
        validator("agg.alert").validate(payload)
        assert payload["values"] == {"alert": {"kind": "fall", "count": 1}, "suppressed": False}
        assert payload["mode"] == "pe" and payload["window"]["start"] == start
        assert not hub.payloads("/agg/pe")  # the window holding the fall is still open

        text = browser.evaluate("document.querySelector('#alert-banner .alert-text').textContent")
        assert text  # a sentence, not a key
        browser.evaluate("document.querySelector('#alert-banner button[data-ack]').click()")
        browser.wait_for("document.getElementById('alert-banner').hidden || "
                         "!document.querySelector('#alert-banner .alert-fall')", 5)
        assert browser.console_errors() == []
        code, _ = daemon.terminate()
    finally:
        browser.close()
        daemon.kill()
        hub.close()
    assert code == 0, "".join(daemon.lines)
    assert rows(db, "SELECT COUNT(*) FROM alerts")[0][0] == 1  # one fall, one alert
