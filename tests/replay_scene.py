"""A plain classroom scene for replay, store and durability tests (and bench/replay.py).

Seated students in rows (smaller at the back), a teacher walking in the teacher zone, a few
hand raises, keypoint jitter and room audio. The metric ground truth lives in H4's generator;
this one only needs to be realistic enough to drive the whole pipeline for any duration, and it
streams samples so hour-long scenes cost no memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sensors.samples import AudioFeatures, Person, PoseSample, Sample
from sensors.scene import SceneHeader, write_scene

SIZE = (1920, 1080)
TEACHER_ZONE = [[0, 730], [1920, 730], [1920, 1080], [0, 1080]]


def _seated(cx: float, cy: float, s: float, raised: bool) -> np.ndarray:
    """COCO-17 of a student facing the camera, shoulder line at ``cy``, shoulder width ``s``."""
    kp = [
        (0, -0.6), (0.12, -0.7), (-0.12, -0.7), (0.25, -0.65), (-0.25, -0.65),
        (0.5, 0), (-0.5, 0), (0.6, 0.6), (-0.6, 0.6), (0.4, 0.9), (-0.4, 0.9),
        (0.3, 1.2), (-0.3, 1.2), (0.3, 1.6), (-0.3, 1.6), (0.3, 2.0), (-0.3, 2.0),
    ]
    score = [0.9] * 11 + [0.5, 0.5] + [0.05] * 4  # legs hidden by the desk
    if raised:  # left wrist above the shoulder and the elbow
        kp[7], kp[9] = (0.6, -0.4), (0.6, -1.0)
    return np.array([(cx + dx * s, cy + dy * s, c) for (dx, dy), c in zip(kp, score)], np.float32)


def _standing(cx: float, cy: float, s: float) -> np.ndarray:
    kp = [
        (0, -0.6), (0.12, -0.7), (-0.12, -0.7), (0.25, -0.65), (-0.25, -0.65),
        (0.5, 0), (-0.5, 0), (0.55, 0.7), (-0.55, 0.7), (0.5, 1.4), (-0.5, 1.4),
        (0.3, 1.5), (-0.3, 1.5), (0.3, 2.3), (-0.3, 2.3), (0.3, 3.1), (-0.3, 3.1),
    ]
    return np.array([(cx + dx * s, cy + dy * s, 0.9) for dx, dy in kp], np.float32)


def classroom_samples(seconds: float, fps: float = 2.0, rows: int = 3, per_row: int = 4,
                      seed: int = 0) -> Iterator[Sample]:
    """Samples of a classroom lesson of ``seconds``; student ``i`` raises a hand every 40 s."""
    rng = np.random.default_rng(seed)
    seats = [(300 + 1320 * c / max(1, per_row - 1), 200 + 150 * r, 40 + 20 * r)
             for r in range(rows) for c in range(per_row)]
    for i in range(int(seconds * fps)):
        t = round(i / fps, 3)
        people = []
        for k, (cx, cy, s) in enumerate(seats):
            raised = (t + 7 * k) % 40 < 3
            kp = _seated(cx, cy, s, raised)
            kp[:, :2] += rng.normal(0, 0.02 * s, (17, 2))
            people.append(Person(kp, 0.8))
        walk = 960 + 500 * np.sin(t / 20)
        people.append(Person(_standing(walk, 780, 70), 0.9))
        yield PoseSample(t=t, people=people, size=SIZE)
        if i % max(1, int(fps)) == 0:  # audio once a second; teacher talks in alternating minutes
            teacher = (t // 60) % 2 == 0
            yield AudioFeatures(t=t, speech=0.8, teacher_speech=0.7 if teacher else 0.1,
                                dba=55.0, duration=1.0)


def write_classroom_scene(path: Path, seconds: float, fps: float = 2.0, **kw) -> Path:
    """Write :func:`classroom_samples` as an ``edge.scene/v1`` file with a teacher zone."""
    header = SceneHeader(mode="classroom", size=SIZE, age=12, zones={"teacher": TEACHER_ZONE})
    write_scene(path, header, classroom_samples(seconds, fps, **kw))
    return path
