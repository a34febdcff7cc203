"""The calibration snapshot's privacy step: every head the pose model or the face model finds is
pixelated, and the result is checked before anyone sees it.

BlazeFace short range alone misses small faces (17 of the 38 on the class photo came back
unblurred when no lesson was running), so the snapshot runs the pose pipeline itself and
pixelates every head it finds as well as every face; then the face model looks at the blurred
image again. What it finds there is pixelated too (on real footage these are mostly false faces
in the background: 7 of 10 frames of the demo video had one, so refusing at once left the
technician without a picture), for up to :data:`CHECK_ROUNDS` rounds; a face still found after
that refuses the snapshot (:class:`UnblurredFace`) rather than show it. Everything stays in
memory.

The pose model is the caller's when it has one (``find_people``: the daemon lends its pipeline's
estimator): a second estimator at the default 960x720 box costs ~230 MB of resident memory.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from sensors.samples import Person

from .blazeface import FaceDetector, blur_faces
from .pose import PoseEstimator, PoseOptions
from .runtime import SessionOptions

# Pixelation for a snapshot: each box grown by 60% of its size on every side (a pose head box
# is a guess: keep the hair line, ears and chin inside) into 2x2 cells. Measured on the class
# photo: with 4x4 or 3x3 cells the face model still "finds" 2-4 faces in the smudges (score
# 0.51-0.59), which would refuse the snapshot; with 2x2 none.
SNAPSHOT_MARGIN = 0.6
SNAPSHOT_BLOCKS = 2
# The check after blurring accepts no face the detector is even moderately sure of.
CHECK_MIN_SCORE = 0.5
# Rounds of "look again, pixelate what is found"; a face surviving them refuses the snapshot.
CHECK_ROUNDS = 3


class UnblurredFace(RuntimeError):
    """The face model still finds a face after blurring: the snapshot must not be shown."""


@cache
def face_checker(session: SessionOptions) -> FaceDetector:
    """The snapshot's face model (small), loaded once per thread setting."""
    return FaceDetector(session, min_score=CHECK_MIN_SCORE)


@cache
def own_estimator(pose: PoseOptions, session: SessionOptions) -> PoseEstimator:
    """A pose estimator of the snapshot's own, for callers with no pipeline to lend theirs."""
    return PoseEstimator(pose, session)


def blur_snapshot(image_bgr: np.ndarray, people_kp: list[np.ndarray] | None = None,
                  pose: PoseOptions = PoseOptions(),
                  session: SessionOptions = SessionOptions(intra_op_threads=1),
                  find_people: Callable[[np.ndarray], list[Person]] | None = None) -> np.ndarray:
    """A copy of ``image_bgr`` with every head of ``people_kp`` (the pipeline's last people, if
    any), of the people the pose model finds in it now, and every face pixelated.

    :param pose: options of the snapshot's own estimator (:func:`own_estimator`), used only
        without ``find_people``.
    :param session: threads of the face model (and of the own estimator).
    :param find_people: the caller's pose model (image -> people), e.g. the running pipeline's.
    :raises UnblurredFace: when the face model still finds a face in the blurred copy after
        :data:`CHECK_ROUNDS` rounds of pixelating what it found.
    :raises models.runtime.ModelError: when a model cannot be loaded (no snapshot then either).
    """
    detect = find_people if find_people is not None else own_estimator(pose, session).detect
    faces = face_checker(session)
    heads = [p.kp for p in detect(image_bgr)] + list(people_kp or [])
    boxes = faces.detect_faces(image_bgr, heads)
    blurred = blur_faces(image_bgr, boxes, margin=SNAPSHOT_MARGIN, blocks=SNAPSHOT_BLOCKS)
    for _ in range(CHECK_ROUNDS):
        left = faces.detect_faces(blurred, cover_heads=False)
        if not left:
            return blurred
        blurred = blur_faces(blurred, left, margin=SNAPSHOT_MARGIN, blocks=SNAPSHOT_BLOCKS,
                             in_place=True)
    left = faces.detect_faces(blurred, cover_heads=False)
    if left:
        raise UnblurredFace(f"{len(left)} face(s) still found after blurring")
    return blurred
