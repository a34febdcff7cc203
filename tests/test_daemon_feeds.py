"""Every sense live in `edge run` (a real subprocess): camera, microphone, environment sensors,
heart-rate bands; each source killed mid-run comes back without a restart.

Real parts: an MJPEG camera on localhost serving frames of a real video, a WAV of real (espeak-ng)
speech as the microphone, a CSV file a "logger" appends to, an MQTT sensor publishing to a real
mosquitto, simulated bands (the only simulated input: BLE needs a radio).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest

from tests.daemon_process import ROOT, Daemon, daemon_config, rows
from tests.mjpeg_camera import MjpegCamera
from tests.mqtt_broker import Broker
from tests.pe_scenegen import make_pe_scene
from tests.ports import free_port

VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"
TOPIC = "sensors/room-101"


def video_frames(count: int = 30, width: int = 480) -> list[np.ndarray]:
    """The demo video's first frames (a real person), scaled down for a light stream."""
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        scale = width / frame.shape[1]
        frames.append(cv2.resize(frame, None, fx=scale, fy=scale))
    capture.release()
    assert frames, f"cannot read {VIDEO}"
    return frames


def speech_wav(path: Path) -> Path:
    """A few seconds of real synthetic speech (espeak-ng), with a pause, as the microphone."""
    subprocess.run(["espeak-ng", "-w", str(path), "Good morning class. Open your books. "
                    "Who can tell me where the rain comes from?"], check=True)
    return path


class Logger:
    """A data logger appending one CSV row per second (t, co2_ppm, temp_c) until stopped."""

    def __init__(self, path: Path):
        self.path, self.t = path, 0
        path.write_text("t,co2_ppm,temp_c\n")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            with self.path.open("a") as handle:
                handle.write(f"{self.t},{800 + self.t},21.5\n")
            self.t += 1


class MqttSensor:
    """An existing sensor network's node: publishes CO2 and lux to ``TOPIC`` every 0.5 s."""

    def __init__(self, port: int):
        self.port = port
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        client.connect_async("127.0.0.1", self.port)
        client.loop_start()
        while not self.stop.wait(0.5):
            client.publish(TOPIC, json.dumps({"co2": 950, "illuminance": 420}))
        client.loop_stop()


