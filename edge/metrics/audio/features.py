"""Audio chunks -> AudioFeatures every ~0.5 s: speech segments and share, teacher speech, A-weighted level.

The level is an estimate: the A-weighting filter (IEC 61672 poles, bilinear transform at 16 kHz,
normalised to 0 dB at 1 kHz) applied to the samples, its RMS in dBFS (a full-scale sine is 0 dBFS)
plus ``dba_offset``, the per-microphone calibration from a sound level meter. Within 0.2 dB of
the standard curve from 31.5 Hz to 2 kHz; above that the bilinear transform under-weights (-0.5 dB
at 4 kHz, -6 dB at 6.3 kHz), which matters little for speech and classroom noise.

Teacher speech needs a teacher channel (a lapel mic on a second input). With the room mic alone
``teacher_speech`` is None: a room microphone cannot tell who is speaking, and a guess (loudness,
run length) would be wrong exactly when students answer at length, so none is made.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import bilinear_zpk, freqz_zpk, sosfilt, sosfilt_zi, zpk2sos

from models.vad import SileroVad
from models.vad_segments import SegmentSettings, SpeechSegmenter
from sensors.audio import CHUNK, RATE, AudioChunk
from sensors.samples import AudioFeatures, SpeechSegment

# Full-scale sine RMS is 1/sqrt(2): add 3.01 dB so that sine reads 0 dBFS (AES17 convention).
_SINE_DBFS = 20 * np.log10(np.sqrt(2.0))
# Level floor for digital silence (all zeros), far below any microphone's self-noise.
_FLOOR_POWER = 1e-12


def a_weighting_sos(rate: int = RATE) -> np.ndarray:
    """Second-order sections of a digital A-weighting filter at ``rate``, 0 dB at 1 kHz."""
    f1, f2, f3, f4 = 20.598997, 107.65265, 737.86223, 12194.217
    w = 2 * np.pi * np.array([f1, f1, f2, f3, f4, f4])
    zeros, poles = np.zeros(4), -w
    z, p, k = bilinear_zpk(zeros, poles, 1.0, rate)
    _, h = freqz_zpk(z, p, k, worN=[1000.0], fs=rate)
    return zpk2sos(z, p, k / abs(h[0]))


class AWeightedLevel:
    """Streaming A-weighted power meter: feed chunks in order, read the mean-square of each."""

    def __init__(self, rate: int = RATE):
        self._sos = a_weighting_sos(rate)
        self._zi = sosfilt_zi(self._sos) * 0.0

    def power(self, samples: np.ndarray) -> float:
        """Mean square of the A-weighted samples (filter state carried across calls)."""
        weighted, self._zi = sosfilt(self._sos, samples.astype(np.float64), zi=self._zi)
        return float(np.mean(weighted * weighted))


def power_to_dbfs(power: float) -> float:
    """dBFS of a mean-square power (full-scale sine = 0 dBFS)."""
    return float(10 * np.log10(max(power, _FLOOR_POWER)) + _SINE_DBFS)


@dataclass
class FeatureSettings:
    """How chunks are summarised: span length, speech smoothing (VAD threshold included), level
    calibration."""

    period_s: float = 0.5
    dba_offset: float = 0.0
    smoothing: SegmentSettings = field(default_factory=SegmentSettings)

    @property
    def chunks_per_span(self) -> int:
        return max(1, round(self.period_s * RATE / CHUNK))


@dataclass
class _Pending:
    """A chunk waiting for its smoothed labels: start time, A-weighted power, labels."""

    t: float
    power: float
    room: bool | None = None
    teacher: bool | None = None


class AudioFeatureExtractor:
    """Turns a chunk stream into :class:`AudioFeatures` spans of ``chunks_per_span`` chunks.

    Each channel's VAD probabilities go through a :class:`~models.vad_segments.SpeechSegmenter`
    (hysteresis, minimum speech and silence, padding), so ``speech`` is the share of the span
    inside room speech segments and ``teacher_speech`` the same on the teacher channel (None
    without one); ``dba`` is the span's A-weighted equivalent level; ``segments`` the speech
    segments that ended since the previous span. ``t`` is the span's start on the source clock.
    Labels are final only once the smoothing has seen what follows, so spans come out up to
    ``min_silence_s + pad_s`` after their audio.
    """

    def __init__(
        self, room_vad: SileroVad, teacher_vad: SileroVad | None = None,
        settings: FeatureSettings | None = None,
    ):
        self.settings = settings or FeatureSettings()
        self._room_vad, self._teacher_vad = room_vad, teacher_vad
        self._level = AWeightedLevel()
        self._room: SpeechSegmenter | None = None
        self._teacher: SpeechSegmenter | None = None
        self._pending: deque[_Pending] = deque()
        self._room_next = self._teacher_next = 0  # index in _pending of the next chunk to label
        self._segments: list[SpeechSegment] = []
        self._reset_span()

    def _reset_span(self) -> None:
        self._t0: float | None = None
        self._count = self._speech = self._teacher_count = 0
        self._power = 0.0

    def push(self, chunk: AudioChunk) -> list[AudioFeatures]:
        """Add one chunk; returns the spans whose labels became final (often none)."""
        if self._room is None:  # segment times on the source clock, from the first chunk
            self._room = SpeechSegmenter(self.settings.smoothing, CHUNK / RATE, "room", chunk.t)
            if self._teacher_vad is not None:
                self._teacher = SpeechSegmenter(self.settings.smoothing, CHUNK / RATE, "teacher",
                                                chunk.t)
        self._pending.append(_Pending(chunk.t, self._level.power(chunk.room)))
        self._label("room", self._room.push(self._room_vad.probability(chunk.room)))
        if self._teacher is not None and self._teacher_vad is not None:
            probability = (self._teacher_vad.probability(chunk.teacher)
                           if chunk.teacher is not None else 0.0)
            self._label("teacher", self._teacher.push(probability))
        return self._spans()

    def flush(self) -> list[AudioFeatures]:
        """End of stream: label every waiting chunk; the spans left, a final partial one included."""
        if self._room is None:
            return []
        self._label("room", self._room.flush())
        if self._teacher is not None:
            self._label("teacher", self._teacher.flush())
        spans = self._spans()
        last = self._close_span(final=True)
        return spans + ([last] if last is not None else [])

    def _label(self, channel: str, labels: list[bool]) -> None:
        start = self._room_next if channel == "room" else self._teacher_next
        for offset, label in enumerate(labels):
            setattr(self._pending[start + offset], channel, label)
        if channel == "room":
            self._room_next += len(labels)
        else:
            self._teacher_next += len(labels)

    def _spans(self) -> list[AudioFeatures]:
        spans = []
        while self._pending and self._pending[0].room is not None and (
                self._teacher is None or self._pending[0].teacher is not None):
            chunk = self._pending.popleft()
            self._room_next -= 1
            self._teacher_next -= self._teacher is not None
            if self._t0 is None:
                self._t0 = chunk.t
            self._count += 1
            self._speech += bool(chunk.room)
            self._teacher_count += bool(chunk.teacher)
            self._power += chunk.power
            if self._count >= self.settings.chunks_per_span:
                span = self._close_span()
                assert span is not None
                spans.append(span)
        return spans

    def _close_span(self, final: bool = False) -> AudioFeatures | None:
        if self._t0 is None:
            return None
        end = self._t0 + self._count * CHUNK / RATE
        for segmenter in (self._room, self._teacher):
            if segmenter is not None:
                self._segments += segmenter.take_segments()
        self._segments.sort(key=lambda s: s.end)
        n = self._count
        features = AudioFeatures(
            t=self._t0,
            speech=self._speech / n,
            teacher_speech=None if self._teacher_vad is None else self._teacher_count / n,
            dba=round(power_to_dbfs(self._power / n) + self.settings.dba_offset, 2),
            duration=n * CHUNK / RATE,
            # a turn whose tail pad reaches past this span goes with a later one
            segments=tuple(s for s in self._segments if final or s.end <= end + 1e-9),
            smoothed=True,
        )
        self._segments = self._segments[len(features.segments):]
        self._reset_span()
        return features

    def run(self, chunks: Iterable[AudioChunk]) -> Iterator[AudioFeatures]:
        """Features of every span of a chunk stream, the final partial span included."""
        for chunk in chunks:
            yield from self.push(chunk)
        yield from self.flush()
