"""A hub store from before partitioning (plain ``aggregates`` table) is moved into monthly
partitions when a hub worker starts: every row once, in its month, ids kept, indexes and views
as for a new store; a second start does nothing; workers starting at once migrate it once.

Real PostgreSQL (127.0.0.1:5432/test), a random table prefix per test.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid

import psycopg
import pytest

from sync.hub_pg import month_bounds
from sync.hub_store import PostgresHubStore, StoreError
from tests.sync_fixtures import PG_URL

# Two shapes earlier hubs created: before store epochs (no epoch, seq), and after.
OLD_SHAPES = {
    "before epochs": "",
    "with epochs": "epoch TEXT NOT NULL DEFAULT '', seq BIGINT, ",
}
MONTHS = [(2025, 12), (2026, 1), (2026, 2), (2026, 3)]


def _ts(year: int, month: int, day: int) -> float:
    return dt.datetime(year, month, day, tzinfo=dt.UTC).timestamp()


def _old_store(prefix: str, shape: str) -> list[tuple]:
    """The plain tables an earlier hub made, with rows of several months; returns the rows."""
    agg = f"{prefix}aggregates"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {agg} (id BIGSERIAL PRIMARY KEY, msg_id TEXT NOT NULL "
                     f"UNIQUE, node TEXT NOT NULL, kind TEXT NOT NULL, {OLD_SHAPES[shape]}"
                     "window_start DOUBLE PRECISION, window_end DOUBLE PRECISION, "
                     "payload TEXT NOT NULL, received DOUBLE PRECISION NOT NULL)")
        conn.execute(f"CREATE INDEX {agg}_node_window ON {agg}(node, window_start)")
        conn.execute(f"CREATE TABLE {prefix}nodes (node TEXT PRIMARY KEY, online BOOLEAN NOT "
                     "NULL, session BIGINT NOT NULL, updated DOUBLE PRECISION, meta TEXT)")
        for i, (year, month) in enumerate(m for m in MONTHS for _ in range(3)):
            # the first and last second of a month land in that month, not the next
            start = _ts(year, month, 1) + (0, 86_400 * 10, 0)[i % 3]
            if i % 3 == 2:
                start = month_bounds(start)[3] - 1.0
            payload = json.dumps({"seq": i + 1, "values": {"participation": i / 100}})
            conn.execute(f"INSERT INTO {agg}(msg_id, node, kind, window_start, window_end, "
                         "payload, received) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (f"d1/s1/r1/n1:{i + 1}", "d1/s1/r1/n1", "classroom", start,
                          start + 30, payload, 1.7e9 + i))
        conn.execute(f"DELETE FROM {agg} WHERE msg_id = 'd1/s1/r1/n1:5'")  # ids with a hole
        return conn.execute(f"SELECT id, msg_id, node, kind, window_start, window_end, "
                            f"payload, received FROM {agg} ORDER BY id").fetchall()


def _rows(store: PostgresHubStore) -> list[tuple]:
    return store.connection.execute(
        f"SELECT id, msg_id, node, kind, window_start, window_end, payload, received "
        f"FROM {store.aggregates} ORDER BY id").fetchall()


def _drop(prefix: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for table in ("aggregates", "aggregates_unpartitioned", "nodes", "alert_acks"):
            conn.execute(f"DROP TABLE IF EXISTS {prefix}{table} CASCADE")


@pytest.mark.parametrize("shape", list(OLD_SHAPES))
def test_a_plain_table_moves_into_monthly_partitions_once(shape, caplog):
    prefix = f"m{uuid.uuid4().hex[:10]}_"
    old_rows = _old_store(prefix, shape)
    try:
        with caplog.at_level(logging.INFO, logger="sync.hub_pg"):
            store = PostgresHubStore(PG_URL, prefix)
        assert [r.getMessage() for r in caplog.records if "moved" in r.getMessage()] == [
            f"hub store: moved {len(old_rows)} rows of the plain table {store.aggregates} "
            f"into {len(MONTHS)} monthly partitions"]
        conn = store.connection
        assert conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                            (store.aggregates,)).fetchone()[0] == "p"
        assert _rows(store) == old_rows  # every row once, ids and values exactly
        placed = conn.execute(f"SELECT tableoid::regclass::text, window_start "
                              f"FROM {store.aggregates}").fetchall()
        for partition, start in placed:
            year, month = month_bounds(start)[:2]
            assert partition == f"{store.aggregates}_y{year:04d}m{month:02d}"
        assert store._partitions.names() == [
            f"{store.aggregates}_y{y:04d}m{m:02d}" for y, m in MONTHS]
        assert conn.execute("SELECT to_regclass(%s)",
                            (f"{store.aggregates}_unpartitioned",)).fetchone()[0] is None
        # indexes on the parent as for a new store, the views answer, new ids follow old ones
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s", (store.aggregates,))}
        assert {f"{store.aggregates}_node_window", f"{store.aggregates}_kind_window"} <= indexes
        assert conn.execute(f"SELECT count(*) FROM {prefix}v_classroom_windows").fetchone()[0] \
            == len(old_rows)
        assert store.insert_aggregate("d1/s1/r1/n1:99", "d1/s1/r1/n1", "classroom",
                                      _ts(2026, 3, 20), _ts(2026, 3, 20) + 30, "{}", 0.0)
        assert not store.insert_aggregate(old_rows[0][1], "d1/s1/r1/n1", "classroom",
                                          old_rows[0][4], old_rows[0][5], "{}", 0.0)
        assert _rows(store)[-1][0] > old_rows[-1][0]
        store.set_health("d1/s1/r1/n1", 3, 1.0)  # the old nodes table got the new columns
        store.close()

        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sync.hub_pg"):
            again = PostgresHubStore(PG_URL, prefix)  # a second start does nothing
        assert not [r for r in caplog.records if "moved" in r.getMessage()]
        assert len(_rows(again)) == len(old_rows) + 1
        again.close()
    finally:
        _drop(prefix)


def test_workers_starting_at_once_migrate_once():
    prefix = f"c{uuid.uuid4().hex[:10]}_"
    old_rows = _old_store(prefix, "with epochs")
    stores: list[PostgresHubStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            stores.append(PostgresHubStore(PG_URL, prefix))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors and len(stores) == 4
        assert _rows(stores[0]) == old_rows
    finally:
        for store in stores:
            store.close()
        _drop(prefix)


def test_rows_without_a_window_stop_the_migration_with_the_table_untouched():
    prefix = f"n{uuid.uuid4().hex[:10]}_"
    old_rows = _old_store(prefix, "with epochs")
    try:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"UPDATE {prefix}aggregates SET window_start = NULL WHERE id = %s",
                         (old_rows[0][0],))
        with pytest.raises(StoreError, match="1 rows have no window_start"):
            PostgresHubStore(PG_URL, prefix)
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            kind = conn.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
                                (f"{prefix}aggregates",)).fetchone()[0]
            count = conn.execute(f"SELECT count(*) FROM {prefix}aggregates").fetchone()[0]
        assert (kind, count) == ("r", len(old_rows))  # rolled back: nothing lost or half-done
    finally:
        _drop(prefix)