def feed_metric(daemon: Daemon, name: str, feed: str) -> float:
    text = daemon.http.get("/metrics", headers=daemon.auth).text
    match = re.search(rf'^{name}\{{feed="{re.escape(feed)}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else -1.0


def feed_state(daemon: Daemon, feed: str) -> str | None:
    return daemon.http.get("/api/health").json()["feeds"].get(feed)


def windows(db: Path) -> list[dict]:
    return [json.loads(m) for (m,) in rows(db, "SELECT metrics FROM windows ORDER BY id")]


def recovers(daemon: Daemon, feed: str, kill, revive) -> None:
    """Kill a feed's source, see the failure reported, bring it back, see samples again."""
    daemon.wait_for(lambda: feed_metric(daemon, "edge_feed_samples_total", feed) > 0, 30,
                    f"{feed} delivering")
    failures = feed_metric(daemon, "edge_feed_failures_total", feed)
    kill()
    daemon.wait_for(lambda: feed_metric(daemon, "edge_feed_failures_total", feed) > failures
                    and feed_state(daemon, feed) == "retrying", 30, f"{feed} failure reported")
    samples = feed_metric(daemon, "edge_feed_samples_total", feed)
    revive()
    daemon.wait_for(lambda: feed_metric(daemon, "edge_feed_samples_total", feed) > samples
                    and feed_state(daemon, feed) == "running", 40, f"{feed} recovered")


@pytest.fixture
def port() -> int:
    return free_port()


def test_classroom_run_stores_audio_st_env_and_every_feed_recovers(tmp_path, port):
    wav = speech_wav(tmp_path / "speech.wav")
    logger = Logger(tmp_path / "logger.csv")
    broker = Broker(tmp_path, free_port()).start()
    sensor = MqttSensor(broker.port)
    camera = MjpegCamera(video_frames(), 1 / 10).start()
    extra = f"""
[classroom]
st_interval_s = 5.0
[audio]
enabled = true
source = "{wav}"
[[environment.sensors]]
type = "file"
name = "logger"
path = "{logger.path}"
[[environment.sensors]]
type = "mqtt"
name = "zigbee"
port = {broker.port}
topic = "{TOPIC}"
fields = {{ co2_ppm = "co2", lux_desk = "illuminance" }}
[heart_rate]
source = "simulated"
simulated_bands = 6
"""
    config = daemon_config(tmp_path, f'[cameras.front]\nsource = "{camera.url()}"\n', port, extra)
    db = tmp_path / "state" / "edge.db"
    logger.thread.start()
    sensor.thread.start()
    daemon = Daemon(config, port)
    try:
        daemon.wait_for(lambda: len(windows(db)) >= 3, 60, "three windows")
        health = daemon.http.get("/api/health").json()
        assert health["feeds"] == {"audio": "running", "env:logger": "running",
                                   "env:zigbee": "running", "heart-rate": "running"}
        assert health["cameras"] == {"front": "streaming"}
        last = windows(db)[-1]
        assert "students_present" in last  # the classroom block, from the camera
        assert last["audio"]["speech_ratio"] > 0.3  # the WAV is mostly speech
        assert last["st"]["samples"] in ("T", "S")  # one 5 s interval per 5 s window
        assert last["env"]["co2_ppm"] is not None and last["env"]["lux_desk"] == 420

        hidden = tmp_path / "speech.hidden"
        recovers(daemon, "audio", lambda: wav.rename(hidden), lambda: hidden.rename(wav))

        good = logger.path.read_text()
        recovers(daemon, "env:logger",
                 lambda: logger.path.write_text(good + "oops,not-a-number,\n"),
                 lambda: logger.path.write_text(good))

        recovers(daemon, "env:zigbee", broker.stop, broker.start)

        camera.stop()
        daemon.wait_for(lambda: daemon.camera_state("front") in ("stalled", "unreachable"), 20,
                        "camera lost")
        camera.start()
        daemon.wait_for(lambda: daemon.camera_state("front") == "streaming", 40, "camera back")

        count = len(windows(db))
        daemon.wait_for(lambda: len(windows(db)) >= count + 2, 30, "windows after the recoveries")
        after = windows(db)[-1]
        assert after["audio"] is not None and after["env"]["co2_ppm"] is not None
        assert daemon.proc.poll() is None
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
        camera.stop()
        logger.stop.set()
        sensor.stop.set()
        broker.stop()
    assert code == 0, "".join(daemon.lines)
    assert "Traceback" not in "".join(daemon.lines)


def test_pe_run_stores_pe_hr_and_env_blocks(tmp_path, port):
    # A generated PE lesson's people (16 students moving), its heart rates left out: those must
    # come from the heart-rate feed.
    pe = make_pe_scene(duration=60.0, fps=5.0)
    pe.heart = []
    scene = tmp_path / "gym.jsonl"
    pe.write_jsonl(scene)
    logger = Logger(tmp_path / "logger.csv")
    extra = f"""
[[environment.sensors]]
type = "file"
name = "logger"
path = "{logger.path}"
[heart_rate]
source = "simulated"
simulated_bands = 6
"""
    text = daemon_config(tmp_path, f'[cameras.gym]\nsource = "{scene}"\nloop = true\n', port,
                         extra).read_text()
    config = tmp_path / "pe.toml"
    config.write_text(text.replace("[node]\n", '[node]\nmode = "pe"\n'))
    db = tmp_path / "state" / "edge.db"
    logger.thread.start()
    daemon = Daemon(config, port)
    try:
        daemon.wait_for(lambda: len(windows(db)) >= 2, 30, "two windows")
        last = windows(db)[-1]
        assert last["participants"] >= 16  # the PE block (students and station users)
        assert 60 < last["hr"]["mean_bpm"] < 200
        assert last["env"]["co2_ppm"] is not None and "audio" not in last
        assert daemon.http.get("/api/health").json()["feeds"] == {
            "scene:gym": "running", "env:logger": "running", "heart-rate": "running"}
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
        logger.stop.set()
    assert code == 0, "".join(daemon.lines)
