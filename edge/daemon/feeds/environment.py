"""Environment sensors in the running daemon: one supervised feed per ``[[environment.sensors]]``.

* serial MH-Z19 / SenseAir S8: read every ``interval_s``; the driver reopens a lost port with
  its own backoff, so the feed only reports the link (``retrying`` while it is down);
* MQTT topics of an existing sensor network: paho reconnects on its own; readings are taken as
  they arrive, the feed reports the connection;
* CSV / JSON Lines files: rows released at their own pace (``t`` relative to the first row, in
  real time, as a logger would write them), then the file is followed for appended rows; a file
  that vanishes or breaks is retried, rows already delivered are not repeated.

Readings are stamped on the daemon clock and fed to the primary stream's lesson, whose
environment engine validates them (ranges, stale and stuck sensors) into the ``env`` block.
"""

from __future__ import annotations

import time

from edge.config.sources import FileSensorConfig, SensorConfig
from edge.daemon.env_sensors import EnvSensor, FileSensor, open_env_sensor

from ..heartbeat import BEAT_S
from .supervised import FeedContext, SupervisedFeed

__all__ = ["EnvironmentFeed", "environment_feeds"]


class EnvironmentFeed(SupervisedFeed):
    """Delivers one configured sensor's readings until stopped."""

    def __init__(self, config: SensorConfig, ctx: FeedContext):
        super().__init__(ctx)
        self.config = config
        self.name = f"env:{config.name}"
        # file rows: the last row's t delivered, and (first row's t, monotonic time it was due)
        self._last_t: float | None = None
        self._anchor: tuple[float, float] | None = None

    def play(self) -> None:
        sensor = open_env_sensor(self.config)  # a missing file raises SourceError: retried
        try:
            if isinstance(self.config, FileSensorConfig):
                assert isinstance(sensor, FileSensor)
                self._play_file(sensor)
            else:
                self._poll(sensor)
        finally:
            sensor.close()

    def _poll(self, sensor: EnvSensor) -> None:
        """Serial and MQTT sensors: readings until stopped; the link state as the feed's."""
        interval = getattr(self.config, "interval_s", None)
        while not self.ctx.stop.is_set():
            self.beat()
            sample = sensor.read_once(BEAT_S)
            health = sensor.health()
            if sample is not None:
                self.deliver(sample)
            elif not health.get("connected", True):
                self._link_down(health)
            if interval is not None and not self.sleep(interval):
                return

    def _link_down(self, health: dict) -> None:
        """Not connected: still connecting (no error yet), or lost and being retried."""
        if not health.get("last_error"):
            return
        self.failures = max(self.failures, int(health.get("disconnects", 0))
                            + int(health.get("open_failures", 0)))
        self.errors.warning(self.name, "%s: %s; the driver retries", self.name,
                            health["last_error"])
        self.set_state("retrying")

    def _play_file(self, sensor: FileSensor) -> None:
        for sample in sensor.samples(self.ctx.stop):
            if self._last_t is not None and sample.t <= self._last_t:
                continue  # delivered before the file was reopened
            if self._anchor is None:
                self._anchor = (sample.t, time.monotonic())
            first_t, started = self._anchor
            if not self.sleep(started + (sample.t - first_t) - time.monotonic()):
                return
            self._last_t = sample.t
            self.deliver(sample)


def environment_feeds(sensors: list[SensorConfig], ctx: FeedContext) -> list[EnvironmentFeed]:
    """One feed per configured sensor (none without a stream to attach readings to)."""
    if ctx.stream is None:
        return []
    return [EnvironmentFeed(config, ctx) for config in sensors]
