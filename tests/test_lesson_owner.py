"""Lesson state has one owner (the daemon's lesson runner), tested through the page's API on a
real `edge run`: a lesson that never got a frame ends like any other, and the page agrees."""

from __future__ import annotations

from tests.daemon_process import Daemon, daemon_config, rows
from tests.ports import free_port


def test_a_lesson_without_frames_ends_from_the_page(tmp_path):
    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}/video.mjpg"  # nothing listens: no frame ever
    config = daemon_config(tmp_path, f'[cameras.front]\nsource = "{dead}"\n', port)
    daemon = Daemon(config, port)  # a demo node: the lesson starts at once
    try:
        daemon.wait_for(lambda: daemon.metric("edge_lesson_running") == 1, 15, "lesson running")
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        assert live["lesson"]["running"] and live["windows"] == []

        ended = daemon.http.post("/api/lesson/end", headers=daemon.auth)
        assert ended.status_code == 200, ended.text
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        assert live["lesson"]["running"] is False and live["lesson"]["end"] is not None
        assert daemon.metric("edge_lesson_running") == 0
        again = daemon.http.post("/api/lesson/end", headers=daemon.auth)
        assert again.status_code == 409  # really ended: nothing left to end

        started = daemon.http.post("/api/lesson/start", headers=daemon.auth)
        assert started.status_code == 200, started.text
        assert daemon.metric("edge_lesson_running") == 1
        assert daemon.http.post("/api/lesson/start", headers=daemon.auth).status_code == 409
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    # no data, no records: the lessons left nothing in the store
    assert rows(tmp_path / "state" / "edge.db", "SELECT COUNT(*) FROM lessons")[0][0] == 0


def test_records_never_start_or_end_a_lesson():
    from edge.lesson.live import LiveState

    live = LiveState("classroom")
    window = {"type": "window", "mode": "classroom", "metrics": {}}
    live.add_window({**window, "start": 0.0, "end": 30.0})  # no lesson yet: counted only
    assert live.snapshot()["lesson"] is None and live.counters()["windows_written"] == 1
    live.start_lesson(start=100.0004)  # records carry times rounded to the millisecond
    live.end_lesson(end=125.0)
    live.add_window({**window, "start": 100.0, "end": 125.0})  # the last partial window, after
    snapshot = live.snapshot()
    assert snapshot["lesson"]["running"] is False and len(snapshot["windows"]) == 1
    live.start_lesson(start=130.0)
    live.add_lesson_record({"type": "lesson", "start": 100.0, "end": 125.0, "metrics": {}})
    live.add_window({**window, "start": 100.0, "end": 125.0})  # late, of the earlier lesson
    snapshot = live.snapshot()
    assert snapshot["lesson"]["running"] and snapshot["windows"] == []
    assert snapshot["lesson_record"] is None
