"""sd_notify over a real AF_UNIX datagram socket, and the watchdog withheld when a loop wedges."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from edge.daemon.supervisor import WatchdogFeeder, format_status
from edge.daemon.systemd_notify import notify, notify_socket_address, watchdog_interval_s
from tests.ports import free_port

# A stand-in daemon: two loops beating, READY after "setup", status from the camera states.
# The inference loop wedges (stops beating, stays alive) once the file WEDGE exists.
DAEMON = textwrap.dedent(
    """
    import sys, threading, time
    from pathlib import Path
    from edge.daemon.heartbeat import Heartbeats
    from edge.daemon.supervisor import WatchdogFeeder, format_status
    from edge.daemon.systemd_notify import notify

    wedge = Path(sys.argv[1])
    beats = Heartbeats()
    cams = {"front": "connecting"}
    for name in ("capture:front", "inference"):
        beats.beat(name)

    def loop(name):
        while True:
            if not (name == "inference" and wedge.exists()):
                beats.beat(name)
            time.sleep(0.05)

    for name in ("capture:front", "inference"):
        threading.Thread(target=loop, args=(name,), daemon=True).start()
    feeder = WatchdogFeeder(beats, status=lambda: format_status(cams, "connected"), tick_s=0.1,
                            max_age_s=0.5)
    notify("READY=1")
    feeder.start()
    time.sleep(0.5)
    cams["front"] = "streaming"
    time.sleep(60)
    """
)


class NotifySocket:
    """The systemd side: a datagram socket that collects every message with its arrival time."""

    def __init__(self, address: str | bytes):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []

    def collect(self, seconds: float) -> list[tuple[float, str]]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))
        return self.messages

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_path(tmp_path: Path):
    path = tmp_path / "notify.sock"
    receiver = NotifySocket(str(path))
    yield path, receiver
    receiver.close()


def test_no_socket_is_a_no_op():
    assert notify("READY=1", env={}) is False
    assert notify_socket_address({}) is None
    assert watchdog_interval_s({}) is None


def test_bad_lines_are_refused():
    with pytest.raises(ValueError):
        notify("READY", env={})
    with pytest.raises(ValueError):
        notify("STATUS=a\nWATCHDOG=1", env={})


def test_watchdog_interval_is_half_of_usec_and_only_for_our_pid():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval_s(mine) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None


def test_path_and_abstract_sockets_receive_one_datagram(notify_path):
    path, receiver = notify_path
    assert notify("READY=1", "STATUS=up", env={"NOTIFY_SOCKET": str(path)})
    name = f"edge-test-{uuid.uuid4().hex}"
    abstract = NotifySocket(b"\0" + name.encode())
    try:
        assert notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name})
        assert [m for _, m in abstract.collect(0.3)] == ["WATCHDOG=1"]
    finally:
        abstract.close()
    assert [m for _, m in receiver.collect(0.3)] == ["READY=1\nSTATUS=up"]


def test_a_dead_socket_is_logged_not_raised(tmp_path, caplog):
    assert notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")}) is False
    assert "sd_notify" in caplog.text


class FakeLoops:
    """Stands in for the heartbeat registry: the test says which loops are stale."""

    def __init__(self) -> None:
        self.stalled: list[str] = []
        self.asked: list[float] = []

    def stale(self, max_age_s: float) -> list[str]:
        self.asked.append(max_age_s)
        return self.stalled


def test_feeder_pings_only_while_fresh_and_sends_status_on_change():
    sent: list[str] = []
    loops = FakeLoops()
    state = {"front": "connecting"}
    feeder = WatchdogFeeder(loops, status=lambda: format_status(state), interval_s=0.0001,
                            notifier=lambda *lines: sent.extend(lines) or True)
    feeder.tick()
    time.sleep(0.001)
    feeder.tick()
    assert sent == ["STATUS=cameras front=connecting", "WATCHDOG=1", "WATCHDOG=1"]
    assert loops.asked == [3.0, 3.0]  # default max age: one ping period, at least 3 s
    sent.clear()
    loops.stalled = ["inference"]
    time.sleep(0.001)
    feeder.tick()
    assert sent == ["STATUS=cameras front=connecting; stalled loops: inference"]
    assert feeder.withheld == 1 and feeder.pings == 2
    sent.clear()
    loops.stalled, state["front"] = [], "streaming"
    feeder.tick()
    assert sent == ["STATUS=cameras front=streaming", "WATCHDOG=1"]
    assert format_status({"b": "stalled", "a": "streaming"}, "connected", 3) == (
        "cameras a=streaming b=stalled; broker connected; outbox 3")


def test_daemon_process_sends_ready_status_and_watchdog_until_a_loop_wedges(tmp_path, notify_path):
    path, receiver = notify_path
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON)
    wedge = tmp_path / "wedge"
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"}
    process = subprocess.Popen([sys.executable, str(script), str(wedge)], env=env,
                               cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 30  # importing the daemon package takes a moment
        while not receiver.messages and time.monotonic() < deadline:
            receiver.collect(0.2)
        receiver.collect(2.5)
        healthy = list(receiver.messages)
        wedge.touch()
        wedged_at = time.monotonic()
        receiver.collect(2.5)
    finally:
        process.kill()
        process.wait()
    texts = [m for _, m in healthy]
    assert texts[0] == "READY=1", texts[:3]
    assert "STATUS=cameras front=connecting; broker connected" in texts
    assert "STATUS=cameras front=streaming; broker connected" in texts
    pings = [t for t, m in healthy if m == "WATCHDOG=1"]
    assert len(pings) >= 8, texts  # every ~0.2 s over the 2.5 s after READY
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert max(gaps) < 0.45, gaps  # always inside WATCHDOG_USEC
    later = [(t, m) for t, m in receiver.messages[len(healthy):]]
    # At most the ping already due before the loop counted as stale (0.5 s), then silence.
    late_pings = [t for t, m in later if m == "WATCHDOG=1" and t > wedged_at + 0.75]
    assert late_pings == [], later
    assert any("stalled loops: inference" in m for _, m in later), later




def start_edge_run(tmp_path: Path, notify: Path, receiver,
                   extra_cameras: str = "") -> subprocess.Popen:
    """`edge run` on the demo class scene (plus ``extra_cameras``) under the fake notify socket,
    with WatchdogSec=2 s; returns once the first notification has arrived."""
    scene = Path(__file__).resolve().parents[1] / "sensors/demo/classroom_demo.jsonl"
    config = tmp_path / "edge.toml"
    config.write_text(
        f'[node]\nid = "notify-1"\nstate_dir = "{tmp_path}"\n\n'
        f'[cameras.class]\nsource = "{scene}"\nloop = true\n\n{extra_cameras}'
        f'[store]\npath = "{tmp_path / "edge.db"}"\n\n[mqtt]\nenabled = false\n\n'
        f'[web]\nhost = "127.0.0.1"\nport = {free_port()}\nprimary_camera = "class"\n'
    )
    env = {**os.environ, "NOTIFY_SOCKET": str(notify), "WATCHDOG_USEC": "2000000"}
    process = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "run", "--config",
                                str(config)], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not receiver.messages and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode()[-2000:])
        receiver.collect(0.2)
    return process


def test_edge_run_notifies_ready_status_watchdog_and_stopping(tmp_path, notify_path):
    path, receiver = notify_path
    process = start_edge_run(tmp_path, path, receiver)
    try:
        receiver.collect(3.5)
        running = [m for _, m in receiver.messages]
        process.terminate()
        process.wait(timeout=30)
        receiver.collect(0.3)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert running[0] == "READY=1", running
    assert any(m.startswith("STATUS=cameras") for m in running), running
    assert running.count("WATCHDOG=1") >= 3, running  # every second while all loops beat
    assert not any("stalled loops" in m for m in running), running
    assert "STOPPING=1" in [m for _, m in receiver.messages][len(running):]
    assert process.returncode == 0


def test_edge_run_stops_the_watchdog_when_a_loop_wedges(tmp_path, notify_path):
    path, receiver = notify_path
    # A scene "camera" on a FIFO that sends its header and one sample, then stays silent while
    # held open: that feed loop blocks in a real read, the way a hung driver would.
    fifo = tmp_path / "wedge.jsonl"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # never blocks, and keeps the reader's reads waiting
    os.write(writer, b'{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                     b'{"t": 0.0, "audio": {"speech": 0.5}}\n')
    try:
        wedge = f'[cameras.wedge]\nsource = "{fifo}"\n\n'
        process = start_edge_run(tmp_path, path, receiver, wedge)
        try:
            receiver.collect(8.0)  # the wedged loop goes stale after 3 s (MIN_STALE_S)
        finally:
            process.kill()
            process.wait()
    finally:
        os.close(writer)
    messages = receiver.messages
    assert messages[0][1] == "READY=1", messages
    stalled = [t for t, m in messages if "stalled loops: scene:wedge" in m]
    assert stalled, [m for _, m in messages]
    before = [m for t, m in messages if t < stalled[0]]
    after = [m for t, m in messages if t > stalled[0]]
    assert "WATCHDOG=1" in before, before  # pinged while the loop was still fresh
    assert "WATCHDOG=1" not in after, after  # systemd would now restart the service
