"""The microphone in the running daemon: ``[audio]`` chunks -> speech segments -> the lesson.

``audio.source`` is an ALSA device (through sounddevice, 16 kHz, channel 0 the room microphone
and ``teacher_channel`` a lapel microphone), or a WAV file played at real-time pace, chunk by
chunk, exactly as a microphone would deliver it (tests and demos use real speech files this
way; with ``audio.loop`` it starts over at its end). The chunks go through the same extractor as
``edge replay FILE.wav`` (VAD, smoothed speech segments, A-weighted level); each finished span
is stamped on the daemon clock and fed to the primary stream's lesson, where the audio and S-T
engines use it. Audio stays in memory: only the spans' shares and levels leave this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from edge.config.sources import AudioConfig

from .supervised import FeedContext, SupervisedFeed

if TYPE_CHECKING:
    from sensors.audio import AudioChunk, WavAudioSource

__all__ = ["AudioFeed", "audio_feed"]

# The audio path (VAD model, scipy.signal) is imported by the feed, only when audio is on: it
# costs ~30 MB of resident memory a node without a microphone does not spend.


class AudioFeed(SupervisedFeed):
    """Plays ``config.source`` (device or WAV file) into the lesson until stopped."""

    name = "audio"

    def __init__(self, config: AudioConfig, ctx: FeedContext):
        from edge.metrics.audio.source import is_audio_file

        super().__init__(ctx)
        self.config = config
        self.file = is_audio_file(config.source)
        self.once = self.file and not config.loop
        self._session = None  # the VAD model, loaded on the feed's thread at first play

    def play(self) -> None:
        from edge.metrics.audio.source import feature_extractor
        from models.vad import create_vad_session
        from sensors.audio import WavAudioSource
        from sensors.microphone import Microphone

        if self._session is None:
            self._session = create_vad_session()
        teacher = self.config.teacher_channel is not None
        extractor = feature_extractor(self.config, teacher, self._session)
        if self.file:
            chunks = self._paced(WavAudioSource(self.config.source, self.config.teacher_channel))
            for chunk in chunks:
                for span in extractor.push(chunk):
                    self.deliver(span)
            for span in extractor.flush():  # the file's end: its last turn is complete
                self.deliver(span)
            return
        with Microphone(self.config.source, self.config.teacher_channel) as mic:
            for chunk in mic.chunks():  # raises SourceError when the device goes quiet
                self.beat()
                if self.ctx.stop.is_set():
                    return
                for span in extractor.push(chunk):
                    self.deliver(span)

    def _paced(self, source: WavAudioSource) -> Iterator[AudioChunk]:
        """The file's chunks, each released when its time has come (real-time playback)."""
        started = time.monotonic()
        with source:
            for chunk in source:
                if not self.sleep(started + chunk.t - time.monotonic()):
                    return
                yield chunk


def audio_feed(config: AudioConfig, ctx: FeedContext) -> AudioFeed | None:
    """The feed for ``[audio]`` (None when audio is off or there is no stream to attach it to)."""
    if not config.enabled:
        return None
    if ctx.stream is None:
        return None
    return AudioFeed(config, ctx)
