"""The current lesson in memory: what the daemon updates and the teacher's page reads.

``LiveState`` is written from the daemon's threads (windows closing, counters) and read by the web
app's event loop (``/api/live``, ``/api/events``, ``/metrics``). It holds aggregates only (SPEC 3):
window and lesson records exactly as stored, never frames or track ids. Real-time alerts
(edge.alerts) are kept until the teacher acknowledges them, from every camera (a fall seen by a
second camera matters as much as one seen by the primary one).

Live listeners (the page's SSE stream) subscribe with :meth:`LiveState.subscribe` from inside an
asyncio loop; every change is handed to each subscriber's queue with
``loop.call_soon_threadsafe``, so a window closing in a pipeline thread reaches the page at once
without a thread per listener.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sensors.const import CAMERA_STATES, FEED_STATES
from edge.privacy.records import RecordDict

__all__ = [
    "CAMERA_STATES",
    "FEED_STATES",
    "CameraCounters",
    "Event",
    "FeedCounters",
    "LessonConflict",
    "LessonControl",
    "LiveState",
]

# Records carry their times rounded to the millisecond; the lesson start here is not rounded.
_CLOCK_ROUNDING_S = 1e-3
_MAX_ALERTS = 50  # held for the page; every alert stays in the store


class LessonConflict(Exception):
    """A lesson cannot be started (one is running) or ended (none is running)."""


class LessonControl(Protocol):
    """Lesson start/end, provided by the daemon (the page's buttons call these)."""

    def start_lesson(self) -> None:
        """Start a lesson now. :raises LessonConflict: when one is already running."""

    def end_lesson(self) -> None:
        """End the running lesson now (last window flushed). :raises LessonConflict: when none runs."""


@dataclass
class CameraCounters:
    """One camera's state machine state, capture counters and analysis rates (SPEC 9)."""

    state: str = "connecting"
    frames: int = 0  # delivered by the camera since start
    reconnects: int = 0  # streams lost after they had delivered frames
    failures: int = 0  # connection attempts that gave no frame
    fps_analysed: float = 0.0
    fps_skipped: float = 0.0
    inference_ms: float = 0.0


@dataclass
class FeedCounters:
    """One feed's state and counters since start (SPEC 9)."""

    state: str = "starting"
    samples: int = 0  # samples delivered to the lesson runner
    failures: int = 0  # source failures (each followed by a backoff and a retry)
    fps: float = 0.0  # frames analysed per second (station loops; 0 where not measured)


@dataclass(frozen=True)
class Event:
    """One change pushed to live listeners: ``kind`` is ``window``, ``lesson``, ``mode``,
    ``alert`` (one new alert) or ``alert_ack`` (``{"id"}`` acknowledged)."""

    kind: str
    data: dict[str, Any]
    version: int


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    dropped: bool = False


@dataclass
class _Lesson:
    id: str
    start: float | None
    started_at: float
    running: bool = True
    end: float | None = None
    windows: list[RecordDict] = field(default_factory=list)
    record: RecordDict | None = None

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end,
                "started_at": self.started_at, "running": self.running}


