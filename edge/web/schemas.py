"""Response models of the web API (they make the OpenAPI document precise)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["AlertInfo", "Health", "LessonDetail", "LessonInfo", "Live", "Problem", "Record"]


class Health(BaseModel):
    status: Literal["ok", "failing"] = Field(
        description="`ok`, or `failing` (HTTP 503) while a part of the daemon has stopped.")
    problems: list[str] = Field(default_factory=list,
                                description="What is failing, e.g. `service publisher: stopped`.")
    cameras: dict[str, str] = Field(
        default_factory=dict,
        description="Camera id -> state: connecting, streaming, stalled, unreachable or stopped.",
    )
    feeds: dict[str, str] = Field(
        default_factory=dict,
        description="Feed (audio, env:<sensor>, heart-rate, scene:<camera>, station:<camera>) -> "
        "state: starting, running, retrying or stopped.",
    )


class Record(BaseModel):
    """A SPEC 5 aggregate record (window or lesson); ``id``/``created`` when read from the store."""

    type: Literal["window", "lesson"]
    mode: Literal["classroom", "pe"]
    start: float
    end: float
    n: int | None
    suppressed: bool
    metrics: dict[str, Any]
    id: int | None = None
    created: float | None = None
    camera: str | None = Field(None, description="The camera (stream) the record comes from.")
    demo: bool | None = Field(None, description="True for records of the demo.")


class LessonInfo(BaseModel):
    id: str = Field(description="Id of the live lesson (in memory; the store numbers it at the end).")
    start: float | None = Field(description="Start on the records' clock.")
    end: float | None
    started_at: float = Field(description="Wall-clock start, unix seconds.")
    running: bool


class AlertInfo(BaseModel):
    """A real-time alert as the page holds it until acknowledged (edge.alerts; no identity)."""

    id: str = Field(description="Handle for acknowledging it (this process only).")
    kind: Literal["fall", "hr_high", "hr_contact_lost", "co2_high", "camera_lost"]
    t: float | None = Field(description="Detection time on the records' clock.")
    at: float = Field(description="Wall-clock time it reached the page, unix seconds.")
    camera: str | None = Field(None, description="Stream it was detected in, or the lost camera.")
    acked: bool
    count: int | None = Field(None, description="Students involved.")
    value: float | None = Field(None, description="The reading over the limit (CO2 ppm).")


class Live(BaseModel):
    mode: Literal["classroom", "pe"]
    lesson: LessonInfo | None
    metrics: dict[str, Any] = Field(description="The latest window's metrics (current numbers).")
    windows: list[Record] = Field(description="The current lesson's windows, oldest first.")
    lesson_record: Record | None = Field(description="The lesson record once the lesson ended.")
    alerts: list[AlertInfo] = Field(description="Real-time alerts not yet acknowledged.")
    version: int = Field(description="Change counter; live events with a higher one are newer.")


class LessonDetail(BaseModel):
    lesson: Record
    windows: list[Record]


class Problem(BaseModel):
    detail: str
