"""Camera state machine against a real MJPEG-over-HTTP camera that is paused, stopped, restarted."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from sensors.backoff import Backoff
from sensors.camera import CameraSource
from sensors.camera_supervisor import CameraStatus, CameraSupervisor
from sensors.const import CameraState
from tests.mjpeg_camera import MjpegCamera


@pytest.fixture
def flaky() -> Iterator[MjpegCamera]:
    """A camera that can be paused (stalled), stopped (unreachable) and started again."""
    camera = MjpegCamera([np.full((120, 160, 3), 90, np.uint8)], 0.04)
    yield camera
    camera.stop()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Recorder:
    """Collects status callbacks with their arrival time."""

    def __init__(self) -> None:
        self.statuses: list[tuple[float, CameraStatus]] = []

    def __call__(self, status: CameraStatus) -> None:
        self.statuses.append((time.monotonic(), status))

    def states(self) -> list[str]:
        out: list[str] = []
        for _, status in self.statuses:
            if not out or out[-1] != status.state:
                out.append(status.state)
        return out

    def retries(self, state: str) -> list[float]:
        return [s.next_retry_s for _, s in self.statuses if s.state == state and s.next_retry_s]


def test_backoff_grows_is_capped_jittered_and_resets():
    backoff = Backoff(initial_s=1, factor=2, cap_s=60, jitter=0.25, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(12)]
    bases = [min(60, 2**k) for k in range(12)]
    assert all(0.75 * b <= d <= b for d, b in zip(delays, bases)), delays
    assert max(delays) <= 60 and delays[-1] >= 45
    assert len({round(d / b, 6) for d, b in zip(delays, bases)}) > 6  # jittered, not a fixed ratio
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    with pytest.raises(ValueError):
        Backoff(initial_s=5, cap_s=1)


def test_connecting_streaming_stalled_unreachable_streaming(flaky):
    flaky.start()
    frames: list[int] = []
    beats: list[float] = []
    record = Recorder()
    source = CameraSource(flaky.url(), fps=10, open_timeout=1, read_timeout=1)
    supervisor = CameraSupervisor(
        "front", source, lambda f: frames.append(f.index), on_state=record,
        heartbeat=lambda: beats.append(time.monotonic()),
        backoff=Backoff(initial_s=0.2, factor=2, cap_s=0.8, jitter=0.25), unreachable_after=2,
        heartbeat_s=0.1,
    ).start()
    try:
        wait_for(lambda: supervisor.state == CameraState.STREAMING, 10, "streaming")
        wait_for(lambda: len(frames) >= 5, 5, "five frames")
        flaky.pause()  # connection stays up, frames stop: the 1 s read timeout notices
        wait_for(lambda: supervisor.state == CameraState.STALLED, 5, "stalled")
        flaky.stop()  # now connections are refused
        wait_for(lambda: supervisor.state == CameraState.UNREACHABLE, 8, "unreachable")
        wait_for(lambda: len(record.retries("unreachable")) >= 4, 8, "four retries")
        before = supervisor.status()
        flaky.start()
        wait_for(lambda: supervisor.state == CameraState.STREAMING, 10, "streaming again")
        frames_before = len(frames)
        wait_for(lambda: len(frames) >= frames_before + 3, 5, "frames after restart")
    finally:
        supervisor.stop()
    states = record.states()
    assert states[:5] == ["connecting", "streaming", "stalled", "unreachable", "streaming"], states
    assert states[-1] == "stopped"
    # Retry delays while unreachable grow then sit at the 0.8 s cap, each jittered below it.
    delays = record.retries("unreachable")
    assert all(0.1 <= d <= 0.8 for d in delays), delays
    assert max(delays) > 0.55 and delays[-1] >= delays[0]
    after = supervisor.status()
    assert before.consecutive_failures >= 2 and after.consecutive_failures == 0
    assert supervisor.backoff.attempt == 0  # reset by the first good frame
    assert after.reconnects >= 1 and after.failures >= 4 and after.last_error is None
    assert after.frames == len(frames)
    assert after.seconds["streaming"] > 0 and after.seconds["unreachable"] > 1.0
    # The heartbeat kept beating through stalls and backoff (never silent for 1.5 s).
    assert max(b - a for a, b in zip(beats, beats[1:])) < 1.5


def test_dead_camera_sleeps_between_attempts():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    record = Recorder()
    source = CameraSource(f"http://127.0.0.1:{port}/x.mjpg", open_timeout=1, read_timeout=1)
    supervisor = CameraSupervisor(
        "dead", source, lambda f: None, on_state=record,
        backoff=Backoff(initial_s=0.2, factor=2, cap_s=1.0, jitter=0.25), unreachable_after=2,
    ).start()
    try:
        wait_for(lambda: supervisor.state == CameraState.UNREACHABLE, 5, "unreachable")
        wall0, cpu0 = time.monotonic(), time.process_time()
        time.sleep(3.0)
        cpu_share = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        status = supervisor.status()
        started = time.monotonic()
        supervisor.stop()
        stop_s = time.monotonic() - started
    finally:
        supervisor.stop()
    print(f"dead camera: {cpu_share:.2%} of a core with a 1 s backoff cap, "
          f"{status.failures} attempts")
    assert cpu_share < 0.02, f"dead camera used {cpu_share:.1%} of a core"
    assert stop_s < 1.0  # stop interrupts the backoff wait
    attempts = [t for t, s in record.statuses if s.next_retry_s]
    gaps = np.diff(attempts)
    delays = [s.next_retry_s for _, s in record.statuses if s.next_retry_s]
    # Each attempt came after (at least) the announced delay: the thread slept in between.
    assert all(g >= d - 0.02 for g, d in zip(gaps, delays)), (gaps, delays)
    assert status.frames == 0 and status.failures == len(delays)
    assert "cannot open" in (status.last_error or "")
