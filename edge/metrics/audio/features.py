"""Audio chunks -> AudioFeatures every ~0.5 s: VAD speech share, teacher speech, A-weighted level.

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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy.signal import bilinear_zpk, freqz_zpk, sosfilt, sosfilt_zi, zpk2sos

from models.vad import SileroVad
from sensors.audio import CHUNK, RATE, AudioChunk
from sensors.samples import AudioFeatures

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
    """How chunks are summarised: span length, VAD threshold and level calibration."""

    period_s: float = 0.5
    vad_threshold: float = 0.5
    dba_offset: float = 0.0

    @property
    def chunks_per_span(self) -> int:
        return max(1, round(self.period_s * RATE / CHUNK))


class AudioFeatureExtractor:
    """Turns a chunk stream into :class:`AudioFeatures` spans of ``chunks_per_span`` chunks.

    ``speech`` is the share of the span's 32 ms chunks whose VAD probability exceeds the threshold;
    ``teacher_speech`` the same on the teacher channel (None without one); ``dba`` the span's
    A-weighted equivalent level. ``t`` is the span's start on the source clock.
    """

    def __init__(
        self, room_vad: SileroVad, teacher_vad: SileroVad | None = None,
        settings: FeatureSettings | None = None,
    ):
        self.settings = settings or FeatureSettings()
        self._room_vad, self._teacher_vad = room_vad, teacher_vad
        self._level = AWeightedLevel()
        self._reset_span()

    def _reset_span(self) -> None:
        self._t0: float | None = None
        self._count = self._speech = self._teacher = 0
        self._power = 0.0

    def push(self, chunk: AudioChunk) -> AudioFeatures | None:
        """Add one chunk; returns the span's features when it completes, else None."""
        if self._t0 is None:
            self._t0 = chunk.t
        threshold = self.settings.vad_threshold
        self._count += 1
        self._speech += self._room_vad.probability(chunk.room) > threshold
        if self._teacher_vad is not None and chunk.teacher is not None:
            self._teacher += self._teacher_vad.probability(chunk.teacher) > threshold
        self._power += self._level.power(chunk.room)
        if self._count < self.settings.chunks_per_span:
            return None
        return self.flush()

    def flush(self) -> AudioFeatures | None:
        """Features of the span so far (a partial span at the end of a file), or None if empty."""
        if self._t0 is None:
            return None
        n = self._count
        features = AudioFeatures(
            t=self._t0,
            speech=self._speech / n,
            teacher_speech=None if self._teacher_vad is None else self._teacher / n,
            dba=round(power_to_dbfs(self._power / n) + self.settings.dba_offset, 2),
            duration=n * CHUNK / RATE,
        )
        self._reset_span()
        return features

    def run(self, chunks: Iterable[AudioChunk]) -> Iterator[AudioFeatures]:
        """Features of every span of a chunk stream, the final partial span included."""
        for chunk in chunks:
            features = self.push(chunk)
            if features is not None:
                yield features
        last = self.flush()
        if last is not None:
            yield last
