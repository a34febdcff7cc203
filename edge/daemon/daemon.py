"""`edge run`: wire config, store, web page, capture, analysis, lessons and services together.

In PE mode each camera has a station loop beside its overview analysis (:mod:`.stations`):
capture feeds both at least ``pe.station_fps``, and the lessons count station repetitions from
the station loop only.

Start order follows what a supervisor must know first: store and web page are up before any
camera is opened (a dead camera never delays the page); the pose model loads on first use.
Stop order flushes data first: inputs stop, the running lesson is ended (last partial window
and lesson record stored), the store writer drains, then the page and services go.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import ConfigError, EdgeConfig, ZonesConfig
from edge.lesson.live import LiveState
from edge.daemon.logging_setup import RateLimitFilter
from edge.metrics.pe.stations import Refiner
from edge.perception.options import session_options
from edge.perception.pipeline import Perception
from edge.lesson.replay import session_settings
from edge.store import StoreLock
from edge.store.recovery import open_store_checked
from edge.daemon.supervisor import WatchdogFeeder, format_status
from edge.daemon.systemd_notify import notify
from edge.web import create_app
from edge.web.auth import Tokens, ensure_tokens
from models.runtime import resolve_model
from sensors.camera import is_camera_spec
from sensors.camera_supervisor import CameraSupervisor
from sensors.scene import SCENE_SUFFIXES, SceneSource

from .alerts import CameraLossWatch
from .analysis import AnalysisLoop, CameraLane
from .capture import FilePlayback, capture_fps, report_camera, supervise_camera
from .clock import DaemonClock
from .feeds import FeedContext, SceneFeed, SupervisedFeed, sensor_feeds
from .frame_slot import FrameSlot
from .heartbeat import Heartbeats
from .lessons import LessonRunner, StreamSettings
from .memory import release_free_memory
from .pose_model import SharedPose
from .reload import plan_reload
from .services import start_services, watch_services
from .stations import StationLoop
from .store_writer import StoreWriter
from .web_server import WebServer

__all__ = ["Daemon", "is_scene", "primary_camera"]

log = logging.getLogger(__name__)

_JOIN_S = 3.0
TRIM_EVERY_S = 60.0  # freed heap is handed back to the system this often (edge/daemon/memory.py)


def is_scene(source: str) -> bool:
    """Whether a camera source is a scene file (features, no frames)."""
    return Path(source).suffix.lower() in SCENE_SUFFIXES


def primary_camera(config: EdgeConfig) -> str | None:
    """The camera the live page shows: ``web.primary_camera``, else the first enabled one.

    :raises ConfigError: when ``web.primary_camera`` names no enabled camera.
    """
    enabled = [cid for cid, camera in config.cameras.items() if camera.enabled]
    chosen = config.web.primary_camera
    if chosen is None:
        return enabled[0] if enabled else None
    if chosen not in enabled:
        problem = (f"web.primary_camera: {chosen!r} is not an enabled camera "
                   f"(enabled: {', '.join(enabled) or 'none'})")
        raise ConfigError([problem])
    return chosen


class Daemon:
    """The running device. ``start()``, then ``wait()`` (returns after SIGTERM/SIGINT or
    ``request_stop()``), then ``shutdown()``; or ``run()`` for all three.

    :param config_path: the TOML file (calibrated zones are saved into it from the page).
    :param stop: set to stop the daemon (default: a new event, set by SIGTERM/SIGINT in ``wait``).
    :param reload: set to reload the config file (default: a new event, set by SIGHUP in ``wait``).
    :param log_limiter: the log rate limit, whose suppressed count goes into ``/metrics``.
    :raises sensors.SourceError: a configured scene file is missing or malformed.
    :raises edge.config.ConfigError: ``web.primary_camera`` is not an enabled camera.
    """

    def __init__(self, config: EdgeConfig, config_path: str | Path | None = None, *,
                 stop: threading.Event | None = None, reload: threading.Event | None = None,
                 log_limiter: RateLimitFilter | None = None):
        self.config = config
        self.config_path = config_path
        self.clock = DaemonClock()
        self.heartbeats = Heartbeats()
        self.stop = stop or threading.Event()
        self.pose = SharedPose(self._perception)  # the inference loop's and the snapshot's
        suppressed = (lambda: log_limiter.suppressed_total) if log_limiter is not None else None
        self.live = LiveState(config.node.mode, primary_camera=primary_camera(config),
                              log_suppressed=suppressed)
        self.store_path = Path(config.store.path)
        self.writer = StoreWriter(config.store, self.live, self.heartbeats)
        self.store_lock = StoreLock(self.store_path)
        self.lanes: dict[str, CameraLane] = {}
        self.station_slots: dict[str, FrameSlot] = {}  # PE mode: each camera's station loop reads
        self.station_loops: dict[str, StationLoop] = {}
        self._headers: dict[str, Any] = {}  # scene headers, read once (a bad file fails here)
        streams = self._streams()
        if self.lanes:  # cameras need the pose model: fail here, not later inside a thread
            resolve_model(config.pose.model, config.runtime.models_dir)
        self.runner = LessonRunner(config, streams, self.clock, self.live, self.writer.submit)
        self.camera_loss = CameraLossWatch(config.node.mode, self.clock.now, self.writer.submit)
        self.scenes = {
            camera_id: SceneFeed(config.cameras[camera_id].source, config.cameras[camera_id].loop,
                                 self._feed_context(camera_id, self.stop))
            for camera_id in streams if camera_id not in self.lanes
        }
        # microphone, environment sensors, heart-rate bands: replaced as a set on reload
        self.feeds: list[SupervisedFeed] = []
        self._feeds_stop = threading.Event()
        self._feed_threads: list[threading.Thread] = []
        self.reload_requested = reload or threading.Event()
        self.tokens: Tokens | None = None
        self.web: WebServer | None = None
        self._threads: list[threading.Thread] = []
        self.services: dict[str, threading.Thread] = {}
        self.cameras: dict[str, CameraSupervisor] = {}
        self.watchdog: WatchdogFeeder | None = None

    # -- assembly --------------------------------------------------------------------------

    def _streams(self) -> dict[str, StreamSettings]:
        """Each enabled camera's session settings; camera lanes and scene headers on first use."""
        streams = {}
        for camera_id, camera in self.config.cameras.items():
            if not camera.enabled:
                continue
            if is_scene(camera.source):
                if camera_id not in self._headers:
                    self._headers[camera_id] = SceneSource(camera.source).header
            elif camera_id not in self.lanes:
                self.lanes[camera_id] = CameraLane(camera_id, FrameSlot(), 1.0 / camera.analyse_fps)
                if self.config.node.mode == "pe":
                    self.station_slots[camera_id] = FrameSlot()
            settings = session_settings(self.config, self._headers.get(camera_id),
                                        self.config.node.mode)
            streams[camera_id] = StreamSettings(settings.config, settings.zones,
                                                station_feed=camera_id in self.station_slots)
        if not streams:
            log.warning("no enabled camera or scene in the config: lessons will have no data")
        return streams

    def snapshot(self, camera_id: str) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """The calibration page's view of a camera: latest frame and the people last seen in it.

        :raises KeyError: for an id that is not a configured camera.
        """
        if camera_id not in self.config.cameras:
            raise KeyError(camera_id)
        lane = self.lanes.get(camera_id)
        latest = lane.slot.latest() if lane is not None else None
        if lane is None or latest is None:
            return None
        # No copy: frames are never written to (the snapshot blurs a copy of its own).
        return latest.frame.image, list(lane.people)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Store, web page, services, then inputs; returns once the page answers.

        :raises edge.store.StoreError: the store cannot be opened.
        :raises edge.web.auth.TokenError: tokens can neither be read nor generated.
        :raises OSError: the web port cannot be bound.
        """
        # One daemon per store (a second one would write every window twice).
        self.store_lock.acquire()
        # integrity check first; a damaged store is moved aside and replaced (its unsent
        # outbox carried over), see edge/store/recovery.py.
        store, _recovery = open_store_checked(self.store_path)
        with store:  # fails here, with one clear line, not in a thread (and never READY)
            store.check_writable()
            self.tokens = ensure_tokens(self.config)
            # The app opens its own read connections on the store's file.
            app = create_app(self.config, self.live, store, self.runner,
                             snapshot_provider=self.snapshot, snapshot_pose=self.pose,
                             config_path=self.config_path,
                             on_zones_saved=self._zones_saved)  # tokens: re-read on rotation
        self.writer.start()
        self.web = WebServer(app, self.config.web.host, self.config.web.port, self.heartbeats)
        self.web.start()
        self._announce()
        # READY once config, store and web page are up (cameras connect later);
        # the feeder pings the watchdog only while every loop's heartbeat is fresh.
        notify("READY=1")
        self.watchdog = WatchdogFeeder(self.heartbeats, status=self._systemd_status).start()
        self.services = start_services(self.config, self.store_path, self.stop, self.live)
        for camera_id, lane in self.lanes.items():
            camera = self.config.cameras[camera_id]
            station_slot = self.station_slots.get(camera_id)
            slots = [lane.slot] if station_slot is None else [lane.slot, station_slot]
            fps = capture_fps(camera, self.config.pe.station_fps if station_slot else None)
            if is_camera_spec(camera.source):
                self.cameras[camera_id] = supervise_camera(camera_id, camera, slots, self.clock,
                                                           self.live, self.heartbeats, fps)
            else:
                playback = FilePlayback(camera_id, camera, slots, self.clock, self.live,
                                        self.heartbeats, self.stop, fps)
                self._spawn(playback.name, playback.run)
        for camera_id, slot in self.station_slots.items():
            loop = StationLoop(camera_id, slot, self.config.zones.stations,
                               self.config.pe.station_fps, self._station_refiner, self.runner,
                               self.live, self.heartbeats, self.stop)
            self.station_loops[camera_id] = loop
            self._spawn(loop.name, loop.run)
        if self.lanes:
            analysis = AnalysisLoop(list(self.lanes.values()), self.pose, self.runner,
                                    self.live, self.heartbeats, self.stop)
            self._spawn("inference", analysis.run)
        for feed in self.scenes.values():
            self._spawn(feed.name, feed.run)
        self._start_feeds()
        if self.config.node.demo and not self.config.lessons.timetable:
            self.runner.start_lesson()  # the demo shows a class at once

    def wait(self) -> None:
        """Block until SIGTERM/SIGINT (main thread) or :meth:`request_stop`; apply the timetable
        and reload on SIGHUP."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop.set())
            signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())
        next_trim = time.monotonic() + TRIM_EVERY_S
        while not self.stop.wait(1.0):
            self.heartbeats.beat("scheduler")
            if time.monotonic() >= next_trim:  # e.g. what technician snapshots left behind
                release_free_memory()
                next_trim = time.monotonic() + TRIM_EVERY_S
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self.reload()
            watch_services(self.services, self.heartbeats, self.live)
            self.runner.tick()
            for supervisor in self.cameras.values():  # frame counts between state changes
                report_camera(self.live, supervisor.status())
            self.camera_loss.check(self.live.camera_states())

    def reload(self) -> bool:
        """Read the config file again and apply it (see :mod:`.reload`); False when it was
        invalid or missing and the running config was kept."""
        plan = plan_reload(self.config_path, self.config)
        if plan is None:
            return False
        self.config = plan.config
        if self.web is not None:  # the calibration page shows the zones in force
            self.web.app.state.config = plan.config
        self.runner.reconfigure(plan.config, self._streams())
        self._perception_zones(plan.config.zones)
        if plan.restart_feeds:
            self._stop_feeds()
            self._start_feeds()
        log.info("reload: %s applied (lesson %s)", self.config_path,
                 "kept" if self.runner.running else "not running")
        return True

    def request_stop(self) -> None:
        """Ask the daemon to stop (as SIGTERM does)."""
        self.stop.set()

    def shutdown(self) -> bool:
        """Flush and stop everything; True when every record reached the store."""
        self.stop.set()
        notify("STOPPING=1")  # flushing may take a while; no watchdog restart now
        self._stop_feeds()
        for supervisor in self.cameras.values():
            supervisor.stop(_JOIN_S)
        for thread in self._threads:
            thread.join(_JOIN_S)  # a frame being analysed finishes; a model still loading is left
        if self.runner.running:
            self.runner.end_lesson()
        flushed = self.writer.close()
        if self.web is not None:
            self.web.stop()
        for name, thread in self.services.items():
            thread.join(_JOIN_S)
            if thread.is_alive():
                log.warning("service %s did not stop in time", name)
        if self.watchdog is not None:
            self.watchdog.stop()
        self.store_lock.release()
        log.info("stopped (%d records written, %d refused, %d not stored)", self.writer.written,
                 self.writer.failed, self.writer.pending + self.writer.lost)
        return flushed and not self.writer.lost

    def run(self) -> bool:
        """start, wait, shutdown."""
        try:
            self.start()
            self.wait()
        finally:
            flushed = self.shutdown()
        return flushed

    # -- helpers ---------------------------------------------------------------------------

    def _spawn(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _feed_context(self, stream: str | None, stop: threading.Event) -> FeedContext:
        return FeedContext(self.clock, self.runner.feed, stream, self.heartbeats, self.live, stop)

    def _stop_feeds(self) -> None:
        self._feeds_stop.set()
        for thread in self._feed_threads:
            thread.join(_JOIN_S)
        self._feed_threads = []

    def _start_feeds(self) -> None:
        """Start the sensor feeds of the current config (each on its own thread)."""
        self._feeds_stop = threading.Event()
        ctx = self._feed_context(self.live.primary_camera, self._feeds_stop)
        self.feeds = sensor_feeds(self.config, ctx)
        for feed in self.feeds:
            thread = threading.Thread(target=feed.run, name=feed.name, daemon=True)
            thread.start()
            self._feed_threads.append(thread)
        if self.feeds:
            log.info("feeds: %s", ", ".join(f.name for f in self.feeds))
        elif self.live.primary_camera is None and (self.config.audio.enabled
                                                   or self.config.environment.sensors):
            log.warning("audio/environment configured but no camera or scene stream to attach "
                        "them to: they are not read")

    def _perception(self) -> Perception:
        # stations with a loop of their own are not refined again by the overview
        return Perception.from_config(self.config, refine_stations=not self.station_slots)

    def _station_refiner(self) -> Refiner:
        from models.blazepose import BlazePoseRefiner  # loaded only when a station is analysed

        return BlazePoseRefiner(session_options(self.config), self.config.runtime.models_dir)

    def _systemd_status(self) -> str:
        """systemd: the STATUS= line (what fails first, then camera states, outbox depth)."""
        status = format_status(self.live.camera_states(),
                               outbox_depth=self.live.counters()["outbox_depth"])
        failing = "; ".join(f"FAILING {problem}" for problem in self.live.problems())
        return f"{failing}; {status}" if failing else status

    def _zones_saved(self, zones: ZonesConfig) -> None:
        self.runner.set_zones(zones)
        self._perception_zones(zones)
        log.info("zones saved; the running lesson uses them from its next frame")

    def _perception_zones(self, zones: ZonesConfig) -> None:
        for loop in self.station_loops.values():  # they follow the stations at once
            loop.set_stations(zones.stations)
        self.pose.set_zones(zones)  # the pass plan follows the floor calibration at once

    def _announce(self) -> None:
        web = self.config.web
        host = "127.0.0.1" if web.host in ("0.0.0.0", "::") else web.host
        url = f"http://{host}:{web.port}/"
        if self.config.node.demo and self.tokens is not None:
            log.info("demo page: %s?token=%s", url, self.tokens.teacher)
            log.info("demo calibration page (technician): %scalibration?token=%s",
                     url, self.tokens.technician)
        else:
            log.info("page: %s (token: `edge web token`)", url)
