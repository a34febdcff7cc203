"""Lessons per school and room, and weekly trends, from the hub's ``agg/lesson`` aggregates.

Time zone: days and ISO weeks are those of the **hub's local time zone** (the ``TZ`` of the
``edge hub`` process, usually the district's); a lesson belongs to the day and week in which it
*ended*. Means are **weighted by lesson duration** (a double period counts twice a single one)
over the lessons that carry the value; a suppressed lesson (fewer than ``privacy.min_group``
people at the edge) is counted and shown as suppressed, its rates are never used. The room's
CO2/lux compliance is a sensor share, not a per-person rate, so it counts for every lesson.

The rows are parsed in Python so that the same code serves SQLite and PostgreSQL hub stores;
the SQL only narrows by kind and time range through the ``(kind, window_start)`` index.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sync.hub_store import HubStore

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


@dataclass(frozen=True)
class _Lesson:
    """One stored lesson aggregate, as the page and the API show it."""

    msg_id: str
    node: str
    start: float
    end: float
    mode: str
    n: int | None
    suppressed: bool
    values: dict[str, Any]

    @property
    def school(self) -> str:
        return self.node.split("/")[1]

    @property
    def room(self) -> str:
        return self.node.split("/")[2]

    def rate(self, key: str) -> float | None:
        """A per-person-derived value; None for a suppressed lesson whatever it carries."""
        value = None if self.suppressed else self.values.get(key)
        return float(value) if isinstance(value, int | float) else None

    def compliance(self, key: str) -> float | None:
        """The room's share of lesson time within the standard for ``co2``/``lux_desk``."""
        env = self.values.get("env")
        share = (env.get("compliance_share") or {}).get(key) if isinstance(env, dict) else None
        return float(share) if isinstance(share, int | float) else None


def _met(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _fetch(store: HubStore, scope: Scope, start: float, end: float) -> list[_Lesson]:
    """Lessons in scope that ended in ``[start, end)``, oldest first."""
    rows = store.connection.execute(store.sql(
        f"SELECT msg_id, node, window_start, window_end, payload FROM {store.aggregates} "
        "WHERE kind = ? AND window_start >= ? AND window_start < ? ORDER BY window_start"),
        (LESSON_KIND, start - MAX_LESSON_S, end)).fetchall()
    out = []
    for msg_id, node, w_start, w_end, payload in rows:
        if w_end is None or not start <= w_end < end or not scope.allows(node):
            continue
        data = json.loads(payload)
        values = data.get("values", {})
        out.append(_Lesson(msg_id, node, float(w_start), float(w_end), data.get("mode", ""),
                           data.get("n"), bool(values.get("suppressed")), values))
    return out


def _row(lesson: _Lesson) -> dict[str, Any]:
    st = lesson.values.get("st") if isinstance(lesson.values.get("st"), dict) else {}
    group = lesson.rate("exercise_density_group")
    individual = lesson.rate("exercise_density_mean")
    return {
        "msg_id": lesson.msg_id, "node": lesson.node, "school": lesson.school,
        "room": lesson.room, "mode": lesson.mode, "start": lesson.start, "end": lesson.end,
        "n": lesson.n, "suppressed": lesson.suppressed,
        "lesson_type": st.get("lesson_type"), "rt": st.get("rt"), "ch": st.get("ch"),
        "participation": lesson.rate("participation"),
        "head_up_rate": lesson.rate("head_up_rate"),
        "density_group": group, "density_group_met": _met(group, TARGET_GROUP),
        "density_individual": individual,
        "density_individual_met": _met(individual, TARGET_INDIVIDUAL),
        "co2_compliance": lesson.compliance("co2"),
        "lux_desk_compliance": lesson.compliance("lux_desk"),
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

    pe = [les.rate("exercise_density_group") for les in lessons if les.mode == "pe"]
    pe = [d for d in pe if d is not None]
    return {
        "lessons": len(lessons), "suppressed": sum(les.suppressed for les in lessons),
        "participation": mean(lambda les: les.rate("participation")),
        "head_up_rate": mean(lambda les: les.rate("head_up_rate")),
        "density_group": mean(lambda les: les.rate("exercise_density_group")),
        "pe_lessons": len(pe),
        "pe_met_75": round(sum(d >= TARGET_GROUP for d in pe) / len(pe), 4) if pe else None,
        "co2_compliance": mean(lambda les: les.compliance("co2")),
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
        groups[(getattr(lesson, group_by), _iso_week(dt.date.fromtimestamp(lesson.end)))].append(lesson)
    week_names = [_iso_week(first + dt.timedelta(weeks=k)) for k in range(weeks)]
    return {"weeks": week_names, "group_by": group_by, **hub_zone(),
            "targets": {"group": TARGET_GROUP, "individual": TARGET_INDIVIDUAL},
            "rows": [{group_by: key, "week": week, **_week_summary(found)}
                     for (key, week), found in sorted(groups.items())]}
