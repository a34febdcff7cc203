"""Thresholds of the metric engines (SPEC 4), in body-scale units so they hold at any distance."""

from pydantic import Field, model_validator

from .base import StrictModel

__all__ = ["ClassroomConfig", "PEConfig", "WindowConfig"]


class WindowConfig(StrictModel):
    seconds: float = Field(30.0, ge=5, le=3600, description="Tumbling window length.")
    max_gap_s: float = Field(
        900.0, ge=60, le=86400,
        description="Samples further apart than this end the lesson and start a new one (a "
        "clock jump must not write thousands of empty windows).")


class ClassroomConfig(StrictModel):
    """Classroom thresholds (SPEC 4.1); lengths are in body scales (the person's shoulder width)."""

    hand_raise_hold_s: float = Field(1.0, ge=0.1, le=10, description="Raise must be held this long.")
    hand_raise_gap_s: float = Field(0.5, ge=0, le=5, description="Shorter dropouts are merged.")
    hand_raise_margin: float = Field(
        0.1, ge=0, le=2, description="Wrist must be this far above the shoulder (body scales)."
    )
    st_interval_s: float = Field(30.0, ge=5, le=300, description="S-T sampling interval.")
    st_teacher_share: float = Field(
        0.5, gt=0, le=1,
        description="Share of an S-T interval with teacher speech (or board writing) coded T.",
    )
    speech_threshold: float = Field(
        0.5, gt=0, lt=1, description="Speech probability above which an audio span counts as speech."
    )
    silence_dba: float = Field(
        40.0, ge=0, le=120, description="Non-speech audio quieter than this counts as silence."
    )
    qa_min_pause_s: float = Field(
        1.0, gt=0, le=10,
        description="A pause in teacher speech this long hands over to the students (Q&A).",
    )
    qa_min_turn_s: float = Field(
        1.0, ge=0, le=60, description="Teacher turns shorter than this are not questions."
    )
    qa_answer_within_s: float = Field(
        10.0, gt=0, le=60,
        description="A student response this soon after the teacher stops answers; a longer "
        "silence is seat work, not a question.",
    )
    qa_min_answer_s: float = Field(
        1.0, ge=0, le=30, description="Student speech or standing shorter than this is noise."
    )
    qa_rowe_wait_s: float = Field(
        3.0, gt=0, le=30, description="Wait time counted as long enough (Rowe: 3-5 s)."
    )
    kp_min_score: float = Field(0.3, ge=0, le=1, description="Keypoints scoring less are unseen.")
    track_min_person_score: float = Field(
        0.3, ge=0, le=1, description="Detections scoring less are never tracked."
    )
    track_min_keypoints: int = Field(
        5, ge=1, le=17, description="Detections with fewer visible keypoints are never tracked."
    )
    track_confirm_frames: int = Field(
        3, ge=1, le=30, description="Consecutive detections before a new track counts as a person."
    )
    track_max_missed_s: float = Field(
        3.0, gt=0, le=30, description="A track survives this long without a detection."
    )
    track_max_cost: float = Field(
        1.5, gt=0, le=10,
        description="Largest mean keypoint distance (body scales) still matched to a track.",
    )
    stand_rise: float = Field(
        0.6, gt=0, le=5,
        description="Shoulder rise over the seated baseline (body scales) that means standing.",
    )
    sit_rise: float = Field(
        0.35, ge=0, le=5, description="Below this rise a standing student counts as seated again."
    )
    stand_hold_s: float = Field(1.0, ge=0, le=30, description="Standing this long is a stand event.")
    head_up_margin: float = Field(
        0.4, ge=0, le=3, description="Nose and eyes this far above the shoulder line = head up."
    )
    writing_wrist_below: float = Field(
        0.5, ge=0, le=3, description="A wrist this far below the shoulder line rests on the desk."
    )
    teacher_move_deadband: float = Field(
        0.15, ge=0, le=2, description="Teacher steps shorter than this (body scales) are jitter."
    )

    @model_validator(mode="after")
    def _hysteresis(self) -> "ClassroomConfig":
        if self.sit_rise >= self.stand_rise:
            raise ValueError("classroom.sit_rise must be smaller than classroom.stand_rise")
        if self.qa_answer_within_s < self.qa_min_pause_s:
            raise ValueError("classroom.qa_answer_within_s must not be smaller than qa_min_pause_s")
        return self


class PEConfig(StrictModel):
    mvpa_group_share: float = Field(
        0.5, gt=0, le=1, description="Share of students in MVPA for a moment to count as dense."
    )
    density_group_target: float = Field(0.75, ge=0, le=1)
    density_individual_target: float = Field(0.5, ge=0, le=1)
    walk_speed_mps: float = Field(
        0.5, gt=0, le=5, description="Floor speed from which a student counts as walking."
    )
    run_speed_mps: float = Field(
        2.0, gt=0, le=10, description="Floor speed from which a student counts as very active."
    )
    walk_speed_torso: float = Field(
        1.2, gt=0, le=20,
        description="Walking speed in torso lengths per second (floor not calibrated).",
    )
    run_speed_torso: float = Field(
        5.0, gt=0, le=50,
        description="Very-active speed in torso lengths per second (floor not calibrated).",
    )
    jump_amplitude_torso: float = Field(
        0.18, gt=0, le=2,
        description="Peak-to-peak vertical hip oscillation (torso lengths) that makes in-place "
        "movement very active (jumping, skipping).",
    )
    motion_history_s: float = Field(
        1.0, ge=0.3, le=5,
        description="Span of pose history used for speed, oscillation and smoothing.",
    )
    hr_sustain_s: float = Field(
        15.0, ge=1, le=300, description="High heart rate must last this long to raise an alert."
    )
    hr_alert_bpm: float = Field(200.0, ge=100, le=260, description="Absolute high heart rate.")
    hr_alert_share: float = Field(
        0.96, ge=0.5, le=1.2, description="Relative high heart-rate limit, share of HRmax."
    )
    contact_lost_s: float = Field(
        10.0, ge=1, le=300,
        description="Contact lost for this long during activity raises an alert.",
    )
    alert_gap_s: float = Field(
        5.0, ge=0, le=120, description="An alert episode ends after its condition is off this long."
    )
    fall_max_s: float = Field(
        1.0, gt=0, le=5, description="Upright to lying faster than this is a fall."
    )
    floor_search_max: int = Field(
        3, ge=0, le=20,
        description="People per analysed frame whose skeleton has no torso (someone on the "
        "floor) that are searched again top-down with BlazePose, so falls are seen; 0 = off.",
    )
    rep_active_s: float = Field(
        4.0, ge=0, le=60,
        description="A station student with a repetition this recently counts as very active.",
    )
    station_fps: float = Field(
        15.0, gt=0, le=60,
        description="Frames per second each camera's PE stations are analysed at (BlazePose on "
        "the station crops, in their own loop beside the overview); the camera is captured at "
        "least this fast in PE mode.",
    )
