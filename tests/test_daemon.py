"""`edge run` as a real subprocess: page and store while running, SIGTERM flushes the lesson,
a camera that vanishes and returns, and frame dropping under a slow model."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.daemon_process import ROOT, SCENE, Daemon, daemon_config, rows
from tests.mjpeg_camera import MjpegCamera
from tests.ports import free_port


@pytest.fixture
def port() -> int:
    return free_port()


def test_scene_daemon_serves_page_stores_windows_and_flushes_on_sigterm(tmp_path, port):
    config = daemon_config(tmp_path, f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n', port)
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(config, port)
    try:
        assert daemon.http.get("/api/live").status_code == 401
        daemon.wait_for(lambda: rows(db, "SELECT COUNT(*) FROM windows")[0][0] >= 1, 15, "a window")
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        assert live["lesson"]["running"] and live["windows"][0]["n"] == 25
        assert live["metrics"]["students_present"] == 25
        time.sleep(2.0)  # into the next window: SIGTERM must store this partial one
        code, took = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    assert took < 8
    windows = rows(db, 'SELECT start, "end", n FROM windows ORDER BY start')
    lessons = rows(db, 'SELECT start, "end", n, metrics FROM lessons')
    assert len(lessons) == 1
    start, end, n, metrics = lessons[0]
    assert n == 25 and json.loads(metrics)["students_present"] == 25
    assert windows[0][0] == start and windows[-1][1] == end  # the partial window was flushed
    assert 0 < windows[-1][1] - windows[-1][0] < 5
    records = [json.loads(r[0]) for r in rows(db, "SELECT record FROM outbox")]
    assert records and all(r["demo"] is True and r["camera"] == "class" for r in records)


def test_two_streams_the_page_shows_only_the_primary_camera(tmp_path, port):
    cameras = (f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n'
               f'[cameras.second]\nsource = "{SCENE}"\nloop = true\n')
    config = daemon_config(tmp_path, cameras, port, extra='primary_camera = "second"')
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(config, port)
    try:
        def stored_cameras() -> set[str]:
            return {json.loads(r[0])["camera"] for r in rows(db, "SELECT record FROM outbox")}

        daemon.wait_for(lambda: stored_cameras() == {"class", "second"}, 20, "both streams stored")
        # the page hears of a window right after the store has it (never before): wait for that
        daemon.wait_for(lambda: daemon.http.get("/api/live", headers=daemon.auth).json()["windows"],
                        5, "the window on the page")
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        assert live["windows"] and {w["camera"] for w in live["windows"]} == {"second"}
        assert all(w["demo"] is True for w in live["windows"])
        starts = [w["start"] for w in live["windows"]]
        assert starts == sorted(set(starts))  # one window per period: the page does not alternate
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)


def test_unknown_primary_camera_is_a_one_line_error(tmp_path, port):
    config = daemon_config(tmp_path, f'[cameras.class]\nsource = "{SCENE}"\n', port,
                     extra='primary_camera = "nope"')
    result = subprocess.run([sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "web.primary_camera: 'nope'" in result.stderr and "Traceback" not in result.stderr


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_camera_vanishes_and_returns_frames_are_dropped_not_queued_and_sigterm_flushes(tmp_path, port):
    image = np.full((240, 320, 3), 90, np.uint8)
    cv2.rectangle(image, (100, 40), (220, 230), (200, 180, 160), -1)
    camera = MjpegCamera([image], 1 / 20).start()  # 20 frames/s
    url = camera.url()
    # 1 frame/s analysed out of 20 delivered: the slow "model" must drop, never queue.
    config = daemon_config(tmp_path, f'[cameras.front]\nsource = "{url}"\nanalyse_fps = 1.0\n', port)
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(config, port)
    try:
        def analysed() -> bool:
            return daemon.metric("edge_fps_analysed", "front") > 0.5

        daemon.wait_for(analysed, 30, "analysis running")
        daemon.wait_for(lambda: daemon.metric("edge_fps_skipped", "front") > 0, 10, "skipped frames")
        assert daemon.camera_state("front") == "streaming"
        assert daemon.metric("edge_camera_frames_total", "front") > 0
        assert daemon.metric("edge_log_suppressed_total") >= 0  # the journal logging is set up
        rss_before = _rss_mb(daemon.proc.pid)

        camera.stop()
        daemon.wait_for(lambda: any("camera front: stalled" in x for x in daemon.lines),
                        15, "the lost camera logged")
        daemon.wait_for(lambda: daemon.metric("edge_fps_analysed", "front") == 0, 10, "analysis idle")
        daemon.wait_for(lambda: daemon.camera_state("front") == "unreachable", 15, "unreachable")
        assert daemon.metric("edge_camera_reconnects_total", "front") == 1
        failures = daemon.metric("edge_camera_failures_total", "front")
        logged = sum("camera front" in x for x in daemon.lines)
        daemon.wait_for(lambda: daemon.metric("edge_camera_failures_total", "front") > failures,
                        15, "another failed reconnection")
        assert daemon.proc.poll() is None
        # State changes are logged, failed attempts are not: no line per attempt.
        assert sum("camera front" in x for x in daemon.lines) == logged

        camera.start()
        daemon.wait_for(analysed, 40, "analysis resumed after the camera returned")
        assert sum("camera front: streaming" in x for x in daemon.lines) == 2
        assert daemon.camera_state("front") == "streaming"
        rss_after = _rss_mb(daemon.proc.pid)
        assert rss_after - rss_before < 40, (rss_before, rss_after)  # no frame backlog

        daemon.wait_for(lambda: rows(db, "SELECT COUNT(*) FROM windows")[0][0] >= 1, 15, "a window")
        code, took = daemon.terminate()  # while frames are being analysed
    finally:
        daemon.kill()
        camera.stop()
    assert code == 0, "".join(daemon.lines)
    assert took < 8
    assert rows(db, "SELECT COUNT(*) FROM lessons")[0][0] == 1
    assert "Traceback" not in "".join(daemon.lines)


def test_bad_config_and_busy_port_are_one_line_errors(tmp_path, port):
    bad = daemon_config(tmp_path, '[cameras.class]\nsource = "/nonexistent/scene.jsonl"\n', port)
    run = [sys.executable, "-m", "edge.cli.main", "run", "--config"]
    result = subprocess.run(run + [str(bad)], check=False, cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "scene.jsonl: no such file" in result.stderr and "Traceback" not in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        good = daemon_config(tmp_path, f'[cameras.class]\nsource = "{SCENE}"\n', port)
        result = subprocess.run(run + [str(good)], check=False, cwd=ROOT, capture_output=True,
                                text=True, timeout=30)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_sigterm_while_the_pose_model_loads_exits_cleanly(tmp_path, port):
    video = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"
    config = daemon_config(tmp_path, f'[cameras.demo]\nsource = "{video}"\nloop = true\n', port)
    daemon = Daemon(config, port)  # returns as soon as the page is up: the model loads after
    try:
        code, took = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    assert took < 8
    assert "Traceback" not in "".join(daemon.lines)
