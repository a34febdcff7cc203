"""The daemon's one pose model, shared by the inference loop and the technician snapshot.

The pose network's working memory at the default 960x720 box is ~140 MB of onnxruntime arena
(activations of a 960x544 pass for a 16:9 frame) on top of ~20 MB of weights. The snapshot used
to load a second estimator of its own (measured on the demo: +230 MB resident after the first
snapshot, 821 MB in all); it borrows this one now. One user at a time: two concurrent passes
would each need their own activations in the arena, and the snapshot is a rare request that
may wait for the frame being analysed (a few hundred ms), as frames wait for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from edge.config import ZonesConfig
from edge.perception.pipeline import Perception
from sensors.samples import Frame, Person, PoseSample

from .memory import release_free_memory

__all__ = ["SharedPose"]

log = logging.getLogger(__name__)


class SharedPose:
    """The pose step, loaded on first use by whichever needs it first (a frame to analyse or a
    snapshot to blur), and run by one caller at a time.

    :param make: builds the pose step (loads the model); may raise ``ModelError``, and is then
        tried again on the next use.
    """

    def __init__(self, make: Callable[[], Perception]):
        self._make = make
        self._lock = threading.Lock()
        self._perception: Perception | None = None

    def sample(self, frame: Frame) -> tuple[PoseSample, float]:
        """The pipeline's pose sample of ``frame`` (refinement hooks included) and the seconds
        it spent in model stages."""
        with self._lock:
            perception = self._loaded()
            before = perception.stats.model_s
            sample = perception.sample(frame)
            return sample, perception.stats.model_s - before

    @contextmanager
    def borrow(self) -> Iterator[Callable[[np.ndarray], list[Person]]]:
        """The bottom-up model's ``detect`` (no hooks, no stats) for one whole technician
        snapshot (:func:`models.snapshot_blur.blur_snapshot`). Frames wait until the snapshot
        is done, so its face passes and frame copies never add their memory to a frame's pose
        pass (measured: +30 MB peak when they overlapped); a snapshot takes ~1 s."""
        with self._lock:
            yield self._loaded().detector.detect

    def set_zones(self, zones: ZonesConfig) -> None:
        """Follow a new calibration (nothing to do before the model is loaded: it is built
        from the config's zones then)."""
        with self._lock:
            if self._perception is not None:
                self._perception.set_zones(zones)

    def _loaded(self) -> Perception:
        if self._perception is None:
            started = time.monotonic()
            self._perception = self._make()
            release_free_memory()  # what loading and rewriting the model parsed is garbage now
            log.info("pose model loaded in %.1f s", time.monotonic() - started)
        return self._perception
