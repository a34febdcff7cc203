"""The hub's PostgreSQL layout: monthly partitions, retention by month, exactly once per msg_id."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sync.hub_pg import month_bounds
from sync.hub_store import PostgresHubStore
from sync.publisher import OutboxPublisher
from tests.sync_fixtures import NODE, PG_URL, HubRunner, make_store, mqtt_config


def _ts(year: int, month: int, day: int = 15) -> float:
    return dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp()


def test_month_bounds_cover_the_calendar_month():
    year, month, start, end = month_bounds(_ts(2024, 2, 29))
    assert (year, month) == (2024, 2)
    assert start == _ts(2024, 2, 1) and end == _ts(2024, 3, 1)


def test_partitions_created_on_demand_and_dropped_by_month():
    prefix = f"p{uuid.uuid4().hex[:10]}_"
    store = PostgresHubStore(PG_URL, prefix)
    try:
        for i, month in enumerate((1, 2, 3)):
            for _ in range(2):  # the second is a duplicate: one row
                store.insert_aggregate(f"k:{i}", "d/s/r/n", "classroom", _ts(2026, month),
                                       _ts(2026, month) + 30, "{}", 0.0, "ab" * 8, i + 1)
        assert sorted(store.aggregate_ids()) == ["k:0", "k:1", "k:2"]
        parts = store._partitions.names()
        assert parts == [f"{prefix}aggregates_y2026m0{m}" for m in (1, 2, 3)]
        assert store.drop_months_before(_ts(2026, 3, 1)) == parts[:2]
        assert store.aggregate_ids() == ["k:2"]
        kinds = store._conn.execute(
            "SELECT relkind FROM pg_class WHERE relname = %s", (store.aggregates,)).fetchone()
        assert kinds[0] == "p"  # partitioned parent
    finally:
        store.drop_tables()
        store.close()


def test_two_shared_workers_on_postgresql_receipt_everything_once(tmp_path, broker):
    prefix = f"w{uuid.uuid4().hex[:10]}_"
    PostgresHubStore(PG_URL, prefix).close()  # tables before the workers race for them
    workers = [HubRunner(PG_URL, prefix, broker.url, shared_group="g",
                         client_id=f"hub-{prefix}{i}").start() for i in range(2)]
    db = make_store(tmp_path / "edge.db", rows=300)
    try:
        publisher = OutboxPublisher(db, mqtt_config(broker.url), NODE)
        assert publisher.drain(90)  # every row receipted by one worker or the other
        ids = workers[0].ids()
        assert len(ids) == len(set(ids)) == 300
        assert all(w.hub.counters["stored"] > 0 for w in workers)  # both took a share
        assert sum(w.hub.counters["stored"] for w in workers) == 300
    finally:
        for worker in workers:
            worker.stop()
        store = PostgresHubStore(PG_URL, prefix)
        store.drop_tables()
        store.close()


def test_sql_views_for_bi_tools_hide_suppressed_metrics(tmp_path):
    prefix = f"v{uuid.uuid4().hex[:10]}_"
    store = PostgresHubStore(PG_URL, prefix)
    try:
        def window(seq: int, suppressed: bool) -> None:
            payload = {"msg_id": f"n1:{seq}", "seq": seq, "n": 2 if suppressed else 30,
                       "window": {"start": _ts(2026, 3), "end": _ts(2026, 3) + 30},
                       "values": {"suppressed": suppressed, "participation": 0.4,
                                  "head_up_rate": 0.7,
                                  "env": {"co2_ppm": 1600.0, "compliance": {"co2": False}}}}
            store.insert_aggregate(f"d1/s1/r1/n1:{seq}", "d1/s1/r1/n1", "classroom",
                                   _ts(2026, 3) + seq, _ts(2026, 3) + seq + 30,
                                   json.dumps(payload), 0.0, "", seq)

        window(1, False)
        window(2, True)
        store.update_node("d1/s1/r1/n1", True, 1, _ts(2026, 3))
        rows = store.connection.execute(
            f"SELECT school, room, suppressed, participation, head_up_rate FROM "
            f"{prefix}v_classroom_windows ORDER BY window_start").fetchall()
        assert rows == [("s1", "r1", False, 0.4, 0.7), ("s1", "r1", True, None, None)]
        env = store.connection.execute(
            f"SELECT co2_ppm, co2_ok FROM {prefix}v_env_compliance LIMIT 1").fetchone()
        assert env == (1600.0, False)
        assert store.connection.execute(
            f"SELECT school, online FROM {prefix}v_nodes").fetchall() == [("s1", True)]
        for view in ("v_pe_windows", "v_lessons", "v_alerts"):
            store.connection.execute(f"SELECT * FROM {prefix}{view}").fetchall()
    finally:
        store.drop_tables()
        store.close()
