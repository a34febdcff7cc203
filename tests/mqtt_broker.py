"""A real Mosquitto broker for tests: free port, tmp config, persistence on, kill and restart.

Persistence is on (saved on every change and at shutdown), so a persistent session and the
messages queued for it survive :meth:`Broker.restart`.
"""

from __future__ import annotations

import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.ports import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Broker:
    """One mosquitto process; ``url`` stays the same across restarts."""

    def __init__(self, directory: Path, port: int | None = None, extra_conf: str = "",
                 persistence: bool = True):
        self.directory = directory
        self.port = port or free_port()
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # As root mosquitto would switch to user "mosquitto", who cannot write the tmp dir.
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            f"persistence {'true' if persistence else 'false'}\n"
            f"persistence_location {directory}/\n"
            "autosave_interval 1\n"
            "autosave_on_changes true\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            + extra_conf
        )
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Broker:
        """Start mosquitto and wait until it accepts connections."""
        if not Path(MOSQUITTO).exists():
            pytest.fail(f"mosquitto not installed ({MOSQUITTO}); .ci/run installs it")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"mosquitto exited: {self.process.stderr.read().decode()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        pytest.fail("mosquitto did not start listening within 10 s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker (SIGTERM saves persistence; SIGKILL does not)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, down_s: float = 0.3, sig: int = signal.SIGTERM) -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port."""
        self.stop(sig)
        time.sleep(down_s)
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the broker holds every packet unanswered until :meth:`resume`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def broker(tmp_path: Path):
    """A running broker in a tmp directory, stopped after the test."""
    directory = tmp_path / "broker"
    directory.mkdir()
    instance = Broker(directory).start()
    try:
        yield instance
    finally:
        if instance.process is not None:
            instance.resume()
        instance.stop()


class MessageRecorder:
    """Subscribes to ``topic`` on the broker at ``port`` and keeps every message it sees."""

    def __init__(self, port: int, topic: str = "cls/v1/#"):
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload))

    def payloads(self, topic_part: str) -> list[dict]:
        """The JSON payloads of messages whose topic contains ``topic_part``."""
        with self.lock:
            return [json.loads(p) for t, p in self.messages if topic_part in t]

    def aggregates(self) -> list[dict]:
        return self.payloads("/agg/")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
