"""Silero VAD (16 kHz ONNX): speech probability of each 32 ms chunk of one audio stream.

The model is recurrent: each call takes the last 64 samples of the previous chunk followed by the
512 new ones, plus the state the previous call returned. Without that context it returns ~0 for
everything (see models/PROVENANCE.md), so one :class:`SileroVad` serves exactly one stream.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .runtime import SessionOptions, create_session

MODEL_NAME = "silero_vad_16k"
VAD_RATE = 16000
VAD_CHUNK = 512
VAD_CONTEXT = 64
_STATE_SHAPE = (2, 1, 128)

# Audio is light work: one thread keeps the VAD off the cores the pose model needs.
VAD_SESSION_OPTIONS = SessionOptions(intra_op_threads=1, inter_op_threads=1)


def create_vad_session(options: SessionOptions = VAD_SESSION_OPTIONS) -> ort.InferenceSession:
    """Load the shipped Silero model (single-threaded by default), warmed up once.

    :raises models.runtime.ModelError: when the model file is missing or unloadable.
    """
    warmup: dict[str, np.ndarray] = {
        "input": np.zeros((1, VAD_CONTEXT + VAD_CHUNK), np.float32),
        "state": np.zeros(_STATE_SHAPE, np.float32),
        "sr": np.array(VAD_RATE, dtype=np.int64),
    }
    return create_session(MODEL_NAME, options, warmup=warmup)


class SileroVad:
    """Stateful speech detector for one 16 kHz stream; sessions may be shared between streams."""

    def __init__(self, session: ort.InferenceSession):
        self.session = session
        self._sr = np.array(VAD_RATE, dtype=np.int64)
        self._input = np.zeros((1, VAD_CONTEXT + VAD_CHUNK), np.float32)
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far (zeros as context, zero state), e.g. after a gap in capture."""
        self._state = np.zeros(_STATE_SHAPE, np.float32)
        self._input[:] = 0.0

    def probability(self, chunk: np.ndarray) -> float:
        """Speech probability 0..1 of the next 512-sample chunk (float, -1..1) of the stream.

        :raises ValueError: when the chunk is not 512 samples long.
        """
        if chunk.shape != (VAD_CHUNK,):
            raise ValueError(f"VAD chunk must be {VAD_CHUNK} samples, got shape {chunk.shape}")
        # Shift the last 64 samples of the previous chunk in front of the new one.
        self._input[0, :VAD_CONTEXT] = self._input[0, -VAD_CONTEXT:]
        self._input[0, VAD_CONTEXT:] = chunk
        out, self._state = self.session.run(
            None, {"input": self._input, "state": self._state, "sr": self._sr}
        )
        return float(out.reshape(-1)[0])
