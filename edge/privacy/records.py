"""The closed, versioned record schema (SPEC 3.3): every key and type a stored or sent record may hold.

Defined once, here, as typed pydantic models: the store refuses a record that does not validate
(:func:`validate_record`), ``edge privacy audit`` checks every row against it, ``sync/contract.py``
generates the published ``sync/schemas/agg.*.json`` from it and the hub validates with it.

Closed means: unknown keys are refused at every level (``extra="forbid"``), numbers are finite and
bounded, strings are enums or patterns, lists and maps are short. There is no place to put a name,
an id, an image or a per-person series: a key the schema does not name is an error, not a warning.

Privacy suppression (``n < privacy.min_group`` => ``suppressed: true`` and every rate null) is a
rule between fields; it is checked when the caller passes ``min_group`` (see :func:`suppression_problem`).

Record kinds: :data:`KINDS` maps each outbox / ``agg/<kind>`` kind to its metrics model. Add a kind
(e.g. ``alert``) by adding one entry there.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from sensors.const import Exercise, Mode, Quantity

from edge.alerts import ALERT_KINDS
from edge.config.base import Name
from edge.config.zones import MAX_STATIONS

__all__ = [
    "KINDS",
    "RecordDict",
    "RATE_KEYS",
    "RECORD_SCHEMA_VERSION",
    "RecordError",
    "kind_of",
    "metrics_model",
    "suppression_problem",
    "validate_record",
]

RECORD_SCHEMA_VERSION = 1

# Bounds: generous for real classrooms and gyms, far below anything that could hold a series.
MAX_PEOPLE = 1000
MAX_EVENTS = 100_000
MAX_ALERTS = 4096  # alerts of one record: a window rolled up over a day keeps every one
MAX_ST_SAMPLES = 2880  # a day of 30 s samples

def _num(ge: float | None = None, le: float | None = None) -> Any:
    return Annotated[float, Field(ge=ge, le=le, allow_inf_nan=False)]


Share = _num(0.0, 1.0)
NonNeg = _num(0.0, 1e9)
Time = _num(-1e12, 1e12)  # record clock: replay seconds from 0 or unix time; never inf
Count = Annotated[int, Field(ge=0, le=MAX_EVENTS)]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
Dba = _num(0.0, 200.0)
Bpm = _num(0.0, 300.0)
# A name from the config (a station, a camera): short, no spaces, so no free text such as a name.
ConfigName = Name


class Closed(BaseModel):
    """A record block: unknown keys refused, no type coercion (a bool is never a number)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PositionShares(Closed):
    """Where along the front the teacher stood, by third of the picture (no path is kept)."""

    left: Share
    centre: Share
    right: Share


class Teacher(Closed):
    zone_share: Share | None = None
    board_share: Share | None = None
    distance: NonNeg | None = None
    distance_unit: Literal["m", "body_scales"] | None = None
    position_shares: PositionShares | None = None


class WaitHistogram(Closed):
    """Questions by the teacher's wait time (named bins: a list could pass for a series)."""

    under_1s: Count
    # Bin names start with a digit, so they are given by alias.
    from_1_to_3s: Count = Field(alias="1_to_3s")
    from_3_to_5s: Count = Field(alias="3_to_5s")
    from_5s_or_more: Count = Field(alias="5s_or_more")


class QA(Closed):
    """Question-answer exchanges and the teacher's wait time (edge.metrics.classroom.exchanges)."""

    exchanges: Count
    unanswered: Count
    student_initiated: Count
    wait_mean_s: _num(0.0, 3600.0) | None = None
    wait_median_s: _num(0.0, 3600.0) | None = None
    wait_3s_share: Share | None = None
    wait_hist: WaitHistogram
    source: Literal["teacher_channel", "room_and_standing"] | None = None


class Audio(Closed):
    speech_ratio: Share | None = None
    silence_ratio: Share | None = None
    teacher_talk_ratio: Share | None = None
    noise_dba: Dba | None = None


class ST(Closed):
    samples: Annotated[str, StringConstraints(pattern=r"^[ST]*$", max_length=MAX_ST_SAMPLES)]
    rt: Share | None = None
    ch: Share | None = None
    lesson_type: Literal["practice", "lecture", "dialogue", "mixed"] | None = None


