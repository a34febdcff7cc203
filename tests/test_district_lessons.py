"""District page, lessons and trends (issue 14 item 3): `/api/lessons`, `/api/trends` and the page.

The hub store (SQLite and PostgreSQL) is filled with real edge lesson records of three rooms in
two schools over three weeks (generated scenes through LessonSession, each node's own edge store
and outbox, the publisher's payload builder and the hub's ingest). Expected figures are worked
out here from the records themselves, never read back from the code under test.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fixtures import Browser, serve

from edge.lesson.live import LiveState
from sync.district.app import DistrictTokens, create_app
from sync.hub_store import open_store
from tests.district_fixtures import at, classroom_lesson, edge_node, local_ts, pe_lessons
from tests.sync_fixtures import hub_store  # noqa: F401 - the fixture

TOKENS = DistrictTokens("district-token-0123456789", {"s1": "school-s1-token-012345",
                                                      "s2": "school-s2-token-012345"})
TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def lessons() -> dict[str, dict]:
    """Real lesson records by name (scenes are generated once per module)."""
    pe_low, pe_met = pe_lessons((0.5, 0.15))
    return {
        "lecture": classroom_lesson("TTTTTT", co2_ppm=700.0),
        "practice": classroom_lesson("SSSSTS", co2_ppm=1300.0, seed=2),
        "mixed": classroom_lesson("TTSSTT", co2_ppm=1000.0, seed=3),
        "small": classroom_lesson("TTSSTT", co2_ppm=900.0, per_row=2),  # n = 2: suppressed
        "pe_low": pe_low, "pe_met": pe_met,
    }


# (school, room, lesson name, day, start hour, minutes)
PLAN = [
    ("s1", "r101", "lecture", TODAY, 8.0, 45),
    ("s1", "r101", "pe_met", TODAY, 10.0, 40),
    ("s1", "r102", "small", TODAY, 9.0, 45),
    ("s1", "r102", "practice", YESTERDAY, 9.0, 90),
    ("s2", "r201", "pe_low", TODAY, 9.0, 40),
    ("s2", "r201", "mixed", TODAY - dt.timedelta(weeks=1), 11.0, 45),
    ("s2", "r201", "lecture", TODAY - dt.timedelta(weeks=2), 8.0, 45),
    ("s2", "r201", "practice", TODAY - dt.timedelta(weeks=5), 8.0, 45),  # outside 3 weeks
]


def placed(lessons: dict[str, dict]) -> list[tuple[str, str, dict]]:
    """(school, room, record) of every planned lesson, on its day and hour (local time)."""
    return [(school, room, at(lessons[name], local_ts(day, hour), minutes * 60.0))
            for school, room, name, day, hour, minutes in PLAN]


def fill(url: str, prefix: str, tmp: Path, lessons: dict[str, dict]) -> None:
    store = open_store(url, prefix)
    try:
        by_room: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for school, room, record in placed(lessons):
            by_room[(school, room)].append(record)
        for (school, room), records in by_room.items():
            edge_node(tmp, school, room).deliver(store, records)
    finally:
        store.close()


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(hub_store, tmp_path, lessons):  # noqa: F811 - the imported fixture
    url, prefix = hub_store
    fill(url, prefix, tmp_path, lessons)
    return TestClient(create_app(lambda: open_store(url, prefix), TOKENS, 5))


def test_lessons_today_per_room_with_targets_and_scope(client, lessons):
    every = client.get(f"/api/lessons?day={TODAY}", headers=auth(TOKENS.district)).json()
    assert every["day"] == TODAY.isoformat() and every["targets"] == {"group": 0.75,
                                                                      "individual": 0.5}
    got = [(r["school"], r["room"], r["mode"]) for r in every["lessons"]]
    assert got == [("s1", "r101", "classroom"), ("s1", "r101", "pe"), ("s1", "r102", "classroom"),
                   ("s2", "r201", "pe")]
    lecture, pe_met, small, pe_low = every["lessons"]
    metrics = lessons["lecture"]["metrics"]
    assert lecture["lesson_type"] == metrics["st"]["lesson_type"] == "lecture"
    assert (lecture["rt"], lecture["ch"]) == (metrics["st"]["rt"], metrics["st"]["ch"])
    assert lecture["participation"] == metrics["participation"] is not None
    assert lecture["head_up_rate"] == metrics["head_up_rate"] is not None
    assert lecture["co2_compliance"] == metrics["env"]["compliance_share"]["co2"]
    assert lecture["lux_desk_compliance"] == metrics["env"]["compliance_share"]["lux_desk"] == 1.0
    assert lecture["end"] - lecture["start"] == 45 * 60 and lecture["density_group"] is None
    met = lessons["pe_met"]["metrics"]
    assert pe_met["density_group"] == met["exercise_density_group"] >= 0.75
    assert pe_met["density_group_met"] is True
    assert pe_met["density_individual"] == met["exercise_density_mean"] < 0.5
    assert pe_met["density_individual_met"] is False
    assert pe_low["density_group"] == lessons["pe_low"]["metrics"]["exercise_density_group"] < 0.75
    assert pe_low["density_group_met"] is False
    # suppressed at the edge (n = 2 < min_group): shown as such, no rate, the room's CO2 kept
    assert small["suppressed"] and small["n"] == 2 and lessons["small"]["suppressed"]
    assert small["participation"] is small["head_up_rate"] is None
    assert small["co2_compliance"] == lessons["small"]["metrics"]["env"]["compliance_share"]["co2"]

    s1 = client.get(f"/api/lessons?day={TODAY}", headers=auth(TOKENS.schools["s1"])).json()
    assert {r["school"] for r in s1["lessons"]} == {"s1"} and len(s1["lessons"]) == 3
    default = client.get("/api/lessons", headers=auth(TOKENS.schools["s2"])).json()
    assert default["day"] == TODAY.isoformat()
    assert [r["room"] for r in default["lessons"]] == ["r201"]
    before = client.get(f"/api/lessons?day={YESTERDAY}", headers=auth(TOKENS.district)).json()
    assert [(r["room"], r["lesson_type"]) for r in before["lessons"]] == [("r102", "practice")]


def expected_trends(lessons: dict[str, dict], school: str | None) -> dict:
    """(group, ISO week) -> figures worked out from the planned records (duration-weighted)."""
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    first = monday - dt.timedelta(weeks=2)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (sch, room, record), plan in zip(placed(lessons), PLAN, strict=True):
        day = plan[3]
        if day < first or (school is not None and sch != school):
            continue
        year, week, _ = day.isocalendar()
        groups[(sch if school is None else room, f"{year}-W{week:02d}")].append(record)

    def mean(records: list[dict], value) -> float | None:
        pairs = [(value(r), r["end"] - r["start"]) for r in records]
        pairs = [(v, w) for v, w in pairs if v is not None]
        return round(sum(v * w for v, w in pairs) / sum(w for _, w in pairs), 4) if pairs else None

    def rate(key: str):
        return lambda r: None if r["suppressed"] else r["metrics"].get(key)

    def co2(record: dict) -> float | None:  # PE lessons here have no CO2 sensor: no env block
        return record["metrics"].get("env", {}).get("compliance_share", {}).get("co2")

    out = {}
    for key, records in groups.items():
        pe = [r["metrics"]["exercise_density_group"] for r in records if r["mode"] == "pe"]
        out[key] = {
            "lessons": len(records), "suppressed": sum(r["suppressed"] for r in records),
            "participation": mean(records, rate("participation")),
            "head_up_rate": mean(records, rate("head_up_rate")),
            "density_group": mean(records, rate("exercise_density_group")),
            "pe_lessons": len(pe),
            "pe_met_75": round(sum(d >= 0.75 for d in pe) / len(pe), 4) if pe else None,
            "co2_compliance": mean(records, co2),
        }
    return out


def test_weekly_trends_per_school_and_per_room(client, lessons):
    district = client.get("/api/trends?weeks=3", headers=auth(TOKENS.district)).json()
    assert district["group_by"] == "school" and len(district["weeks"]) == 3
    year, week, _ = TODAY.isocalendar()
    assert district["weeks"][-1] == f"{year}-W{week:02d}"
    got = {(r["school"], r["week"]): {k: v for k, v in r.items() if k not in ("school", "week")}
           for r in district["rows"]}
    assert got == expected_trends(lessons, None)
    assert {week for _, week in got} <= set(district["weeks"])
    assert sum(r["lessons"] for r in district["rows"]) == 7  # the 5-week-old lesson left out

    s1 = client.get("/api/trends?weeks=3", headers=auth(TOKENS.schools["s1"])).json()
    assert s1["group_by"] == "room"
    got = {(r["room"], r["week"]): {k: v for k, v in r.items() if k not in ("room", "week")}
           for r in s1["rows"]}
    assert got == expected_trends(lessons, "s1") and {room for room, _ in got} == {"r101", "r102"}
    longer = client.get("/api/trends?weeks=8", headers=auth(TOKENS.district)).json()
    assert sum(r["lessons"] for r in longer["rows"]) == 8
    back = TODAY - dt.timedelta(weeks=5)
    old = client.get(f"/api/trends?weeks=1&until={back}", headers=auth(TOKENS.district)).json()
    year, week, _ = back.isocalendar()
    assert [(r["school"], r["week"], r["lessons"]) for r in old["rows"]] == [
        ("s2", f"{year}-W{week:02d}", 1)]


def test_days_are_the_hubs_local_days(tmp_path, lessons, monkeypatch):
    """A lesson from 00:30 to 01:15 in Beijing (16:30 UTC the day before) is on the Beijing day."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        url = str(tmp_path / "hub.db")
        store = open_store(url)
        edge_node(tmp_path, "s1", "r101").deliver(
            store, [at(lessons["lecture"], local_ts(TODAY, 0.5), 45 * 60.0)])
        store.close()
        client = TestClient(create_app(lambda: open_store(url), TOKENS, 5))
        day = client.get(f"/api/lessons?day={TODAY}", headers=auth(TOKENS.district)).json()
        assert (day["tz"], day["utc_offset_s"]) == ("CST", 8 * 3600)
        assert len(day["lessons"]) == 1
        assert dt.datetime.fromtimestamp(day["lessons"][0]["start"], dt.UTC).hour == 16
        before = client.get(f"/api/lessons?day={YESTERDAY}", headers=auth(TOKENS.district))
        assert before.json()["lessons"] == []
    finally:
        monkeypatch.undo()  # the test process's own zone again, before anything else runs
        time.tzset()


