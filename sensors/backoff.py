"""Capped exponential backoff with jitter: one ladder for every reconnecting thing.

Cameras (:mod:`sensors.camera_supervisor`), serial CO2 modules (:mod:`sensors.co2_serial`) and
the MQTT publisher and hub (:mod:`sync.connection`) all retry with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Exponential backoff with jitter: ``min(cap, initial * factor**k)`` minus up to ``jitter``
    of it, so many cameras failing together do not retry in lock-step, and no delay exceeds cap.
    """

    initial_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 60.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not (0 < self.initial_s <= self.cap_s and self.factor >= 1 and 0 <= self.jitter < 1):
            raise ValueError("backoff needs 0 < initial_s <= cap_s, factor >= 1, 0 <= jitter < 1")

    def next_delay(self) -> float:
        """The delay before the next attempt; each call moves one step up the ladder."""
        base = min(self.cap_s, self.initial_s * self.factor ** min(self.attempt, 64))
        self.attempt += 1
        return base * (1.0 - self.jitter * self.rng.random())

    def reset(self) -> None:
        """Back to the first step (after a success)."""
        self.attempt = 0