class _EnvValues(Closed):
    co2_ppm: _num(0.0, 100_000.0) | None = None
    temp_c: _num(-100.0, 100.0) | None = None
    rh: _num(0.0, 100.0) | None = None
    lux_desk: _num(0.0, 1e6) | None = None
    lux_board: _num(0.0, 1e6) | None = None
    noise_dba: Dba | None = None


class Compliance(Closed):
    co2: bool | None = None
    lux_desk: bool | None = None
    lux_board: bool | None = None


class ComplianceShare(Closed):
    co2: Share | None = None
    lux_desk: Share | None = None
    lux_board: Share | None = None


EnvAlertKind = Literal["co2_high", "lux_desk_low", "lux_board_low", "sensor_stuck", "sensor_stale",
                       "out_of_range"]


class EnvAlert(Closed):
    """One environment alert of a window: a breach (with its value), a stale/stuck sensor, or
    out-of-range readings (with their count). Several may occur in one window."""

    kind: EnvAlertKind
    quantity: Quantity
    value: _num(-1e6, 1e6) | None = None
    count: Count | None = None


class EnvAlertCount(Closed):
    """Lesson summary of an alert kind: in how many windows it occurred."""

    kind: EnvAlertKind
    windows: Count


# Validation counters: per quantity (sensor keys are short snake_case names), per reason.
ValidationCounters = dict[
    Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")],
    dict[Literal["accepted", "out_of_range", "stuck", "unknown"], Count],
]


class EnvWindow(_EnvValues):
    compliance: Compliance
    alerts: Annotated[list[EnvAlert], Field(max_length=MAX_ALERTS)] = []


class EnvLesson(_EnvValues):
    compliance_share: ComplianceShare
    alerts: Annotated[list[EnvAlertCount], Field(max_length=MAX_ALERTS)] = []
    validation: Annotated[ValidationCounters, Field(max_length=16)] = {}


class Activity(Closed):
    lying: Share | None = None
    sitting: Share | None = None
    standing: Share | None = None
    walking: Share | None = None
    very_active: Share | None = None


class HRZones(Closed):
    light: Share | None = None
    moderate: Share | None = None
    vigorous: Share | None = None
    near_max: Share | None = None


class HeartRate(Closed):
    mean_bpm: Bpm | None = None
    share_140_160: Share | None = None
    zones: HRZones | None = None
    trimp_edwards: NonNeg | None = None
    minutes_ge_120: NonNeg | None = None


class Reps(Closed):
    exercise: Exercise
    count: Count


class PEAlert(Closed):
    """An identity-free PE alert episode: how many students, never which."""

    kind: Literal["hr_high", "hr_contact_lost", "fall"]
    start: Time
    duration: NonNeg | None = None
    count: People | None = None


class _ClassroomCore(Closed):
    students_present: People | None = None
    hand_raises: Count | None = None
    hand_raise_rate: NonNeg | None = None
    participation: Share | None = None
    standing: _num(0.0, MAX_PEOPLE) | None = None
    stand_events: Count | None = None
    head_up_rate: Share | None = None
    writing_rate: Share | None = None
    activity_index: NonNeg | None = None
    teacher: Teacher | None = None
    audio: Audio | None = None
    st: ST | None = None
    qa: QA | None = None


class _PECore(Closed):
    participants: People | None = None
    exercise_density_group: Share | None = None
    exercise_density_mean: Share | None = None
    mvpa_fraction: Share | None = None
    activity: Activity | None = None
    hr: HeartRate | None = None
    reps: Annotated[dict[ConfigName, Reps], Field(max_length=MAX_STATIONS)] | None = None
    alerts: Annotated[list[PEAlert], Field(max_length=MAX_ALERTS)] | None = None


class ClassroomWindow(_ClassroomCore):
    env: EnvWindow | None = None


class ClassroomLesson(_ClassroomCore):
    env: EnvLesson | None = None


class PEWindow(_PECore):
    env: EnvWindow | None = None


class PELesson(_PECore):
    env: EnvLesson | None = None


class AudioOnly(Closed):
    audio: Audio | None = None


class EnvOnly(Closed):
    env: EnvWindow | None = None


class STOnly(Closed):
    st: ST | None = None


class AlertBody(Closed):
    """One real-time alert (edge.alerts): a kind, how many students, a reading, a device."""

    kind: Literal[ALERT_KINDS]  # type: ignore[valid-type]
    count: People | None = None
    value: _num(-1e6, 1e6) | None = None
    camera: ConfigName | None = None


class AlertOnly(Closed):
    alert: AlertBody


