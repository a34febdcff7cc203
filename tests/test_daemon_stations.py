"""PE stations inside `edge run`: a camera playing the real rope-skipping clip
(../shared/media/exercise/, 20 skips in truth.csv) with one station around the skipper. The
overview runs at 2 frames/s, which counts about 1 of the 20 skips (test_pe_real_clips.py); the
station loop analyses the crop at pe.station_fps, and the stored window and lesson counts come
from it alone."""

from __future__ import annotations

import csv
import json
import re
import threading
import time

import cv2
import numpy as np
import pytest

from edge.config import EdgeConfig, ZonesConfig
from edge.daemon.clock import DaemonClock
from edge.daemon.frame_slot import FrameSlot, StampedFrame
from edge.daemon.heartbeat import Heartbeats
from edge.daemon.lessons import LessonRunner, StreamSettings
from edge.daemon.stations import StationLoop
from edge.lesson.live import LiveState
from edge.perception.options import session_options
from models.blazepose import BlazePoseRefiner
from sensors.samples import PoseSample
from sensors.video import VideoFileSource
from tests.conftest import shared_file
from tests.daemon_process import Daemon, daemon_config, rows
from tests.ports import free_port

CLIP = "chenwr727_ropeskip_demo.mp4"
ANALYSE_FPS = 2.0


def _truth(name: str) -> dict:
    with open(shared_file("media/exercise/truth.csv"), newline="", encoding="utf-8") as fh:
        return next(r for r in csv.DictReader(fh) if r["file"] == name)


