"""Map the typed config onto the plain option dataclasses of models/ (which cannot see edge)."""

from __future__ import annotations

from models.pose import PoseOptions
from models.runtime import SessionOptions

from edge.config import EdgeConfig


def pose_options(cfg: EdgeConfig) -> PoseOptions:
    """PoseOptions from the ``[pose]`` section."""
    p = cfg.pose
    return PoseOptions(
        model=p.model, input_width=p.input_width, input_height=p.input_height, tiles=p.tiles,
        tile_overlap=p.tile_overlap, min_person_score=p.min_person_score, min_parts=p.min_parts,
    )


def session_options(cfg: EdgeConfig) -> SessionOptions:
    """onnxruntime SessionOptions from the ``[runtime]`` section."""
    r = cfg.runtime
    return SessionOptions(
        intra_op_threads=r.intra_op_threads, inter_op_threads=r.inter_op_threads,
        providers=tuple(r.providers),
    )
