"""Which faces are people the pose pass missed: a geometric rule, not a score cut.

A seated student hidden by a desk and the student in front often shows only a face; BlazeFace
full range finds it where the bottom-up pose network finds nothing. But faces away from any
pose head are also hands, shoes and ties (seen on the shared COCO photos in an earlier probe,
scores 0.50-0.76), and a score cut chosen on a few images would be tuned to them. What tells them apart is where
they lie and how large they are against the people already found:

1. **Not on a detected body.** Hands, shoes and ties lie on a skeleton: a hand just beyond a
   wrist (along the forearm), a shoe at an ankle, a tie on the torso. A face counts only when
   its box holds no keypoint of a detected person, nor a hand point (the wrist moved on by a
   third of the forearm), and its centre lies outside every torso (the shoulder-hip
   quadrilateral). The face of a person already found holds their face keypoints and is skipped
   by the same test. A keypoint hull or limb segments grown by a head size reject too much: in
   a class photo a hidden child's face lies between the limbs of the children around it (the
   ones found on the shared class photo are 0.7-0.9 head sizes from a neighbour's keypoint,
   inside a neighbour's keypoint hull for a third of them).
2. **The size of its neighbours' faces.** Faces found at detected people's heads give the
   head size at that place in the image (perspective: heads shrink with distance, so only the
   nearest ones count). A face counts only when its width is within :data:`SIZE_RATIO` of the
   median of the :data:`NEIGHBOURS` nearest such faces; with no face at any detected head there
   is no scale to compare with, and no face counts (a frame of faces alone is not trusted).
3. **A confident face**: score >= :data:`MIN_FACE_SCORE`, above MediaPipe's own 0.6 operating
   point for this model, since a face alone adds a person. Geometry does the sorting: with the
   detector opened to 0.3 and 288-px tiles, rules 1-2 rejected 16 faces on bodies but let 26
   detections of 0.30-0.68 through, most in crowds, one certainly false (on the astronaut
   photo, one person); every face they let through at 0.7 or more was a real child.

Accepted faces become people with only the face keypoints (COCO-17 nose, eyes, ears); every
other keypoint is zero, which downstream means unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sensors.samples import KP, Person

from .blazeface_full import COCO_OF_LANDMARK, Face

FACE_POINTS = [KP[n] for n in ("nose", "l_eye", "r_eye", "l_ear", "r_ear")]
TORSO = [KP[n] for n in ("l_shoulder", "r_shoulder", "r_hip", "l_hip")]
HAND_REACH = 1 / 3
NEIGHBOURS = 3
SIZE_RATIO = 1.5
MIN_FACE_SCORE = 0.7


@dataclass(frozen=True)
class Bodies:
    """The detected people of a frame as the rule needs them, computed once per frame:
    ``points`` (N, 2) every found keypoint and hand point, ``heads`` (M, 2) every found face
    keypoint, ``torsos`` the convex hull of each person's shoulders and hips (all four found)."""

    points: np.ndarray
    heads: np.ndarray
    torsos: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, people: list[Person]) -> Bodies:
        """The bodies of ``people``."""
        points, heads, torsos = [np.zeros((0, 2), np.float32)], [np.zeros((0, 2), np.float32)], []
        for p in people:
            kp = p.kp
            points += [kp[kp[:, 2] > 0, :2], hand_points(kp)]
            face = kp[FACE_POINTS]
            heads.append(face[face[:, 2] > 0, :2])
            if (kp[TORSO, 2] > 0).all():
                torsos.append(cv2.convexHull(kp[TORSO, :2].astype(np.float32)))
        return cls(np.concatenate(points), np.concatenate(heads), tuple(torsos))


def hand_points(kp: np.ndarray) -> np.ndarray:
    """Where a person's hands are (N, 2): each found wrist moved on by a third of its forearm."""
    hands = []
    for elbow, wrist in ((KP["l_elbow"], KP["l_wrist"]), (KP["r_elbow"], KP["r_wrist"])):
        if kp[elbow, 2] > 0 and kp[wrist, 2] > 0:
            hands.append(kp[wrist, :2] + HAND_REACH * (kp[wrist, :2] - kp[elbow, :2]))
    return np.array(hands, np.float32).reshape(-1, 2)


def _in_box(face: Face, points: np.ndarray) -> bool:
    x1, y1, x2, y2 = face.box
    return bool(((points[:, 0] >= x1) & (points[:, 0] <= x2)
                 & (points[:, 1] >= y1) & (points[:, 1] <= y2)).any())


def on_body(face: Face, bodies: Bodies) -> bool:
    """Whether ``face`` lies on a detected person's body: its box holds a keypoint or hand
    point of anyone, or its centre is inside someone's torso."""
    if _in_box(face, bodies.points):
        return True
    centre = (float(face.centre[0]), float(face.centre[1]))
    return any(cv2.pointPolygonTest(hull, centre, False) >= 0 for hull in bodies.torsos)


def at_a_head(face: Face, bodies: Bodies) -> bool:
    """Whether a face box holds a detected person's face keypoint (it is that person's face)."""
    return _in_box(face, bodies.heads)


def face_person(face: Face) -> Person:
    """A person with only the face keypoints of ``face`` (its score on each); the rest zero."""
    kp = np.zeros((17, 3), np.float32)
    for landmark, index in COCO_OF_LANDMARK.items():
        kp[index] = (*face.landmarks[landmark], face.score)
    return Person(kp, face.score)


def hidden_people(faces: list[Face], people: list[Person]) -> list[Person]:
    """People for the faces that pass the rule of this module: off every detected body, sized
    like the faces at the nearest detected heads, confident."""
    bodies = Bodies.of(people)
    at_heads = [f for f in faces if at_a_head(f, bodies)]
    if not at_heads:
        return []
    centres = np.array([f.centre for f in at_heads])
    widths = np.array([f.width for f in at_heads])
    accepted = []
    for face in faces:
        if face.score < MIN_FACE_SCORE or on_body(face, bodies):
            continue
        nearest = np.argsort(np.hypot(*(centres - face.centre).T))[:NEIGHBOURS]
        if 1 / SIZE_RATIO <= face.width / float(np.median(widths[nearest])) <= SIZE_RATIO:
            accepted.append(face_person(face))
    return accepted
