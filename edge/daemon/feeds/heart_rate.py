"""Heart-rate bands in the running daemon: the configured source on a thread, samples to a lesson.

``heart_rate.source`` picks real BLE bands (:class:`sensors.heart_rate.BleakHeartRateSource`),
simulated bands following a work/rest profile for the demo
(:class:`sensors.heart_rate.SimulatedHeartRateSource`), or none. Samples are stamped on the
daemon clock and given to one stream's session (the primary camera's): the bands belong to the
class, not to a camera, so each reading must be counted once. Band ids stay in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time

from edge.config import HeartRateConfig
from sensors import SourceError
from sensors.heart_rate import BleakHeartRateSource, SimulatedBand, SimulatedHeartRateSource

from ..heartbeat import BEAT_S
from .supervised import FeedContext, SupervisedFeed

__all__ = ["HeartRateFeed", "demo_activity", "heart_rate_feed"]

log = logging.getLogger(__name__)

_HORIZON_S = 7 * 24 * 3600.0  # the simulation's length: longer than any daemon run between restarts
_WORK_S, _REST_S = 180.0, 60.0  # the demo's interval training: 3 min of work, 1 min of rest


def demo_activity(t: float) -> float:
    """The simulated class's effort at ``t`` seconds (0 rest .. 1 full effort): work and rest."""
    return 0.8 if t % (_WORK_S + _REST_S) < _WORK_S else 0.1


def simulated_bands(config: HeartRateConfig) -> list[SimulatedBand]:
    """The configured band ids (or made-up ones), each with its own resting and working pulse."""
    ids = config.bands or [f"sim-{i + 1:02d}" for i in range(config.simulated_bands)]
    return [
        SimulatedBand(band, rest_bpm=85.0 + 3.0 * (i % 5), active_bpm=140.0 + 5.0 * (i % 6))
        for i, band in enumerate(ids)
    ]


class HeartRateFeed(SupervisedFeed):
    """Runs the configured source until stopped and feeds its samples to the stream.

    The simulation never fails; a BLE radio or driver failure is retried on the backoff ladder.
    """

    name = "heart-rate"

    def __init__(self, config: HeartRateConfig, ctx: FeedContext):
        super().__init__(ctx)
        self.config = config

    def play(self) -> None:
        if self.config.source == "simulated":
            self._run_simulated()
            return
        if not self.config.bands:
            log.warning("heart rate: source = ble but no bands are configured")
            while self.sleep(BEAT_S):  # nothing to do, and nothing to retry: idle, alive
                pass
            return
        try:
            asyncio.run(self._run_ble())
        except Exception as exc:  # noqa: BLE001 - bleak raises its own types for a lost radio
            raise SourceError("heart rate", f"the BLE source stopped: {exc}") from None

    def _run_simulated(self) -> None:
        source = SimulatedHeartRateSource(simulated_bands(self.config), demo_activity)
        log.info("heart rate: %d simulated band(s)", len(source.bands))
        started = time.monotonic()
        for sample in source.samples(0.0, _HORIZON_S):
            if not self.sleep(started + sample.t - time.monotonic()):
                return
            self.deliver(sample)

    async def _run_ble(self) -> None:
        source = BleakHeartRateSource(self.config.bands, self.deliver, self.ctx.clock.now)
        stopped = asyncio.Event()
        radio = asyncio.create_task(source.run(stopped))
        reported = 0
        while not self.ctx.stop.is_set() and not radio.done():
            self.beat()
            unreachable = len(getattr(source, "unreachable", {}))  # filled while connecting
            if unreachable > reported:  # counted, not named: band ids are pairing data
                log.warning("heart rate: %d of %d band(s) could not be reached",
                            unreachable, len(self.config.bands))
                reported = unreachable
            await asyncio.sleep(BEAT_S)
        stopped.set()
        await radio


def heart_rate_feed(config: HeartRateConfig, ctx: FeedContext) -> HeartRateFeed | None:
    """The feed for ``config`` (None when the source is "none" or there is no stream)."""
    if config.source == "none":
        return None
    if ctx.stream is None:
        log.warning("heart rate: no camera or scene stream to attach the bands to")
        return None
    return HeartRateFeed(config, ctx)
