"""Helpers for the web tests: a lesson control that plays a generated scene through a real
LessonSession into a real Store and LiveState, a uvicorn server in a thread, a CDP browser."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
import websocket
from scenegen import Scene

from edge.config import EdgeConfig
from edge.lesson.live import LessonConflict, LiveState
from edge.lesson.session import LessonSession
from edge.store import Store
from tests.ports import free_port

CHROMIUM = "/usr/bin/chromium"


class ScenePlayer:
    """A LessonControl that plays ``scene`` on demand: :meth:`advance_to` feeds its samples up
    to a scene time, storing each closed window and pushing it to ``live`` as the daemon does."""

    def __init__(self, config: EdgeConfig, live: LiveState, store_path: Path, scene: Scene):
        self.config, self.live, self.scene = config, live, scene
        self.store_path = store_path
        self._lock = threading.Lock()
        self._session: LessonSession | None = None
        self._next = 0

    def start_lesson(self) -> None:
        with self._lock:
            if self._session is not None:
                raise LessonConflict("a lesson is already running")
            self._session = LessonSession(self.config, "classroom", zones=self.scene.zones, start=0.0)
            self._next = 0
            self.live.start_lesson(start=0.0)

    def end_lesson(self) -> None:
        with self._lock:
            if self._session is None:
                raise LessonConflict("no lesson is running")
            records = self._session.finish()
            self._session = None
            self._publish(records)

    def advance_to(self, t: float) -> int:
        """Feed samples with time < ``t``; returns the number of windows closed."""
        with self._lock:
            if self._session is None:
                raise LessonConflict("no lesson is running")
            records = []
            samples = self.scene.samples
            while self._next < len(samples) and samples[self._next].t < t:
                records += self._session.feed(samples[self._next])
                self._next += 1
            self._publish(records)
            return sum(r["type"] == "window" for r in records)

    def _publish(self, records: list[dict[str, Any]]) -> None:
        with Store(self.store_path) as store:  # this thread's own connection
            for record in records:
                store.write_record(record)
                if record["type"] == "window":
                    self.live.add_window(record)
                else:
                    self.live.end_lesson(record)




@contextmanager
def serve(app: Any, live: LiveState) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.close_listeners()
        server.should_exit = True
        thread.join(10)


class Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900):
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            assert self.proc.poll() is None and time.monotonic() < deadline, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self._id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  width=width, height=height, deviceScaleFactor=1, mobile=False)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float) -> float:
        """Seconds until ``expression`` is truthy in the page; AssertionError after ``timeout``."""
        start = time.monotonic()
        while not self.evaluate(expression):
            assert time.monotonic() - start < timeout, f"not true within {timeout} s: {expression}"
            time.sleep(0.05)
        return time.monotonic() - start

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen so far."""
        self.send("Runtime.evaluate", expression="0")  # drain events already sent
        errors = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params["exceptionDetails"])[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                errors.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"].get("text", "") + " " + params["entry"].get("url", ""))
        return errors

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
