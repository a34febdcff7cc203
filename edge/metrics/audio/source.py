"""The audio path from config: chunks (WAV file or microphone) -> AudioFeatures.

:class:`WavFeatureSource` is what ``edge replay FILE.wav`` iterates: a sensors-style source that
yields :class:`AudioFeatures` spans on the file's clock, ready for ``LessonSession.feed``.
:func:`microphone_features` is the daemon's live equivalent (``t`` on the monotonic clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnxruntime as ort

from models.vad import SileroVad, create_vad_session
from sensors.audio import WavAudioSource
from sensors.microphone import Microphone
from sensors.samples import AudioFeatures
from sensors.source import Source

from edge.metrics.audio.features import AudioFeatureExtractor, FeatureSettings
from edge.config.sources import AudioConfig

__all__ = ["WavFeatureSource", "feature_extractor", "is_audio_file", "microphone_features"]

AUDIO_SUFFIXES = (".wav",)


def is_audio_file(spec: str | Path) -> bool:
    """True when ``spec`` names an audio file the replay should treat as a microphone recording."""
    return Path(spec).suffix.lower() in AUDIO_SUFFIXES


def feature_extractor(
    cfg: AudioConfig, teacher: bool, session: ort.InferenceSession | None = None
) -> AudioFeatureExtractor:
    """An extractor with the configured span, VAD threshold and level offset.

    One VAD session serves both channels (each keeps its own recurrent state).
    """
    session = session or create_vad_session()
    settings = FeatureSettings(
        period_s=cfg.period_s, vad_threshold=cfg.vad_threshold, dba_offset=cfg.dba_offset
    )
    return AudioFeatureExtractor(
        SileroVad(session), SileroVad(session) if teacher else None, settings
    )


class WavFeatureSource(Source[AudioFeatures]):
    """AudioFeatures of a WAV file; channel ``cfg.teacher_channel`` (if set) is the teacher mic.

    :raises sensors.errors.SourceError: when the file is unreadable or lacks the teacher channel.
    :raises models.runtime.ModelError: when the VAD model cannot be loaded.
    """

    kind = "wav_features"

    def __init__(self, path: str | Path, cfg: AudioConfig):
        self.audio = WavAudioSource(path, cfg.teacher_channel)
        self.extractor = feature_extractor(cfg, teacher=cfg.teacher_channel is not None)

    def __iter__(self) -> Iterator[AudioFeatures]:
        return self.extractor.run(self.audio)

    def describe(self) -> dict[str, Any]:
        return {**self.audio.describe(), "kind": self.kind}

    def close(self) -> None:
        self.audio.close()


def microphone_features(cfg: AudioConfig, seconds: float | None = None) -> Iterator[AudioFeatures]:
    """Live AudioFeatures from ``cfg.source`` (an ALSA device) until ``seconds`` (None = forever).

    The generator holds the device open; closing it (or breaking out) releases the device.

    :raises sensors.errors.SourceError: when the device cannot be opened or stops delivering.
    """
    extractor = feature_extractor(cfg, teacher=cfg.teacher_channel is not None)
    with Microphone(cfg.source, cfg.teacher_channel) as mic:
        yield from extractor.run(mic.chunks(seconds))