class LiveState:
    """Thread-safe state of the current lesson plus the daemon's counters.

    :param mode: ``classroom`` or ``pe`` (the room's mode; changeable with :meth:`set_mode`).
    :param primary_camera: the one stream whose records the page shows (every camera has its
        own sessions, so mixing streams would make the page alternate between them); records
        of other cameras are counted but not shown. None: every record is shown.
    :param log_suppressed: returns how many log lines the rate limit has dropped so far.
    :param max_windows: windows kept for the page; older ones of a very long lesson are dropped
        (they stay in the store).
    :param queue_size: events buffered per listener; a listener that falls this far behind is
        cut off (its stream ends, the page reconnects and gets a fresh snapshot).
    """

    def __init__(self, mode: str = "classroom", *, primary_camera: str | None = None,
                 log_suppressed: Callable[[], int] | None = None, max_windows: int = 1000,
                 queue_size: int = 256):
        self._lock = threading.Lock()
        self._mode = mode
        self.primary_camera = primary_camera
        self._log_suppressed = log_suppressed or (lambda: 0)
        self._lesson: _Lesson | None = None
        self._cameras: dict[str, CameraCounters] = {}
        self._feeds: dict[str, FeedCounters] = {}
        self._outbox_depth = 0
        self._problems: dict[str, str] = {}  # what makes health fail, by component
        self._windows_written = 0
        self._version = 0
        self._max_windows = max_windows
        self._queue_size = queue_size
        self._subscribers: list[_Subscriber] = []
        self._alerts: list[dict[str, Any]] = []  # newest last, at most _MAX_ALERTS

    # -- writers (daemon threads) ------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """Switch the room's mode (classroom / pe) shown by the page."""
        with self._lock:
            self._mode = mode
            self._publish("mode", {"mode": mode})

    def start_lesson(self, start: float | None = None, lesson_id: str | None = None) -> str:
        """Begin a new current lesson; ``start`` is on the records' clock. Returns its id."""
        with self._lock:
            lesson = _Lesson(id=lesson_id or secrets.token_hex(4), start=start, started_at=time.time())
            self._lesson = lesson
            self._publish("lesson", self._lesson_event())
            return lesson.id

    def add_window(self, record: RecordDict) -> None:
        """A window record was stored: keep it for the page and push it to listeners.

        It joins the current lesson (also once that has ended: the last partial window is stored
        after the end). A window of an earlier lesson (it starts before the current one), one
        arriving when no lesson was ever started, or one of another camera than the primary one
        is only counted: lessons are started and ended by their owner alone (the daemon's
        lesson runner), never by a record arriving.
        """
        if record.get("type") != "window":
            raise ValueError(f"add_window takes window records, got type {record.get('type')!r}")
        record = copy.deepcopy(record)
        with self._lock:
            self._windows_written += 1
            lesson = self._lesson
            if not self._shown(record) or lesson is None or not self._belongs(record, lesson):
                return
            lesson.windows.append(record)
            del lesson.windows[:-self._max_windows]
            self._publish("window", record)

    def add_alert(self, record: RecordDict) -> dict[str, Any]:
        """An alert record was stored: keep it until acknowledged and push it to listeners.

        Returns the page's view of it: ``{"id", "kind", "t", "at", "camera", "acked", ...}`` with
        the alert's own fields (count, value); ``id`` is this process's handle for :meth:`ack`.

        :raises ValueError: for a record that is not an alert.
        """
        if record.get("type") != "alert":
            raise ValueError(f"add_alert takes alert records, got type {record.get('type')!r}")
        alert = {**copy.deepcopy(record["metrics"]["alert"]), "id": secrets.token_hex(4),
                 "t": record.get("start"), "at": time.time(), "camera": record.get("camera"),
                 "acked": False}
        with self._lock:
            self._alerts.append(alert)
            del self._alerts[:-_MAX_ALERTS]
            self._publish("alert", dict(alert))
        return alert

    def ack_alert(self, alert_id: str) -> bool:
        """The teacher acknowledged an alert; False when no such alert is held."""
        with self._lock:
            alert = next((a for a in self._alerts if a["id"] == alert_id), None)
            if alert is None:
                return False
            if not alert["acked"]:
                alert["acked"] = True
                self._publish("alert_ack", {"id": alert_id})
            return True

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts not yet acknowledged, oldest first."""
        with self._lock:
            return [dict(a) for a in self._alerts if not a["acked"]]

    def end_lesson(self, end: float | None = None) -> None:
        """The owner ended the current lesson at ``end`` (records' clock); idempotent."""
        with self._lock:
            if self._lesson is None or not self._lesson.running:
                return
            self._lesson.running = False
            self._lesson.end = end
            self._publish("lesson", self._lesson_event())

    def add_lesson_record(self, record: RecordDict) -> None:
        """The current lesson's record was stored (after its end): keep it for the page.

        The record of an earlier lesson or of another camera than the primary one is ignored.
        """
        with self._lock:
            lesson = self._lesson
            if lesson is None or not self._shown(record) or not self._belongs(record, lesson):
                return
            lesson.record = copy.deepcopy(record)
            if lesson.end is None:
                lesson.end = record.get("end")
            self._publish("lesson", self._lesson_event())

    def update_camera(self, camera: str, **values: float | str) -> None:
        """Set some of a camera's counters (:class:`CameraCounters` fields).

        :raises ValueError: on an unknown counter or state."""
        self._update(self._cameras, camera, CameraCounters, CAMERA_STATES, "camera", values)

    def update_feed(self, feed: str, **values: float | str) -> None:
        """Set some of a feed's counters (:class:`FeedCounters` fields).

        :raises ValueError: on an unknown counter or state."""
        self._update(self._feeds, feed, FeedCounters, FEED_STATES, "feed", values)

    def _update(self, table: dict, key: str, kind: type, states: tuple[str, ...], what: str,
                values: dict[str, Any]) -> None:
        unknown = set(values) - set(kind.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown {what} counter(s): {', '.join(sorted(unknown))}")
        if "state" in values and values["state"] not in states:
            raise ValueError(f"{what} state must be one of {states}, got {values['state']!r}")
        with self._lock:
            counters = table.setdefault(key, kind())
            for name, value in values.items():
                setattr(counters, name, value)

    def set_outbox_depth(self, depth: int) -> None:
        """Rows waiting in the MQTT outbox."""
        with self._lock:
            self._outbox_depth = int(depth)

    def set_problem(self, component: str, problem: str | None) -> bool:
        """Report that ``component`` is failing (health answers 503), or recovered (None);
        True when this changed what is reported (so the caller logs only changes)."""
        with self._lock:
            before = self._problems.get(component)
            if problem is None:
                self._problems.pop(component, None)
            else:
                self._problems[component] = problem
            return before != problem

    # -- readers (web app) -------------------------------------------------------------------

    def problems(self) -> list[str]:
        """``"component: problem"`` for every failing component (empty: healthy)."""
        with self._lock:
            return [f"{k}: {v}" for k, v in sorted(self._problems.items())]

    @property
    def version(self) -> int:
        """Increases with every pushed change."""
        with self._lock:
            return self._version

    def snapshot(self) -> dict[str, Any]:
        """``{"mode", "lesson", "metrics", "windows", "lesson_record", "alerts"}``: the page's
        whole state (``alerts``: those not yet acknowledged).

        ``metrics`` are the latest window's (the current numbers); ``lesson`` is None before the
        first lesson.
        """
        with self._lock:
            lesson = self._lesson
            windows = copy.deepcopy(lesson.windows) if lesson else []
            return {
                "mode": self._mode,
                "lesson": lesson.summary() if lesson else None,
                "metrics": windows[-1]["metrics"] if windows else {},
                "windows": windows,
                "lesson_record": copy.deepcopy(lesson.record) if lesson else None,
                "alerts": [dict(a) for a in self._alerts if not a["acked"]],
                "version": self._version,
            }

    def counters(self) -> dict[str, Any]:
        """Daemon counters: cameras, feeds, outbox depth, windows written, listeners, lesson
        running, log lines suppressed."""
        with self._lock:
            counters = {
                "cameras": {k: CameraCounters(**vars(v)) for k, v in self._cameras.items()},
                "feeds": {k: FeedCounters(**vars(v)) for k, v in self._feeds.items()},
                "outbox_depth": self._outbox_depth,
                "windows_written": self._windows_written,
                "listeners": len(self._subscribers),
                "lesson_running": bool(self._lesson and self._lesson.running),
            }
        counters["log_suppressed"] = int(self._log_suppressed())
        return counters

    def camera_states(self) -> dict[str, str]:
        """Camera id -> state (for health and the systemd status line)."""
        with self._lock:
            return {k: v.state for k, v in self._cameras.items()}

    def feed_states(self) -> dict[str, str]:
        """Feed name -> state (for health)."""
        with self._lock:
            return {k: v.state for k, v in self._feeds.items()}

    def feed_status(self) -> dict[str, dict[str, int | str]]:
        """Feed name -> state and counters, as plain JSON (the MQTT health record)."""
        with self._lock:
            return {k: dict(vars(v)) for k, v in self._feeds.items()}

    def status(self) -> dict[str, Any]:
        """Counters as plain JSON (the page's status line)."""
        counters = self.counters()
        counters["cameras"] = {k: vars(v) for k, v in counters["cameras"].items()}
        counters["feeds"] = {k: vars(v) for k, v in counters["feeds"].items()}
        return counters

    # -- listeners ---------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue:
        """A queue of :class:`Event` for the calling asyncio loop; pair with :meth:`unsubscribe`.

        A ``None`` in the queue means the listener fell behind and was cut off.
        """
        sub = _Subscriber(asyncio.get_running_loop(), asyncio.Queue(self._queue_size))
        with self._lock:
            self._subscribers.append(sub)
        return sub.queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        """Stop delivering events to ``queue``."""
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.queue is not queue]

    def close_listeners(self) -> None:
        """End every live stream (at shutdown, so the HTTP server is not kept waiting)."""
        with self._lock:
            subscribers, self._subscribers = self._subscribers, []
        for sub in subscribers:
            try:
                sub.loop.call_soon_threadsafe(_cut_off, sub)
            except RuntimeError:
                pass

    @staticmethod
    def _belongs(record: RecordDict, lesson: _Lesson) -> bool:
        start = record.get("start")
        return lesson.start is None or start is None or start >= lesson.start - _CLOCK_ROUNDING_S

    def _shown(self, record: RecordDict) -> bool:
        """Whether the page shows ``record`` (no primary camera, or the record is its)."""
        camera = record.get("camera")
        return self.primary_camera is None or camera is None or camera == self.primary_camera

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        # Called with the lock held. Delivery runs in each listener's loop, never here.
        self._version += 1
        event = Event(kind, data, self._version)
        for sub in self._subscribers:
            try:
                sub.loop.call_soon_threadsafe(_deliver, sub, event)
            except RuntimeError:  # that loop is closed: the listener is gone
                sub.dropped = True
        self._subscribers = [s for s in self._subscribers if not s.dropped]

    def _lesson_event(self) -> dict[str, Any]:
        assert self._lesson is not None
        return {**self._lesson.summary(), "record": copy.deepcopy(self._lesson.record)}


def _deliver(sub: _Subscriber, event: Event) -> None:
    """Put ``event`` in the listener's queue; a full queue cuts the listener off (never blocks)."""
    if sub.dropped:
        return
    try:
        sub.queue.put_nowait(event)
    except asyncio.QueueFull:
        _cut_off(sub)


def _cut_off(sub: _Subscriber) -> None:
    """Empty the listener's queue and leave only the end marker (None)."""
    sub.dropped = True
    while not sub.queue.empty():
        sub.queue.get_nowait()
    sub.queue.put_nowait(None)
