"""Nothing lost (issue 13 section 2): a second daemon, a read-only store, a full disk.

Before: two daemons both wrote every window; a read-only store let the daemon report ready,
refuse every record and exit 0; a full disk (guard off) dropped the window for good.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import in_ci
from store_faults import can_mount, fill_disk, read_only_file, read_only_mount, small_tmpfs
from test_retention import lesson, window

from edge.config import StoreConfig
from edge.daemon.heartbeat import Heartbeats
from edge.daemon.store_writer import PROBLEM, StoreWriter
from edge.lesson.live import LiveState
from edge.store import Store, StoreLock, StoreLocked
from tests.daemon_process import ROOT, SCENE, Daemon, daemon_config, rows
from tests.ports import free_port

# Outside CI a machine without root skips these with the reason; in CI they must run (and fail
# loudly if mounting is impossible), so the skip can never hide a failure there.
needs_mount = pytest.mark.skipif(can_mount() is not None and not in_ci(), reason=str(can_mount()))
CAMERAS = f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n'


def _edge_run(config: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env)


def test_the_store_lock_is_exclusive_and_names_the_holder(tmp_path):
    db = tmp_path / "edge.db"
    with StoreLock(db):
        with pytest.raises(StoreLocked, match=rf"in use by another edge process \(pid {os.getpid()}\)"):
            StoreLock(db).acquire()
    with StoreLock(db):  # released: the next one gets it
        pass


def test_a_second_daemon_on_the_same_store_refuses_to_start(tmp_path):
    port = free_port()
    first = Daemon(daemon_config(tmp_path, CAMERAS, port), port)
    try:
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        config = daemon_config(second_dir, CAMERAS, free_port()).read_text().replace(
            str(second_dir / "state" / "edge.db"), str(tmp_path / "state" / "edge.db"))
        (second_dir / "edge.toml").write_text(config)
        second = _edge_run(second_dir / "edge.toml")
        try:
            code = second.wait(timeout=60)
        finally:
            if second.poll() is None:
                second.kill()
        err = second.stderr.read()
        assert code == 1, err
        last = err.strip().splitlines()[-1]  # the one clear line of the exit
        assert last.startswith("edge run: ") and \
            f"in use by another edge process (pid {first.proc.pid})" in last, err
        assert first.proc.poll() is None  # the first one is untouched
    finally:
        first.kill()


@needs_mount
def test_a_read_only_store_fails_start_before_ready(tmp_path):
    (tmp_path / "state").mkdir()
    db = tmp_path / "state" / "edge.db"
    with Store(db) as store:
        store.write_record(window(0.0))
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(0.1)
    try:
        with read_only_file(db):
            env = {**os.environ, "NOTIFY_SOCKET": str(sock_path)}
            proc = _edge_run(daemon_config(tmp_path, CAMERAS, free_port()), env)
            try:
                code = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
        messages = []
        while True:
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                break
    finally:
        sock.close()
    err = proc.stderr.read()
    assert code == 1, err
    assert "store is not writable: attempt to write a readonly database" in err
    assert not any("READY=1" in m for m in messages), messages


@needs_mount
def test_a_read_only_state_directory_fails_start_with_the_reason(tmp_path):
    state = tmp_path / "state"
    with small_tmpfs(state, 4096):
        with Store(state / "edge.db") as store:
            store.write_record(window(0.0))
        with read_only_mount(state):
            proc = _edge_run(daemon_config(tmp_path, CAMERAS, free_port()))
            try:
                code = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
    err = proc.stderr.read()
    assert code == 1, err
    assert "Read-only file system" in err.strip().splitlines()[-1], err


@needs_mount
def test_a_full_disk_fails_health_keeps_records_and_catches_up(tmp_path, monkeypatch):
    """The daemon: health 503 with the reason while the disk is full (guard off), and every
    window of that time written once there is room again."""
    monkeypatch.setenv("EDGE__STORE__MIN_FREE_MB", "0")  # the guard off: the disk really fills
    state = tmp_path / "state"
    with small_tmpfs(state, 16384):
        port = free_port()
        daemon = Daemon(daemon_config(tmp_path, CAMERAS, port), port)
        try:
            db = state / "edge.db"
            daemon.wait_for(lambda: rows(db, "SELECT count(*) FROM windows")[0][0] >= 1, 60,
                            "a first window")
            with fill_disk(state):
                daemon.wait_for(lambda: daemon.http.get("/api/health").status_code == 503, 30,
                                "health to fail")
                health = daemon.http.get("/api/health").json()
                assert health["status"] == "failing"
                assert any(p.startswith(f"{PROBLEM}: ") and "full" in p
                           for p in health["problems"]), health
                time.sleep(6.0)  # windows close meanwhile and wait in memory
            daemon.wait_for(lambda: daemon.http.get("/api/health").status_code == 200, 30,
                            "health to recover")
            code, _ = daemon.terminate(timeout=30)
            assert code == 0, "".join(daemon.lines)
            starts = [r[0] for r in rows(db, "SELECT start FROM windows ORDER BY start")]
            gaps = [round(b - a, 2) for a, b in zip(starts, starts[1:])]
            assert len(starts) >= 3 and set(gaps) == {5.0}, gaps  # none missing
        finally:
            daemon.kill()


@needs_mount
def test_a_full_disk_keeps_windows_in_memory_and_writes_them_when_there_is_room(tmp_path):
    folder = tmp_path / "small"
    with small_tmpfs(folder, 8192):
        db = folder / "edge.db"
        with Store(db) as store:
            store.write_record(window(0.0))
        live = LiveState("classroom")
        writer = StoreWriter(StoreConfig(path=db, min_free_mb=0), live, Heartbeats())
        with fill_disk(folder):
            writer.start()
            records = [window(30.0 * i, raises=i % 3) for i in range(1, 400)] + [lesson(0.0)]
            writer.submit(records)
            deadline = time.monotonic() + 30
            while writer.problem is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "full" in writer.problem, live.problems()
            assert live.problems() == [f"{PROBLEM}: {writer.problem}"]
        assert writer.close(timeout=30)  # room again: every waiting record is written
        assert writer.pending == 0 and writer.lost == 0 and live.problems() == []
        with Store(db) as store:
            assert len(store.windows()) == 400 and len(store.lessons()) == 1


@needs_mount
def test_a_stop_while_the_store_fails_reports_what_was_not_stored(tmp_path):
    folder = tmp_path / "small"
    with small_tmpfs(folder, 1024):
        db = folder / "edge.db"
        Store(db).close()
        live = LiveState("classroom")
        writer = StoreWriter(StoreConfig(path=db, min_free_mb=0), live, Heartbeats())
        writer.start()
        with fill_disk(folder):
            writer.submit([window(30.0 * i) for i in range(200)])
            assert writer.close(timeout=30) is False  # the daemon exits 1 on this
            assert writer.pending > 0


def test_store_check_writable_on_a_healthy_store(tmp_path):
    with Store(tmp_path / "edge.db") as store:
        store.check_writable()
        store.write_record(window(0.0))
