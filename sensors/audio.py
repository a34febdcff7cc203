"""Audio sources: WAV files for replay, yielding fixed-size 16 kHz float32 chunks.

Every audio source (this file, and the live microphone in ``sensors/microphone.py``) yields
:class:`AudioChunk` objects of :data:`CHUNK` samples at :data:`RATE` Hz: the room channel and,
when configured, a teacher channel (e.g. a lapel mic on a second input). Samples live in memory
only; nothing here ever writes them anywhere (SPEC 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from .errors import SourceError
from .source import Source

RATE = 16000
"""Sample rate of every chunk (the VAD model's rate)."""
CHUNK = 512
"""Samples per chunk: 32 ms at 16 kHz, the VAD model's step."""

# Resampling is done in blocks so a lesson-long file is never held in memory at once; a margin of
# extra input on each side hides the filter's edge effects where blocks meet.
_BLOCK_S = 10.0
_MARGIN_S = 0.05


@dataclass(frozen=True)
class AudioChunk:
    """``CHUNK`` samples starting at ``t`` seconds: room mic and optional teacher channel (-1..1)."""

    t: float
    room: np.ndarray
    teacher: np.ndarray | None = None


def pick_channels(
    block: np.ndarray, teacher_channel: int | None, name: str = "audio"
) -> tuple[np.ndarray, np.ndarray | None]:
    """Room (channel 0) and teacher channels of a (frames, channels) block.

    :raises SourceError: when ``teacher_channel`` does not exist in the input ``name``.
    """
    if block.ndim == 1:
        block = block[:, None]
    if teacher_channel is None:
        return block[:, 0], None
    if teacher_channel == 0 or teacher_channel >= block.shape[1]:
        raise SourceError(
            name, f"teacher channel {teacher_channel} not available: the input has "
            f"{block.shape[1]} channel(s) and channel 0 is the room mic",
        )
    return block[:, 0], block[:, teacher_channel]


def to_float(samples: np.ndarray) -> np.ndarray:
    """PCM or float samples scaled to float32 in -1..1 (8-bit WAV is unsigned, centred on 128)."""
    if samples.dtype == np.uint8:
        return (samples.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float32) / float(-np.iinfo(samples.dtype).min)
    return samples.astype(np.float32, copy=False)


def read_wav(path: str | Path) -> tuple[int, np.ndarray]:
    """Sample rate and raw (frames, channels) samples of a WAV file, memory-mapped when possible.

    :raises SourceError: when the file is missing or not a readable WAV.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "no such audio file")
    try:
        rate, data = wavfile.read(path, mmap=True)
    except ZeroDivisionError:
        # scipy divides by the header's block size: a header with 0 channels (or 0-byte samples)
        raise SourceError(path, "not a readable WAV file (its header declares 0 channels "
                                "or 0-byte samples)") from None
    except ValueError:
        # 24-bit PCM and some extensible formats cannot be memory-mapped: read them whole.
        try:
            rate, data = wavfile.read(path, mmap=False)
        except ValueError as exc:
            raise SourceError(path, f"not a readable WAV file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise SourceError(path, f"not a readable WAV file ({exc})") from None
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[0] == 0:
        raise SourceError(path, "the WAV file holds no samples")
    return int(rate), data


def resampled_blocks(data: np.ndarray, rate: int) -> Iterator[np.ndarray]:
    """Float32 (frames, channels) blocks of ``data`` resampled from ``rate`` to :data:`RATE`.

    Blocks start on multiples of the decimation factor, so each one maps to an exact span of
    output samples and consecutive blocks join without gaps or overlaps.
    """
    g = gcd(rate, RATE)
    up, down = RATE // g, rate // g
    block = max(1, int(_BLOCK_S * rate) // down) * down
    margin = max(1, int(_MARGIN_S * rate) // down) * down
    total = data.shape[0]
    for start in range(0, total, block):
        stop = min(start + block, total)
        if up == down:
            yield to_float(np.asarray(data[start:stop]))
            continue
        lo, hi = max(0, start - margin), min(total, stop + margin)
        out = resample_poly(to_float(np.asarray(data[lo:hi])), up, down, axis=0)
        skip = (start - lo) * up // down
        want = -(-(stop - start) * up // down)  # ceil: the last partial block keeps its tail
        yield out[skip : skip + want].astype(np.float32, copy=False)


def chunk_stream(
    blocks: Iterator[np.ndarray], teacher_channel: int | None, t0: float = 0.0
) -> Iterator[AudioChunk]:
    """Cut a stream of (frames, channels) 16 kHz blocks into :class:`AudioChunk` s.

    The final partial chunk is zero-padded so no audio is silently dropped.
    """
    pending = np.zeros((0, 1), dtype=np.float32)
    index = 0
    for block in blocks:
        block = block if block.ndim == 2 else block[:, None]
        pending = block if pending.shape[0] == 0 else np.concatenate([pending, block])
        usable = pending.shape[0] // CHUNK * CHUNK
        for offset in range(0, usable, CHUNK):
            room, teacher = pick_channels(pending[offset : offset + CHUNK], teacher_channel)
            yield AudioChunk(t0 + index * CHUNK / RATE, room.copy(), _copy(teacher))
            index += 1
        pending = pending[usable:]
    if pending.shape[0]:
        padded = np.zeros((CHUNK, pending.shape[1]), dtype=np.float32)
        padded[: pending.shape[0]] = pending
        room, teacher = pick_channels(padded, teacher_channel)
        yield AudioChunk(t0 + index * CHUNK / RATE, room, _copy(teacher))


def _copy(samples: np.ndarray | None) -> np.ndarray | None:
    return None if samples is None else samples.copy()


class WavAudioSource(Source[AudioChunk]):
    """A WAV file as 16 kHz chunks (any input rate), ``t`` from 0 at the file's start.

    Channel 0 is the room mic; ``teacher_channel`` (>= 1) names a lapel-mic channel if any.

    :raises SourceError: when the file is unreadable or lacks the teacher channel.
    """

    kind = "wav"

    def __init__(self, path: str | Path, teacher_channel: int | None = None):
        self.path = Path(path)
        self.teacher_channel = teacher_channel
        self.rate, self._data = read_wav(self.path)
        self.channels, self.seconds = int(self._data.shape[1]), self._data.shape[0] / self.rate
        pick_channels(self._data[:1], teacher_channel, str(self.path))  # fail now, not midway

    def __iter__(self) -> Iterator[AudioChunk]:
        return chunk_stream(resampled_blocks(self._data, self.rate), self.teacher_channel)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "source": str(self.path), "rate": self.rate,
            "channels": self.channels, "seconds": self.seconds,
        }

    def close(self) -> None:
        # Drop the memory map (a slice of it would keep the file mapped).
        self._data = np.zeros((0, self.channels), dtype=self._data.dtype)
