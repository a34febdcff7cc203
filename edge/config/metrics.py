"""Thresholds of the metric engines (SPEC 4), in body-scale units so they hold at any distance."""

from pydantic import Field

from .base import StrictModel

__all__ = ["ClassroomConfig", "PEConfig", "WindowConfig"]


class WindowConfig(StrictModel):
    seconds: float = Field(30.0, ge=5, le=3600, description="Tumbling window length.")


class ClassroomConfig(StrictModel):
    hand_raise_hold_s: float = Field(1.0, ge=0.1, le=10, description="Raise must be held this long.")
    hand_raise_gap_s: float = Field(0.5, ge=0, le=5, description="Shorter dropouts are merged.")
    st_interval_s: float = Field(30.0, ge=5, le=300, description="S-T sampling interval.")


class PEConfig(StrictModel):
    mvpa_group_share: float = Field(
        0.5, gt=0, le=1, description="Share of students in MVPA for a moment to count as dense."
    )
    density_group_target: float = Field(0.75, ge=0, le=1)
    density_individual_target: float = Field(0.5, ge=0, le=1)
