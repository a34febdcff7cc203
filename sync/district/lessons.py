"""Lessons per school and room, and weekly trends, from the hub's ``agg/lesson`` aggregates.

Time zone: days and ISO weeks are those of the **hub's local time zone** (the ``TZ`` of the
``edge hub`` process, usually the district's); a lesson belongs to the day and week in which it
*ended*. Means are **weighted by lesson duration** (a double period counts twice a single one)
over the lessons that carry the value; a suppressed lesson (fewer than ``privacy.min_group``
people at the edge) is counted and shown as suppressed, its rates are never used. The room's
CO2/lux compliance is a sensor share, not a per-person rate, so it counts for every lesson.

The database reads the few JSON fields the page shows (SQLite ``json_extract``, PostgreSQL
``#>>``), narrowing by kind and time range through the ``(kind, window_start)`` index; the
figures are worked out in Python, the same for both stores.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sync.hub_store import HubStore, PostgresHubStore

from .queries import Scope

__all__ = ["TARGET_GROUP", "TARGET_INDIVIDUAL", "day_bounds", "hub_zone", "lessons_on",
           "trends"]

TARGET_GROUP = 0.75  # exercise density targets of the 2022 curriculum standard (SPEC 4.2)
TARGET_INDIVIDUAL = 0.50
LESSON_KIND = "lesson"
MAX_LESSON_S = 86_400.0  # a lesson that ends in a range started at most this long before it
MAX_WEEKS = 104


def hub_zone() -> dict[str, Any]:
    """The hub's local time zone as the API reports it: name and UTC offset now."""
    now = dt.datetime.now().astimezone()
    offset = now.utcoffset() or dt.timedelta(0)
    return {"tz": now.tzname(), "utc_offset_s": int(offset.total_seconds())}


def day_bounds(day: dt.date) -> tuple[float, float]:
    """Epoch seconds of local midnight starting ``day`` and the next one (DST-aware)."""
    start = dt.datetime.combine(day, dt.time()).astimezone()
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).astimezone()
    return start.timestamp(), end.timestamp()


# What the page reads of a lesson payload, by JSON path (nothing else is parsed).
_FIELDS = {
    "mode": ("mode",), "n": ("n",), "suppressed": ("values", "suppressed"),
    "lesson_type": ("values", "st", "lesson_type"), "rt": ("values", "st", "rt"),
    "ch": ("values", "st", "ch"), "participation": ("values", "participation"),
    "head_up_rate": ("values", "head_up_rate"),
    "exercise_density_group": ("values", "exercise_density_group"),
    "exercise_density_mean": ("values", "exercise_density_mean"),
    "co2": ("values", "env", "compliance_share", "co2"),
    "lux_desk": ("values", "env", "compliance_share", "lux_desk"),
}
RATES = ("participation", "head_up_rate", "exercise_density_group", "exercise_density_mean")


def _extract(store: HubStore, path: tuple[str, ...]) -> str:
    """SQL reading ``path`` of the payload (column ``p``) in this store's dialect: the JSON is
    parsed by the database, in C, instead of whole payloads by Python (a third of the CPU:
    bench/district.py)."""
    if isinstance(store, PostgresHubStore):
        return f"p #>> '{{{','.join(path)}}}'"
    return f"json_extract(p, '$.{'.'.join(path)}')"


@dataclass(frozen=True)
class _Lesson:
    """One stored lesson aggregate, as the page and the API show it."""

    msg_id: str
    node: str
    start: float
    end: float
    fields: dict[str, Any]

    @property
    def school(self) -> str:
        return self.node.split("/")[1]

    @property
    def room(self) -> str:
        return self.node.split("/")[2]

    @property
    def mode(self) -> str:
        return self.fields["mode"] or ""

    @property
    def suppressed(self) -> bool:
        return self.fields["suppressed"] in (True, 1, "true")

    def number(self, key: str) -> float | None:
        """A numeric field; None when absent, and a rate is None for a suppressed lesson
        whatever it carries."""
        if key in RATES and self.suppressed:
            return None
        value = self.fields[key]
        return None if value is None else float(value)


