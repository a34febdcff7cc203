"""District page queries: CPU time of `/api/lessons` (one day) and `/api/trends` (8 weeks).

Fills a fresh SQLite hub store (``--store postgresql://...`` for PostgreSQL, fresh table prefix,
dropped afterwards) with a district's lesson aggregates: ``--rooms`` rooms over 10 schools,
``--per-day`` lessons per room per school day for ``--weeks`` weeks, each the real payload of a
generated classroom lesson (LessonSession, the edge store's outbox, ``sync.payloads``) under its
own node, time and msg_id. Then times each query ``--repeat`` times (median process CPU and
wall time) for the district token and for one school token, and prints the load average.

Usage: ``python bench/district.py [--rooms 100] [--per-day 6] [--weeks 8] [--store URL]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edge.store import Store, outbox
from sync.district import lessons
from sync.district.queries import Scope
from sync.hub_store import PostgresHubStore, open_store
from sync.payloads import aggregate_payload
from tests.district_fixtures import classroom_lesson, local_ts


def _payload(tmp: Path) -> dict:
    """The agg/lesson payload of one real generated lesson, as the hub receives it."""
    db = tmp / "edge.db"
    with Store(db) as store:
        store.write_record(classroom_lesson("TTSSTT", co2_ppm=1000.0))
    conn = outbox.open_outbox(db)
    row = outbox.unsent_after(conn, 0, 1)[0]
    payload = aggregate_payload(row, "n1", outbox.store_epoch(conn))
    conn.close()
    return payload


def fill(store, payload: dict, rooms: int, per_day: int, weeks: int) -> int:
    """Insert the lessons; returns how many."""
    today = dt.date.today()
    count = 0
    store.begin()
    for day_back in range(weeks * 7):
        day = today - dt.timedelta(days=day_back)
        if day.weekday() >= 5:
            continue
        for room in range(rooms):
            node = f"d1/s{room % 10}/r{room}/n1"
            for k in range(per_day):
                start = local_ts(day, 8 + k)
                count += 1
                data = {**payload, "msg_id": f"n1:bench:{count}", "seq": count,
                        "window": {"start": start, "end": start + 2700}}
                store.insert_aggregate(f"{node}:bench:{count}", node, "lesson", start,
                                       start + 2700, json.dumps(data), time.time(), "bench",
                                       count)
    store.commit()
    return count


def cost_ms(call, repeat: int) -> str:
    """Median process CPU and wall milliseconds of ``call()`` (PostgreSQL's own CPU is in the
    wall figure only)."""
    cpu, wall = [], []
    for _ in range(repeat):
        started, started_wall = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - started) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return f"{statistics.median(cpu):.0f} ms CPU ({statistics.median(wall):.0f} ms wall)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--per-day", type=int, default=6)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", help="hub store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or str(Path(tmp) / "hub.db")
        prefix = f"b{uuid.uuid4().hex[:8]}_"
        store = open_store(url, prefix)
        try:
            total = fill(store, _payload(Path(tmp)), args.rooms, args.per_day, args.weeks)
            today = dt.date.today()
            for scope in (Scope("district"), Scope("school", "s1")):
                day = cost_ms(lambda s=scope: lessons.lessons_on(store, s, today), args.repeat)
                shown = len(lessons.lessons_on(store, scope, today)["lessons"])
                trend = cost_ms(lambda s=scope: lessons.trends(store, s, 8, today), args.repeat)
                print(f"{scope.role:8s} {total} lessons stored: /api/lessons {shown} rows {day}; "
                      f"/api/trends 8 weeks {trend} (load {os.getloadavg()[0]:.1f})")
        finally:
            if isinstance(store, PostgresHubStore):
                store.drop_tables()
            store.close()


if __name__ == "__main__":
    main()
