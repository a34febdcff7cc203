"""Live microphone capture (ALSA through PortAudio) with the same chunk interface as WAV files.

``sounddevice`` is imported only when a microphone is opened: it needs the ``libportaudio2``
system library, which a node without a microphone does not have to install.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any, Self

import numpy as np

from .audio import CHUNK, RATE, AudioChunk, pick_channels
from .errors import SourceError

# Seconds of audio buffered between the capture thread and the consumer; beyond that the oldest
# audio is dropped (and counted) rather than letting memory grow when the consumer stalls.
_QUEUE_S = 5.0


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # the module imports, PortAudio itself is missing
        raise SourceError(
            "microphone", f"live audio needs the PortAudio library (apt install libportaudio2): {exc}"
        ) from None
    except ImportError:
        raise SourceError(
            "microphone", "live audio needs the sounddevice package (pip install sounddevice)"
        ) from None
    return sounddevice


class Microphone:
    """A capture device yielding :class:`AudioChunk` s; ``t`` is ``time.monotonic()`` seconds.

    Use as a context manager; iterate :meth:`chunks`. ``dropped`` counts chunks lost because the
    consumer fell behind, ``overflows`` the capture overruns PortAudio reported.
    """

    def __init__(self, device: str | int = "default", teacher_channel: int | None = None):
        self.device = None if device in ("", "default") else device
        self.name = f"audio device {device or 'default'}"
        self.teacher_channel = teacher_channel
        self.channels = 1 if teacher_channel is None else teacher_channel + 1
        self.dropped = 0
        self.overflows = 0
        self._queue: queue.Queue[tuple[float, np.ndarray]] = queue.Queue(int(_QUEUE_S * RATE / CHUNK))
        self._stream: Any = None

    def __enter__(self) -> Self:
        sd = _sounddevice()
        try:
            self._stream = sd.InputStream(
                device=self.device, samplerate=RATE, channels=self.channels, dtype="float32",
                blocksize=CHUNK, callback=self._on_block,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:  # bad device name, rate or channel count
            raise SourceError(self.name, f"cannot open audio device: {exc}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def _on_block(self, block: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: copy (the buffer is reused) and hand over, never block.
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait((time.monotonic() - frames / RATE, block.copy()))
        except queue.Full:
            self.dropped += 1

    def chunks(self, seconds: float | None = None, timeout: float = 2.0) -> Iterator[AudioChunk]:
        """Captured chunks until ``seconds`` of audio have been read (forever when None).

        :raises SourceError: when the device delivers nothing for ``timeout`` seconds.
        """
        wanted = None if seconds is None else int(np.ceil(seconds * RATE / CHUNK))
        count = 0
        while wanted is None or count < wanted:
            try:
                t, block = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise SourceError(self.name, f"delivered nothing for {timeout:.0f} s") from None
            room, teacher = pick_channels(block, self.teacher_channel, self.name)
            yield AudioChunk(t, room, teacher)
            count += 1
