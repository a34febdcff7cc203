"""Non-camera inputs: microphone, environment sensors, heart-rate bands; and the lesson timetable."""

from pydantic import Field

from .base import StrictModel

__all__ = ["AudioConfig", "EnvironmentConfig", "HeartRateConfig", "LessonConfig", "TimetableEntry"]


class AudioConfig(StrictModel):
    enabled: bool = False
    source: str = Field("default", description="ALSA device name, or a WAV file for replay.")
    teacher_channel: int | None = Field(None, ge=0, le=7, description="Channel of a lapel mic.")
    dba_offset: float = Field(0.0, ge=-60, le=140, description="Calibrated dBFS -> dBA offset.")


class EnvironmentConfig(StrictModel):
    co2_limit_ppm: int = Field(1500, ge=400, le=10000)
    desk_lux_min: float = Field(300.0, ge=0)
    board_lux_min: float = Field(500.0, ge=0)
    stale_after_s: float = Field(300.0, gt=0, description="A reading older than this is stale.")


class HeartRateConfig(StrictModel):
    enabled: bool = False
    bands: list[str] = Field(default_factory=list, description="Opaque band ids to pair with.")


class TimetableEntry(StrictModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM local time.")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], description="1 = Monday.")


class LessonConfig(StrictModel):
    timetable: list[TimetableEntry] = Field(
        default_factory=list, description="Automatic lessons; empty = start/end from the page."
    )
