"""Room audio per window and lesson (SPEC 4.1): speech, silence, teacher talk, noise level.

Ratios are shares of the audio time heard. ``noise_dba`` is the equivalent continuous level
(energy mean of the dBA estimates), not the mean of decibels. A value whose input never came
(no teacher channel, no level estimate) is None; with no audio at all the engine reports nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample

from edge.config.metrics import ClassroomConfig
from edge.metrics.base import EngineResult
from edge.tracking.people import TrackedPerson

__all__ = ["AudioEngine"]


@dataclass
class _AudioTally:
    seconds: float = 0.0
    speech: float = 0.0
    silence: float = 0.0
    teacher_seconds: float = 0.0  # audio time with a teacher channel
    teacher: float = 0.0
    level_seconds: float = 0.0
    energy: float = 0.0  # sum of 10^(dBA/10) x seconds

    def add(self, s: AudioFeatures, cfg: ClassroomConfig) -> None:
        d = s.duration
        speaking = s.speech >= cfg.speech_threshold
        self.seconds += d
        self.speech += d * speaking
        self.silence += d * (not speaking and (s.dba is None or s.dba < cfg.silence_dba))
        if s.teacher_speech is not None:
            self.teacher_seconds += d
            self.teacher += d * (s.teacher_speech >= cfg.speech_threshold)
        if s.dba is not None:
            self.level_seconds += d
            self.energy += d * 10.0 ** (s.dba / 10.0)

    def metrics(self) -> dict:
        return {
            "speech_ratio": self.speech / self.seconds,
            "silence_ratio": self.silence / self.seconds,
            "teacher_talk_ratio": self.teacher / self.teacher_seconds
            if self.teacher_seconds
            else None,
            "noise_dba": 10.0 * math.log10(self.energy / self.level_seconds)
            if self.energy > 0
            else None,
        }


class AudioEngine:
    """SPEC 5 ``audio`` block from the audio feature stream."""

    name = "audio"

    def __init__(self, cfg: ClassroomConfig) -> None:
        self.cfg = cfg
        self._window = _AudioTally()
        self._lesson = _AudioTally()

    def on_people(self, t: float, people: list[TrackedPerson], size: tuple[int, int]) -> None:
        """Not used."""

    def on_audio(self, sample: AudioFeatures) -> None:
        """Add one audio span to the window and lesson sums."""
        if sample.duration <= 0:
            return
        self._window.add(sample, self.cfg)
        self._lesson.add(sample, self.cfg)

    def on_heart_rate(self, sample: HeartRateSample) -> None:
        """Not used."""

    def on_environment(self, sample: EnvironmentSample) -> None:
        """Not used."""

    def close_window(self, start: float, end: float) -> EngineResult | None:
        """Audio metrics of the window; None when no audio arrived."""
        tally, self._window = self._window, _AudioTally()
        return EngineResult(n=None, metrics={"audio": tally.metrics()}) if tally.seconds else None

    def close_lesson(self, start: float, end: float) -> EngineResult | None:
        """Audio metrics of the lesson; None when no audio arrived."""
        tally = self._lesson
        return EngineResult(n=None, metrics={"audio": tally.metrics()}) if tally.seconds else None
