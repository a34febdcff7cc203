"""Map the typed config onto the plain option dataclasses of models/ (which cannot see edge)."""

from __future__ import annotations

import numpy as np

from edge.config import EdgeConfig, ZonesConfig
from edge.geometry.plane import FloorMap
from models.pass_plan import BackRow
from models.pose import PoseOptions
from models.runtime import SessionOptions

# Shoulder width of a seated school student, in metres (~0.30 for a 10-year-old, ~0.40 for an
# adult): the smaller end, so the back row is never judged larger than it is.
SHOULDER_M = 0.32


def back_row(zones: ZonesConfig | None) -> BackRow | None:
    """The back row seen by the camera, from the floor calibration: the far edge of the marked
    floor (its two points highest in the image) and a shoulder width there in pixels (the
    floor's lateral scale: a line across the image at that depth is parallel to the image plane,
    so it scales like a person standing there). None without a floor calibration."""
    if zones is None or zones.floor is None:
        return None
    floor = FloorMap(zones.floor.image, zones.floor.world_m)
    far = np.array(sorted(zones.floor.image, key=lambda p: p[1])[:2], dtype=np.float64)
    middle = far.mean(axis=0)
    shoulder_px = SHOULDER_M / max(floor.metres_per_pixel(middle), 1e-9)
    return BackRow(float(far[:, 0].min()), float(far[:, 0].max()), float(middle[1]),
                   float(shoulder_px))


def pose_options(cfg: EdgeConfig, zones: ZonesConfig | None = None,
                 mode: str | None = None) -> PoseOptions:
    """PoseOptions from the ``[pose]`` section and the calibrated zones (default: the config's);
    in ``mode`` "pe" (default: ``node.mode``) the box is the PE one."""
    p = cfg.pose
    pe = (mode or cfg.node.mode) == "pe"
    return PoseOptions(
        model=p.model, input_width=p.pe_input_width if pe else p.input_width,
        input_height=p.pe_input_height if pe else p.input_height, tiles=p.tiles,
        tile_overlap=p.tile_overlap, min_person_score=p.min_person_score, min_parts=p.min_parts,
        max_upscale=p.max_upscale, min_shoulder_px=p.min_shoulder_px,
        back_row=back_row(zones if zones is not None else cfg.zones),
        face_evidence=p.face_evidence and not pe,
    )


def session_options(cfg: EdgeConfig) -> SessionOptions:
    """onnxruntime SessionOptions from the ``[runtime]`` section."""
    r = cfg.runtime
    return SessionOptions(
        intra_op_threads=r.intra_op_threads, inter_op_threads=r.inter_op_threads,
        providers=tuple(r.providers),
    )