def _met(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _fetch(store: HubStore, scope: Scope, start: float, end: float) -> list[_Lesson]:
    """Lessons in scope that ended in ``[start, end)``, oldest first."""
    postgres = isinstance(store, PostgresHubStore)
    payload = "payload::jsonb" if postgres else "payload"
    # OFFSET 0 keeps the subquery whole: PostgreSQL would otherwise parse p once per field
    # (10x the wall time); SQLite has no OFFSET without LIMIT and needs no such fence.
    fence = "OFFSET 0" if postgres else ""
    columns = ", ".join(_extract(store, path) for path in _FIELDS.values())
    # A school's rows are narrowed before their JSON is read (scope.allows stays the rule).
    school = "" if scope.school is None else "AND node LIKE ? ESCAPE '!' "
    like = [] if scope.school is None else [
        "%/" + re.sub(r"([!%_])", r"!\1", scope.school) + "/%"]
    rows = store.connection.execute(store.sql(
        f"SELECT msg_id, node, window_start, window_end, {columns} FROM (SELECT msg_id, node, "
        f"window_start, window_end, {payload} AS p FROM {store.aggregates} WHERE kind = ? "
        "AND window_start >= ? AND window_start < ? AND window_end >= ? AND window_end < ? "
        f"{school}{fence}) AS lesson ORDER BY window_start"),
        (LESSON_KIND, start - MAX_LESSON_S, end, start, end, *like)).fetchall()
    return [_Lesson(msg_id, node, float(w_start), float(w_end), dict(zip(_FIELDS, rest)))
            for msg_id, node, w_start, w_end, *rest in rows if scope.allows(node)]


def _row(lesson: _Lesson) -> dict[str, Any]:
    group = lesson.number("exercise_density_group")
    individual = lesson.number("exercise_density_mean")
    n = lesson.fields["n"]
    return {
        "msg_id": lesson.msg_id, "node": lesson.node, "school": lesson.school,
        "room": lesson.room, "mode": lesson.mode, "start": lesson.start, "end": lesson.end,
        "n": None if n is None else int(n), "suppressed": lesson.suppressed,
        "lesson_type": lesson.fields["lesson_type"], "rt": lesson.number("rt"),
        "ch": lesson.number("ch"), "participation": lesson.number("participation"),
        "head_up_rate": lesson.number("head_up_rate"),
        "density_group": group, "density_group_met": _met(group, TARGET_GROUP),
        "density_individual": individual,
        "density_individual_met": _met(individual, TARGET_INDIVIDUAL),
        "co2_compliance": lesson.number("co2"),
        "lux_desk_compliance": lesson.number("lux_desk"),
    }


def lessons_on(store: HubStore, scope: Scope, day: dt.date) -> dict[str, Any]:
    """Every lesson in scope that ended on ``day`` (hub local time), by school, room, start."""
    start, end = day_bounds(day)
    lessons = sorted(_fetch(store, scope, start, end),
                     key=lambda les: (les.school, les.room, les.start))
    return {"day": day.isoformat(), **hub_zone(),
            "targets": {"group": TARGET_GROUP, "individual": TARGET_INDIVIDUAL},
            "lessons": [_row(les) for les in lessons]}


def _weighted(pairs: list[tuple[float | None, float]]) -> float | None:
    """Duration-weighted mean of the values present; None when there is none."""
    known = [(v, w) for v, w in pairs if v is not None and w > 0]
    total = sum(w for _, w in known)
    return round(sum(v * w for v, w in known) / total, 4) if total else None


def _week_summary(lessons: list[_Lesson]) -> dict[str, Any]:
    def mean(value: Any) -> float | None:
        return _weighted([(value(les), les.end - les.start) for les in lessons])

    pe = [les.number("exercise_density_group") for les in lessons if les.mode == "pe"]
    pe = [d for d in pe if d is not None]
    return {
        "lessons": len(lessons), "suppressed": sum(les.suppressed for les in lessons),
        "participation": mean(lambda les: les.number("participation")),
        "head_up_rate": mean(lambda les: les.number("head_up_rate")),
        "density_group": mean(lambda les: les.number("exercise_density_group")),
        "pe_lessons": len(pe),
        "pe_met_75": round(sum(d >= TARGET_GROUP for d in pe) / len(pe), 4) if pe else None,
        "co2_compliance": mean(lambda les: les.number("co2")),
    }


def _iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def trends(store: HubStore, scope: Scope, weeks: int, until: dt.date) -> dict[str, Any]:
    """Per ISO week (the ``weeks`` up to the one holding ``until``, hub local time): per
    school for the district, per room for a school."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be 1..{MAX_WEEKS}, got {weeks}")
    monday = until - dt.timedelta(days=until.weekday())
    first = monday - dt.timedelta(weeks=weeks - 1)
    start, _ = day_bounds(first)
    _, end = day_bounds(monday + dt.timedelta(days=6))
    group_by = "school" if scope.role == "district" else "room"
    groups: dict[tuple[str, str], list[_Lesson]] = defaultdict(list)
    for lesson in _fetch(store, scope, start, end):
        week = _iso_week(dt.date.fromtimestamp(lesson.end))
        groups[(getattr(lesson, group_by), week)].append(lesson)
    week_names = [_iso_week(first + dt.timedelta(weeks=k)) for k in range(weeks)]
    return {"weeks": week_names, "group_by": group_by, **hub_zone(),
            "targets": {"group": TARGET_GROUP, "individual": TARGET_INDIVIDUAL},
            "rows": [{group_by: key, "week": week, **_week_summary(found)}
                     for (key, week), found in sorted(groups.items())]}