def test_lessons_and_trends_refuse_bad_input(client):
    district = auth(TOKENS.district)
    assert client.get("/api/lessons").status_code == 401
    assert client.get("/api/trends").status_code == 401
    assert client.get("/api/lessons?day=2026-13-01", headers=district).status_code == 422
    assert client.get("/api/trends?weeks=0", headers=district).status_code == 422
    assert client.get("/api/trends?weeks=1000", headers=district).status_code == 422
    # the hub keeps serving after refusals
    assert client.get("/api/trends?weeks=1", headers=district).status_code == 200


def test_page_shows_lessons_today_and_weekly_trends(tmp_path, lessons):
    url = str(tmp_path / "hub.db")
    fill(url, "", tmp_path, lessons)
    app = create_app(lambda: open_store(url), TOKENS, 5)
    browser = Browser(tmp_path / "profile")
    try:
        with serve(app, LiveState("classroom")) as base:
            browser.goto(f"{base}/")
            browser.wait_for("typeof start === 'function'", 10)
            browser.evaluate(f"document.getElementById('token').value = '{TOKENS.district}';"
                             "document.getElementById('login').requestSubmit()")
            browser.wait_for("document.querySelectorAll('#lessons tbody tr').length === 4 && "
                             "document.querySelectorAll('#charts figure').length === 4", 20)
            rows = browser.evaluate(
                "[...document.querySelectorAll('#lessons tbody tr')].map(r => "
                "[...r.cells].map(c => [c.textContent, c.className]))")
            lecture, pe_met, small, pe_low = rows
            assert [lecture[0][0], lecture[1][0], lecture[4][0]] == [
                "s1", "r101", "lecture (Rt 1.00, Ch 0.00)"]
            participation = lessons["lecture"]["metrics"]["participation"]
            assert lecture[5][0] == f"{round(participation * 100)} %"
            assert pe_met[7][1] == "num met" and "✓ met" in pe_met[7][0]
            assert pe_met[8][1] == "num notmet"  # individual density under 50 %
            assert pe_low[7][1] == "num notmet" and "✗ not met" in pe_low[7][0]
            assert small[5] == ["suppressed (small group)", "suppressed"]
            charts = browser.evaluate(
                "Object.fromEntries([...document.querySelectorAll('#charts figure')].map(f => "
                "[f.dataset.metric, [...f.querySelectorAll('polyline')].map(p => "
                "[p.dataset.group, p.getAttribute('points').split(' ').length])]))")
            # 8 weeks shown: s1 taught this week only; s2 in weeks -5, -2, -1 (and PE now)
            assert charts["participation"] == [["s1", 1], ["s2", 3]]
            assert charts["density_group"] == [["s1", 1], ["s2", 1]]
            assert browser.evaluate(
                "document.querySelectorAll('#charts figure[data-metric=density_group] "
                "line.target').length") == 1
            counts = browser.evaluate(
                "[...document.querySelectorAll('#counts tbody tr')].map(r => "
                "[...r.cells].map(c => c.textContent))")
            assert counts[0][0] == "s1" and counts[0][-1] == "4 (100 %)"
            assert counts[1][0] == "s2" and counts[1][1:] == [
                "-", "-", "1", "-", "-", "1", "1", "1 (0 %)"]
            browser.screenshot(tmp_path / "district_lessons_en.png")
            browser.evaluate("document.getElementById('lang').click()")
            browser.wait_for("document.querySelector('#lessons tbody tr').cells[4].textContent"
                             ".startsWith('讲授型')", 5)
            browser.wait_for("document.querySelector('#charts figcaption').textContent "
                             "=== '参与度'", 5)
            browser.screenshot(tmp_path / "district_lessons_zh.png")
            assert browser.console_errors() == []
            print("screenshots:", tmp_path)
    finally:
        browser.close()
