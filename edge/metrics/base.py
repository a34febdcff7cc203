"""The contract between the window clock and the metric engines (classroom, PE, audio, environment).

The lesson session (edge/lesson/session.py) feeds every sample to each engine, asks each for its window metrics
at every window boundary and for its lesson metrics at the lesson's end. Engines return plain
JSON-able dicts of aggregates; they never return track ids or per-person series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.tracking.people import TrackedPerson


@dataclass
class EngineResult:
    """Aggregates of one engine over one window or lesson.

    ``n`` is the number of people summarised (for the privacy gate); ``metrics`` are the values
    under their SPEC 5 key names; ``rate_keys`` names the per-person-derived values the privacy
    gate must null when ``n`` is below ``privacy.min_group``.
    """

    n: int | None
    metrics: dict[str, Any]
    rate_keys: set[str] = field(default_factory=set)


class MetricEngine(Protocol):
    """One metric family. Every ``on_*`` hook is optional to act on; all must exist."""

    name: str

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None: ...

    def on_audio(self, sample: AudioFeatures) -> None: ...

    def on_heart_rate(self, sample: HeartRateSample) -> None: ...

    def on_environment(self, sample: EnvironmentSample) -> None: ...

    def close_window(self, start: float, end: float) -> EngineResult | None: ...

    def close_lesson(self, start: float, end: float) -> EngineResult | None: ...