# (record type, mode) -> metrics model of a stored record.
_METRICS: dict[tuple[str, str], type[Closed]] = {
    ("window", "classroom"): ClassroomWindow,
    ("window", "pe"): PEWindow,
    ("lesson", "classroom"): ClassroomLesson,
    ("lesson", "pe"): PELesson,
    ("alert", "classroom"): AlertOnly,
    ("alert", "pe"): AlertOnly,
}
# Outbox / agg/<kind> kind -> the metrics models its records may carry (one registry of kinds).
KINDS: dict[str, tuple[type[Closed], ...]] = {
    "classroom": (ClassroomWindow,),
    "pe": (PEWindow,),
    "lesson": (ClassroomLesson, PELesson),
    "audio": (AudioOnly,),
    "env": (EnvOnly,),
    "st": (STOnly,),
    "alert": (AlertOnly,),
}
# Per-person-derived values nulled for small groups (SPEC 3.3), by mode: the engines' lists.
RATE_KEYS: dict[str, frozenset[str]] = {
    "classroom": frozenset({"hand_raise_rate", "participation", "standing", "head_up_rate",
                            "writing_rate", "activity_index"}),
    "pe": frozenset({"exercise_density_group", "exercise_density_mean", "mvpa_fraction",
                     "activity", "hr", "reps"}),
}


class Quality(Closed):
    coverage: Share | None = None
    sources_ok: bool | None = None


class Record(Closed):
    """The envelope of a stored record (SPEC 5 replay output); ``metrics`` checked by (type, mode)."""

    type: Literal["window", "lesson", "alert"]
    mode: Mode
    start: Time
    end: Time
    n: People | None
    suppressed: bool
    metrics: dict[str, Any]
    quality: Quality | None = None
    rolled_up: Annotated[int, Field(ge=2, le=MAX_EVENTS)] | None = None
    demo: bool | None = None
    camera: ConfigName | None = None  # the stream a daemon record comes from


# A record as the engines build it and the store, the page and sync pass it on: plain JSON,
# valid against :class:`Record` (checked where it is stored: :func:`validate_record`).
RecordDict = dict[str, Any]


class RecordError(ValueError):
    """A record outside the closed schema; ``path`` is the first offending JSON path."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def metrics_model(record_type: str, mode: str) -> type[Closed]:
    """The metrics model of a ``window``/``lesson`` record in ``mode``."""
    return _METRICS[(record_type, mode)]


def kind_of(record: dict[str, Any]) -> str:
    """The outbox / ``agg/<kind>`` kind of a valid record: its mode for a window, else its type."""
    return record["mode"] if record["type"] == "window" else record["type"]


def validate_record(record: Any, min_group: int | None = None) -> None:
    """Check one record against the closed schema (and, given ``min_group``, suppression).

    :raises RecordError: naming the path of the first problem, e.g. ``$.metrics.hr.Zhang San``.
    """
    if not isinstance(record, dict):
        raise RecordError("$", f"record must be an object, got {type(record).__name__}")
    _check(Record, record, "$")
    _check(metrics_model(record["type"], record["mode"]), record["metrics"], "$.metrics")
    if record["end"] < record["start"]:
        raise RecordError("$.end", f"ends before it starts ({record['end']} < {record['start']})")
    if min_group is not None and (problem := suppression_problem(record, min_group)):
        raise RecordError(*problem)


def suppression_problem(record: dict[str, Any], min_group: int) -> tuple[str, str] | None:
    """(path, why) a valid record breaks the suppression rule (n < min_group => suppressed,
    rates null); None when it keeps it."""
    n = record.get("n")
    if n is None or n >= min_group or record.get("type") == "alert":
        # An alert carries no rate: "1 student fell" must reach the teacher (edge.alerts).
        return None
    if record.get("suppressed") is not True:
        return "$.suppressed", f"n={n} < min_group={min_group} but the record is not suppressed"
    for key in sorted(RATE_KEYS[record["mode"]]):
        if _present(record["metrics"].get(key)):
            return f"$.metrics.{key}", f"n={n} < min_group={min_group} but the rate is not null"
    return None


def _present(value: Any) -> bool:
    """A suppressed block may keep its keys, all null (or empty)."""
    if isinstance(value, dict):
        return any(_present(v) for v in value.values())
    return value is not None


def _check(model: type[BaseModel], data: Any, root: str) -> None:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        path = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        raise RecordError(path, error["msg"]) from None
