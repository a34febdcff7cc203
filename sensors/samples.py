"""Timestamped samples every source yields; the vocabulary shared by sensors, models and edge.

Times ``t`` are seconds on the source's own clock (0 at its start for files, monotonic for live
inputs). Frames and audio live in memory only: nothing here is ever serialised.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# COCO-17 keypoint order, used everywhere inside the project (SPEC 4).
KEYPOINTS: tuple[str, ...] = (
    "nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
    "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle",
)
KP: dict[str, int] = {name: i for i, name in enumerate(KEYPOINTS)}
# Largest |t| a sample may carry (seconds, ~31,700 years): unix times fit many times over, and
# beyond it a float no longer counts 30 s windows exactly (1e308 + 30 == 1e308).
MAX_TIME = 1e12


@dataclass(frozen=True)
class Frame:
    """One decoded camera image (BGR, uint8, HxWx3). Memory only."""

    t: float
    image: np.ndarray
    source: str = "camera"
    index: int = 0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass
class Person:
    """One detected person: ``kp`` is float32 (17, 3) = x, y in pixels and score 0..1."""

    kp: np.ndarray
    score: float = 1.0

    def __post_init__(self) -> None:
        self.kp = np.asarray(self.kp, dtype=np.float32).reshape(17, 3)


@dataclass(frozen=True)
class PoseSample:
    """People seen at time ``t`` in an image of ``size`` (width, height); no identities."""

    t: float
    people: list[Person]
    size: tuple[int, int]


@dataclass(frozen=True)
class SpeechSegment:
    """One speech turn ``[start, end)`` in seconds on the stream's clock, on ``channel``
    (``room`` or ``teacher``). No content and no speaker identity: only when someone talked."""

    start: float
    end: float
    channel: str = "room"

    @property
    def duration(self) -> float:
        """Seconds of speech."""
        return self.end - self.start

    def shifted(self, offset: float) -> SpeechSegment:
        """The same turn on a clock ``offset`` seconds later."""
        return SpeechSegment(self.start + offset, self.end + offset, self.channel)


@dataclass(frozen=True)
class AudioFeatures:
    """Speech share of the room (and of a teacher channel) and level over a short span.

    With ``smoothed`` (live and WAV audio) ``speech``/``teacher_speech`` are the shares of the span
    inside smoothed speech segments, and ``segments`` the turns that ended by the span's end;
    without (scene files) they are speech probabilities, classified by a threshold.
    """

    t: float
    speech: float
    teacher_speech: float | None = None
    dba: float | None = None
    duration: float = 0.5
    segments: tuple[SpeechSegment, ...] = ()
    smoothed: bool = False

    def speech_s(self, threshold: float, teacher: bool = False) -> float:
        """Seconds of the span with speech (room, or teacher channel; 0 without one)."""
        value = self.teacher_speech if teacher else self.speech
        if value is None:
            return 0.0
        return self.duration * (value if self.smoothed else float(value >= threshold))

    def shifted(self, offset: float) -> AudioFeatures:
        """The same span (and its segments) on a clock ``offset`` seconds later."""
        return replace(self, t=self.t + offset,
                       segments=tuple(s.shifted(offset) for s in self.segments))


@dataclass(frozen=True)
class HeartRateSample:
    """Beats per minute per opaque band id at time ``t`` (None = contact lost)."""

    t: float
    bpm: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvironmentSample:
    """Environment readings at time ``t``: keys co2_ppm, temp_c, rh, lux_desk, lux_board, noise_dba."""

    t: float
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StationSample:
    """The PE stations of one camera frame at time ``t``: station name -> its one exerciser's
    COCO-17 keypoints (float32 (17, 3), frame pixels), or None when nobody is there. Memory only:
    no identity, and what reaches a record is a repetition count per station."""

    t: float
    poses: dict[str, np.ndarray | None]


Sample = PoseSample | AudioFeatures | HeartRateSample | EnvironmentSample | StationSample
