"""Speech segments from per-chunk VAD probabilities, streaming, as Silero's ``get_speech_timestamps``.

People count talk in turns: a speaker who pauses for breath is still talking. Raw 32 ms VAD
decisions are not turns, so (as Silero's own post-processing does) a segment

* starts at a chunk whose probability reaches ``threshold``;
* goes on while probabilities stay above ``threshold - 0.15`` (hysteresis), and through dips below
  that shorter than ``min_silence_s`` (the hangover);
* is dropped when shorter than ``min_speech_s`` (a cough, a door);
* is padded by ``pad_s`` on both sides (speech onsets and tails are soft); pads are shorter than
  half the hangover, so padded segments never overlap.

Unlike Silero's function (whole file at once) this works chunk by chunk: :meth:`SpeechSegmenter.push`
returns the chunks whose label is final, so a live stream is labelled with a delay of at most
``max(min_speech_s, min_silence_s) + pad_s``; :meth:`SpeechSegmenter.flush` labels the rest at the end of the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sensors.samples import SpeechSegment

__all__ = ["NEG_THRESHOLD_GAP", "SegmentSettings", "SpeechSegment", "SpeechSegmenter"]

NEG_THRESHOLD_GAP = 0.15  # Silero's neg_threshold = threshold - 0.15


@dataclass(frozen=True)
class SegmentSettings:
    """Smoothing in seconds; :meth:`chunks` converts to whole chunks of ``chunk_s``."""

    threshold: float = 0.5
    min_speech_s: float = 0.25  # Silero's default
    # Annotated turns keep pauses under about a second (AMI); Silero's 0.1 s splits at every breath.
    min_silence_s: float = 1.0
    pad_s: float = 0.2

    def __post_init__(self) -> None:
        if not (0 < self.threshold < 1 and self.min_speech_s >= 0 and self.pad_s >= 0
                and 2 * self.pad_s < self.min_silence_s):
            raise ValueError("segments need 0 < threshold < 1, min_speech_s >= 0 and "
                             "0 <= 2 * pad_s < min_silence_s")

    def chunks(self, seconds: float, chunk_s: float) -> int:
        return max(0, round(seconds / chunk_s))


class SpeechSegmenter:
    """Labels a stream of chunk probabilities speech / not speech, chunk by chunk.

    :param chunk_s: each chunk's length in seconds (512 samples at 16 kHz = 0.032 s).
    :param t0: the stream's clock at the first chunk.
    """

    def __init__(self, settings: SegmentSettings, chunk_s: float, channel: str = "room",
                 t0: float = 0.0):
        self.settings, self.chunk_s, self.channel, self.t0 = settings, chunk_s, channel, t0
        self._neg = max(0.01, settings.threshold - NEG_THRESHOLD_GAP)
        self._min_speech = max(1, settings.chunks(settings.min_speech_s, chunk_s))
        self._min_silence = max(1, settings.chunks(settings.min_silence_s, chunk_s))
        self._pad = settings.chunks(settings.pad_s, chunk_s)
        self._n = 0  # chunks pushed
        self._released = 0  # chunks whose label has been returned
        self._labels: list[bool] = []  # labels of chunks _released .. _n-1
        self._start: int | None = None  # open segment's first chunk
        self._dip: int | None = None  # first chunk of the current dip inside the open segment
        self._pad_until = 0  # chunks before this index are speech (a kept segment's tail pad)
        self.segments: list[SpeechSegment] = []  # finished segments not yet taken

    def push(self, probability: float) -> list[bool]:
        """Add the next chunk's probability; returns the labels that became final (oldest first)."""
        i = self._n
        self._n += 1
        self._labels.append(i < self._pad_until)
        if self._start is None:
            if probability >= self.settings.threshold:
                self._start, self._dip = i, None
        elif probability < self._neg:
            self._dip = i if self._dip is None else self._dip
            if i - self._dip + 1 >= self._min_silence:
                self._close(self._dip)
        elif probability >= self.settings.threshold:
            self._dip = None
        return self._release(self._frontier())

    def flush(self) -> list[bool]:
        """End of stream: close an open segment and return every remaining label."""
        if self._start is not None:
            self._close(self._dip if self._dip is not None else self._n)
        end = self.t0 + self._n * self.chunk_s  # a tail pad stops where the audio does
        self.segments = [replace(s, end=min(s.end, end)) for s in self.segments]
        return self._release(self._n)

    def take_segments(self) -> list[SpeechSegment]:
        """Segments finished since the last call (for metrics that need turns, e.g. wait time)."""
        segments, self.segments = self.segments, []
        return segments

    def _close(self, end: int) -> None:
        start, self._start, self._dip = self._start, None, None
        assert start is not None
        if end - start < self._min_speech:
            return
        lo, hi = max(self._released, start - self._pad), end + self._pad
        for k in range(lo, min(hi, self._n)):
            self._labels[k - self._released] = True
        self._pad_until = max(self._pad_until, hi)
        self._emit(max(0, start - self._pad), hi)

    def _emit(self, lo: int, hi: int) -> None:
        self.segments.append(SpeechSegment(self.t0 + lo * self.chunk_s, self.t0 + hi * self.chunk_s,
                                           self.channel))

    def _frontier(self) -> int:
        """First chunk whose label may still change; a turn already longer than ``min_speech``
        is kept whatever follows, so its chunks up to the current dip are final (speech)."""
        if self._start is None:
            return max(self._released, self._n - self._pad)
        settled = self._dip if self._dip is not None else self._n
        if settled - self._start < self._min_speech:
            return max(self._released, self._start - self._pad)
        for k in range(max(self._released, self._start - self._pad), settled):
            self._labels[k - self._released] = True
        return max(self._released, settled)

    def _release(self, upto: int) -> list[bool]:
        count = upto - self._released
        if count <= 0:
            return []
        out, self._labels = self._labels[:count], self._labels[count:]
        self._released = upto
        return out