def _feed_metric(daemon: Daemon, name: str, feed: str) -> float:
    text = daemon.http.get("/metrics", headers=daemon.auth).text
    match = re.search(rf'^{name}\{{feed="{re.escape(feed)}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else -1.0


@pytest.fixture
def gym(tmp_path):
    clip = shared_file(f"media/exercise/{CLIP}")
    cap = cv2.VideoCapture(str(clip))
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    cap.release()
    port = free_port()
    cameras = (f'[cameras.gym]\nsource = "{clip}"\nanalyse_fps = {ANALYSE_FPS}\nloop = false\n'
               f'[zones.stations.rope]\nexercise = "rope_skip"\n'
               f'polygon = [[0, 0], [{w}, 0], [{w}, {h}], [0, {h}]]\n'
               # one skipper: counts of fewer than min_group people are nulled in records
               '[privacy]\nmin_group = 1\n')
    config = daemon_config(tmp_path, cameras, port, extra="")
    config.write_text(config.read_text().replace("[node]\n", '[node]\nmode = "pe"\n'))
    return config, port, tmp_path / "state" / "edge.db"


def test_station_counts_a_real_clip_at_the_station_rate_not_the_overview_rate(gym):
    config, port, db = gym
    truth = int(_truth(CLIP)["gt_count"])
    daemon = Daemon(config, port)
    fps_seen, overview_seen = [], []
    try:
        def played() -> bool:
            fps_seen.append(_feed_metric(daemon, "edge_feed_fps", "station:gym"))
            overview_seen.append(daemon.metric("edge_fps_analysed", "gym"))
            return daemon.camera_state("gym") == "stopped"  # loop = false: the clip ended

        daemon.wait_for(played, 60, "the clip played to its end")
        # the live page has the station's repetitions of the windows closed so far
        daemon.wait_for(lambda: len(daemon.http.get("/api/live", headers=daemon.auth)
                                    .json()["windows"]) >= 2, 15, "two windows on the page")
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        on_page = sum(w["metrics"]["reps"]["rope"]["count"] for w in live["windows"])
        health = daemon.http.get("/api/health").json()
        assert health["feeds"]["station:gym"] == "running", health
        analysed = _feed_metric(daemon, "edge_feed_samples_total", "station:gym")
        assert _feed_metric(daemon, "edge_feed_failures_total", "station:gym") == 0
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    duration = float(_truth(CLIP)["duration_s"])
    print(f"station frames {analysed:.0f} in {duration} s, fps seen {max(fps_seen)}, "
          f"overview fps seen {max(overview_seen)}")
    # far more frames than the overview's 2 fps would give over the clip (22)
    assert analysed >= 4 * ANALYSE_FPS * duration, analysed
    assert max(fps_seen) > 4 * ANALYSE_FPS and max(overview_seen) <= ANALYSE_FPS + 0.5
    (lesson,) = [json.loads(m) for (m,) in rows(db, "SELECT metrics FROM lessons")]
    windows = [json.loads(m) for (m,) in rows(db, "SELECT metrics FROM windows ORDER BY start")]
    count = lesson["reps"]["rope"]["count"]
    print(f"{CLIP}: {count} counted in edge run, truth {truth}")
    assert lesson["reps"]["rope"]["exercise"] == "rope_skip"
    assert abs(count - truth) <= 1, (count, truth)
    # the windows hold the same repetitions (the overview added none), the page showed them
    assert sum(w["reps"]["rope"]["count"] for w in windows) == count
    assert 0.5 * truth <= on_page <= count, (on_page, count)


def test_station_loop_follows_stations_drawn_while_running_without_a_restart():
    """The loop idles (no model) while no station is drawn; a calibration save hands it the
    stations at once (here the lesson already has the station: lessons take theirs at start)."""
    clip = shared_file(f"media/exercise/{CLIP}")
    config = EdgeConfig.model_validate({"node": {"mode": "pe"}, "privacy": {"min_group": 1},
                                        "runtime": {"intra_op_threads": 1}})
    records: list[dict] = []
    clock, live, stop = DaemonClock(), LiveState("pe"), threading.Event()
    with VideoFileSource(clip) as source:
        frames = list(source)
    w, h = frames[0].size
    zones = ZonesConfig.model_validate({"stations": {"rope": {
        "exercise": "rope_skip", "polygon": [[0, 0], [w, 0], [w, h], [0, h]]}}})
    runner = LessonRunner(config, {"gym": StreamSettings(config, zones, station_feed=True)},
                          clock, live, records.extend)
    slot, loaded = FrameSlot(), []

    def make_refiner() -> BlazePoseRefiner:
        loaded.append(True)
        return BlazePoseRefiner(session_options(config))

    loop = StationLoop("gym", slot, {}, 15.0, make_refiner, runner, live, Heartbeats(), stop)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        runner.start_lesson()
        start = clock.now()
        slot.put(StampedFrame(start, frames[0]))
        time.sleep(1.0)
        assert not loaded and slot.taken == 0  # no station: nothing analysed, no model loaded
        loop.set_stations(zones.stations)  # what the page's save does (Daemon._zones_saved)
        overview = BlazePoseRefiner(session_options(config))  # who is there, at 2 fps
        box = np.array([0, 0, w, h], np.float64)
        for i, frame in enumerate(frames):  # one frame at a time, media time after the start
            taken, t = slot.taken, start + 1.0 + i / 25
            if i % 12 == 0 and (person := overview.find(frame.image, box)) is not None:
                runner.feed("gym", PoseSample(t, [person], frame.size))
            slot.put(StampedFrame(t, frame))
            deadline = time.monotonic() + 5
            while slot.taken == taken and time.monotonic() < deadline:
                time.sleep(0.002)
        while loop.analysed < 0.5 * len(frames) * 15 / 25 and thread.is_alive():
            time.sleep(0.01)
        runner.end_lesson()
    finally:
        stop.set()
        thread.join(5)
    (lesson,) = [r for r in records if r["type"] == "lesson"]
    truth = int(_truth(CLIP)["gt_count"])
    assert loaded == [True] and live.feed_status()["station:gym"]["state"] == "stopped"
    assert abs(lesson["metrics"]["reps"]["rope"]["count"] - truth) <= 1, lesson["metrics"]["reps"]
