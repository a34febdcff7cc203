"""BlazePose refinement on the real astronaut photo: landmarks land on her, upright or lying."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_file

from models.blazepose import BlazePoseRefiner, crop_matrix
from models.runtime import SessionOptions
from sensors.samples import KP

# Measured once by eye on a 4x zoom of skimage_astronaut.png (512x512): pupils and nose tip.
NOSE, R_EYE, L_EYE = (224, 126), (202, 102), (245, 103)
# Shoulder joints are hidden in the suit: where the suit's shoulders are, roughly.
R_SHOULDER, L_SHOULDER = (110, 240), (335, 245)
PERSON_BOX = (20.0, 15.0, 365.0, 512.0)  # the visible person, cut off by the bottom edge
SIZE = 512


@pytest.fixture(scope="module")
def refiner() -> BlazePoseRefiner:
    return BlazePoseRefiner(SessionOptions(intra_op_threads=1))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.imread(str(shared_file("media/skimage_astronaut.png")))


def hint_keypoints() -> np.ndarray:
    """What a bottom-up detector gives for her: face and shoulders, no hips (out of frame)."""
    kp = np.zeros((17, 3), np.float32)
    for name, xy in (("nose", NOSE), ("r_eye", R_EYE), ("l_eye", L_EYE),
                     ("r_shoulder", R_SHOULDER), ("l_shoulder", L_SHOULDER)):
        kp[KP[name]] = (*xy, 0.9)
    return kp


def dist(kp: np.ndarray, name: str, xy: tuple[float, float]) -> float:
    return float(np.hypot(*(kp[KP[name], :2] - np.asarray(xy))))


def rotate_cw(kp: np.ndarray) -> np.ndarray:
    """Keypoints of the image turned 90 degrees clockwise (cv2.ROTATE_90_CLOCKWISE)."""
    out = kp.copy()
    out[:, 0], out[:, 1] = SIZE - 1 - kp[:, 1], kp[:, 0]
    return out


def rotate_ccw(kp: np.ndarray) -> np.ndarray:
    out = kp.copy()
    out[:, 0], out[:, 1] = kp[:, 1], SIZE - 1 - kp[:, 0]
    return out


@pytest.mark.parametrize("hint", ["box", "keypoints"])
def test_upright_landmarks_land_on_her(refiner, astronaut, hint) -> None:
    given = np.array(PERSON_BOX) if hint == "box" else hint_keypoints()
    person = refiner.refine(astronaut, given)
    assert person is not None and person.score > 0.5
    kp = person.kp
    # Face points within a fifth of her face width (~100 px) of the measured positions.
    assert dist(kp, "nose", NOSE) < 20
    assert dist(kp, "r_eye", R_EYE) < 20 and dist(kp, "l_eye", L_EYE) < 20
    assert dist(kp, "r_shoulder", R_SHOULDER) < 75 and dist(kp, "l_shoulder", L_SHOULDER) < 75
    assert kp[[KP["nose"], KP["l_eye"], KP["r_eye"], KP["l_shoulder"], KP["r_shoulder"]], 2].min() > 0.5
    # Geometry: eyes above the nose above the shoulders; her left is the image's right.
    assert max(kp[KP["l_eye"], 1], kp[KP["r_eye"], 1]) < kp[KP["nose"], 1]
    assert kp[KP["nose"], 1] + 50 < min(kp[KP["l_shoulder"], 1], kp[KP["r_shoulder"], 1])
    assert kp[KP["r_shoulder"], 0] < kp[KP["nose"], 0] < kp[KP["l_shoulder"], 0]
    shoulder_width = kp[KP["l_shoulder"], 0] - kp[KP["r_shoulder"], 0]
    assert shoulder_width > 2.5 * (kp[KP["l_eye"], 0] - kp[KP["r_eye"], 0])


@pytest.mark.parametrize(("code", "turn", "unturn"), [
    (cv2.ROTATE_90_CLOCKWISE, rotate_cw, rotate_ccw),
    (cv2.ROTATE_90_COUNTERCLOCKWISE, rotate_ccw, rotate_cw),
])
def test_lying_person_from_wide_box_is_turned_upright(refiner, astronaut, code, turn, unturn) -> None:
    upright = refiner.refine(astronaut, np.array(PERSON_BOX))
    lying_image = cv2.rotate(astronaut, code)
    corners = turn(np.array([[PERSON_BOX[0], PERSON_BOX[1], 1], [PERSON_BOX[2], PERSON_BOX[3], 1]]))
    box = np.concatenate([corners[:, :2].min(axis=0), corners[:, :2].max(axis=0)])
    assert box[2] - box[0] > 1.2 * (box[3] - box[1])  # wide: she lies
    person = refiner.refine(lying_image, box)
    assert person is not None
    # In her own frame the eyes are still above the shoulders: mapped back, the result equals
    # the upright one (same pixels, turned), so the right quarter turn was chosen.
    back = unturn(person.kp)
    assert np.abs(back[:7, :2] - upright.kp[:7, :2]).max() < 3.0
    head_dir = person.kp[KP["nose"], :2] - person.kp[[KP["l_shoulder"], KP["r_shoulder"]], :2].mean(0)
    expected_dir = turn(np.array([[0.0, -1.0, 0]]))[0, :2] - turn(np.zeros((1, 3)))[0, :2]
    assert np.dot(head_dir, expected_dir) > 0.8 * np.linalg.norm(head_dir)


def test_any_angle_from_keypoints_maps_back(refiner, astronaut) -> None:
    """Turn the photo by 120 degrees on a larger canvas; the shoulder-nose axis of the hint
    turns the crop upright again, and landmarks map back through the inverse affine."""
    upright = refiner.refine(astronaut, hint_keypoints())
    canvas = 800
    turn = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), 120, 1.0)
    turn[:, 2] += (canvas - SIZE) / 2
    turned_image = cv2.warpAffine(astronaut, turn, (canvas, canvas))
    hint = hint_keypoints()
    hint[:, :2] = hint[:, :2] @ turn[:, :2].T + turn[:, 2]
    person = refiner.refine(turned_image, hint)
    assert person is not None
    inverse = cv2.invertAffineTransform(turn)
    back = person.kp[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    face_and_shoulders = [KP[n] for n in ("nose", "l_eye", "r_eye", "l_shoulder", "r_shoulder")]
    assert np.abs(back[face_and_shoulders] - upright.kp[face_and_shoulders, :2]).max() < 8.0


def test_without_turning_a_lying_person_is_worse(refiner, astronaut) -> None:
    """Why the rotation exists: the same crop left sideways gives landmarks far off."""
    upright = refiner.refine(astronaut, np.array(PERSON_BOX))
    lying = cv2.rotate(astronaut, cv2.ROTATE_90_CLOCKWISE)
    result = refiner.landmarks(lying, crop_matrix((SIZE - 1 - 263.5, 192.5), 621, 0.0))
    coco = result.points[[0, 2, 5, 11, 12]]  # nose, eyes, shoulders (BlazePose rows)
    back = rotate_ccw(np.column_stack([coco[:, :2], coco[:, 2]]))
    assert np.abs(back[:, :2] - upright.kp[[0, 1, 2, 5, 6], :2]).max() > 25


def test_no_person_returns_none(refiner) -> None:
    wall = np.full((400, 400, 3), 128, np.uint8)
    assert refiner.refine(wall, np.array([50.0, 50.0, 350.0, 350.0])) is None


def test_too_few_keypoints_is_an_error(refiner, astronaut) -> None:
    kp = np.zeros((17, 3), np.float32)
    kp[0] = (224, 126, 0.9)
    with pytest.raises(ValueError, match="at least two keypoints"):
        refiner.refine(astronaut, kp)
