"""`edge run` as a real subprocess for tests: a config writer, the process with its log, and a
small reader of its store."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "sensors" / "demo" / "classroom_demo.jsonl"
TOKEN = "test-teacher-token-0123456789"
TECH = "test-technician-token-0123456789"


def daemon_config(tmp_path: Path, cameras: str, port: int, extra: str = "") -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(f"""
[node]
demo = true
state_dir = "{tmp_path / 'state'}"
{cameras}
[runtime]
intra_op_threads = 1
[window]
seconds = 5.0
[store]
path = "{tmp_path / 'state' / 'edge.db'}"
[mqtt]
enabled = false
[web]
host = "127.0.0.1"
port = {port}
token = "{TOKEN}"
technician_token = "{TECH}"
{extra}
""")
    return path


class Daemon:
    """`edge run` in a subprocess with its stderr collected."""

    def __init__(self, config: Path, port: int):
        self.port = port
        self.proc = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "run", "--config",
                                      str(config)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5)
        self.auth = {"Authorization": f"Bearer {TOKEN}"}
        self.wait_for(self._up, 30, "web page up")

    def _collect(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def _up(self) -> bool:
        assert self.proc.poll() is None, "".join(self.lines)
        try:
            return self.http.get("/api/health").status_code == 200
        except httpx.TransportError:
            return False

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}:\n" + "".join(self.lines)
            time.sleep(0.2)

    def metric(self, name: str, camera: str | None = None) -> float:
        text = self.http.get("/metrics", headers=self.auth).text
        labels = re.escape(f'{{camera="{camera}"}}') if camera is not None else ""
        match = re.search(rf'^{name}{labels} (\S+)$', text, re.MULTILINE)
        return float(match.group(1)) if match else -1.0

    def camera_state(self, camera: str) -> str | None:
        return self.http.get("/api/health").json()["cameras"].get(camera)

    def terminate(self, timeout: float = 10.0) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.http.close()


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()
