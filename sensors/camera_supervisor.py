"""One camera kept alive: a state machine around ``CameraSource`` with backoff and counters.

States (SPEC 9)::

    connecting --first frame--> streaming --no frame / stream lost--> stalled
        |                          ^                                     |
        +--- N failed attempts ----|-----------> unreachable <----------+
                                   +--------first frame-----------------+

- ``connecting``: the first attempts after start.
- ``streaming``: frames arrive; each goes to ``on_frame``.
- ``stalled``: the stream was up and stopped delivering (read timeout or end of stream); the
  supervisor reconnects.
- ``unreachable``: ``unreachable_after`` attempts in a row failed (cannot open, or opened but no
  frame came).

Between failed attempts the thread *sleeps* on an Event (exponential backoff with jitter, capped
at 60 s by default, reset on the first good frame), so a dead camera costs one connection
attempt per minute and nothing in between. ``on_state`` is called on every transition and each
scheduled retry with a :class:`CameraStatus` for health, Prometheus and MQTT ``cam/<id>/status``.

The thread also calls ``heartbeat`` at least every ``heartbeat_s`` while it sleeps and on every
frame; a blocked ``open``/``read`` is bounded by the source's own timeouts, so a watchdog should
allow ``open_timeout + read_timeout + heartbeat_s`` of silence.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sensors.backoff import Backoff
from sensors.const import CameraState
from sensors.errors import SourceError
from sensors.samples import Frame

__all__ = ["CameraStatus", "CameraSupervisor"]

log = logging.getLogger(__name__)


class FrameSource(Protocol):
    """What the supervisor needs from a camera (``sensors.camera.CameraSource`` fits)."""

    name: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[Frame]: ...


@dataclass
class CameraStatus:
    """A snapshot of one camera for health pages and ``cam/<id>/status`` (no image data)."""

    id: str
    source: str
    state: str
    since: float  # wall clock of the last transition
    frames: int = 0
    reconnects: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    next_retry_s: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


class CameraSupervisor:
    """Run one camera in its own thread until :meth:`stop`.

    :param camera_id: the configured camera id (``cameras.<id>``).
    :param source: the camera (already constructed, not opened).
    :param on_frame: called with every delivered frame; must be quick (hand it to a queue).
    :param on_state: called with a status snapshot on every state change and scheduled retry.
    :param heartbeat: called while the loop is alive (frames, waits), for the watchdog.
    :param backoff: retry delays (default 1 s doubling to 60 s, 25 % jitter).
    :param unreachable_after: failed attempts in a row before the camera counts as unreachable.
    :param heartbeat_s: longest sleep between two heartbeats while backing off.
    """

    def __init__(
        self,
        camera_id: str,
        source: FrameSource,
        on_frame: Callable[[Frame], None],
        *,
        on_state: Callable[[CameraStatus], None] | None = None,
        heartbeat: Callable[[], None] | None = None,
        backoff: Backoff | None = None,
        unreachable_after: int = 3,
        heartbeat_s: float = 5.0,
    ):
        if unreachable_after < 1:
            raise ValueError("unreachable_after must be >= 1")
        self.camera_id = camera_id
        self.source = source
        self.on_frame = on_frame
        self.on_state = on_state
        self.heartbeat = heartbeat or (lambda: None)
        self.backoff = backoff or Backoff()
        self.unreachable_after = unreachable_after
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._state = CameraState.CONNECTING
        self._entered = time.monotonic()
        self._status = CameraStatus(camera_id, source.name, self._state.value, time.time(),
                                    seconds={s.value: 0.0 for s in CameraState})
        self._thread = threading.Thread(target=self._run, name=f"camera:{camera_id}", daemon=True)

    # -- control -----------------------------------------------------------------------------

    def start(self) -> CameraSupervisor:
        """Start the capture thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to end (it notices between frames or during a wait) and join it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def state(self) -> CameraState:
        """The current state."""
        return self._state

    def status(self) -> CameraStatus:
        """A consistent snapshot, with the time spent in the current state included."""
        with self._lock:
            snap = CameraStatus(**{**asdict(self._status), "seconds": dict(self._status.seconds)})
            snap.seconds[self._state.value] += time.monotonic() - self._entered
        return snap

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        self._emit()
        while not self._stop.is_set():
            self.heartbeat()
            self._set(next_retry_s=None)  # an attempt is under way, none is scheduled
            delivered = self._stream_once()
            if self._stop.is_set():
                break
            if delivered:
                # Lost after streaming: reconnect at once, the backoff starts again from scratch.
                self._count(reconnects=1)
                self._transition(CameraState.STALLED)
                continue
            self._count(failures=1, consecutive_failures=1)
            if self._status.consecutive_failures >= self.unreachable_after:
                self._transition(CameraState.UNREACHABLE)
            self._sleep(self.backoff.next_delay())
        self._set(next_retry_s=None)
        self._transition(CameraState.STOPPED)

    def _stream_once(self) -> int:
        """Open, deliver frames until the stream stops; the number of frames delivered."""
        delivered = 0
        try:
            self.source.open()
            for frame in self.source:
                if delivered == 0:
                    self.backoff.reset()
                    self._count(consecutive_failures=-self._status.consecutive_failures)
                    self._set(last_error=None, next_retry_s=None)
                    self._transition(CameraState.STREAMING)
                delivered += 1
                self._count(frames=1)
                self.heartbeat()
                self.on_frame(frame)
                if self._stop.is_set():
                    break
        except SourceError as exc:
            self._set(last_error=str(exc))
            if delivered:
                log.warning("camera %s: %s", self.camera_id, exc)
        finally:
            self.source.close()
        return delivered

    def _sleep(self, delay: float) -> None:
        """Wait ``delay`` s (or until stopped), beating the heartbeat every ``heartbeat_s``."""
        self._set(next_retry_s=round(delay, 3))
        self._emit()
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            if self._stop.wait(min(left, self.heartbeat_s)):
                return
            self.heartbeat()

    # -- bookkeeping -------------------------------------------------------------------------

    def _transition(self, state: CameraState) -> None:
        with self._lock:
            if state == self._state:
                return
            now = time.monotonic()
            self._status.seconds[self._state.value] += now - self._entered
            self._state, self._entered = state, now
            self._status.state, self._status.since = state.value, time.time()
        log.info("camera %s: %s", self.camera_id, state.value)
        self._emit()

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._status, name, getattr(self._status, name) + delta)

    def _set(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(self._status, name, value)

    def _emit(self) -> None:
        if self.on_state is not None:
            try:
                self.on_state(self.status())
            except Exception:
                log.exception("camera %s: status callback failed", self.camera_id)
