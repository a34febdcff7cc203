"""The SQLite aggregate store: WAL, migrations, atomic record + outbox writes, reads, retention."""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np
import pytest
from sqlite_utils import Database

from edge.store import (
    SCHEMA_VERSION,
    PrivacyViolation,
    Store,
    StoreError,
    apply_retention,
    migrate,
    schema_version,
)
from edge.store.schema import MIGRATIONS, SchemaError

DAY = 86400.0


def window(start: float, n: int = 12, mode: str = "classroom", **metrics) -> dict:
    """A SPEC 5 window record (classroom or PE metrics, as the mode has)."""
    base = {"students_present": n, "hand_raises": 2} if mode == "classroom" else {"participants": n}
    return {"type": "window", "mode": mode, "start": start, "end": start + 30.0, "n": n,
            "suppressed": False, "metrics": {**base, **metrics}}


def lesson(start: float = 0.0, end: float = 2700.0) -> dict:
    return {"type": "lesson", "mode": "classroom", "start": start, "end": end, "n": 12,
            "suppressed": False, "metrics": {"students_present": 12, "hand_raises": 9,
                                             "st": {"samples": "TTSST", "rt": 0.6, "ch": 0.4,
                                                    "lesson_type": "mixed"}}}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "edge.db") as s:
        yield s


def counts(store: Store) -> tuple[int, int, int]:
    return tuple(store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("windows", "lessons", "outbox"))


def test_opens_in_wal_with_full_sync_and_busy_timeout(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    store.write_record(window(0.0))
    assert store.path.with_name("edge.db-wal").exists()


def test_reader_sees_committed_rows_while_a_writer_holds_a_transaction(tmp_path):
    with Store(tmp_path / "edge.db") as writer, Store(tmp_path / "edge.db") as reader:
        writer.write_record(window(0.0))
        with writer.db.atomic():
            writer.db.execute("INSERT INTO meta (key, value) VALUES ('sync.session', '1')")
            assert len(reader.windows()) == 1  # WAL: the reader is not blocked by the writer
            assert reader.db.execute("SELECT count(*) FROM meta WHERE key = 'x'").fetchone()[0] == 0


def test_migrations_are_idempotent_and_keep_data(tmp_path):
    path = tmp_path / "edge.db"
    with Store(path) as first:
        assert schema_version(first.db) == SCHEMA_VERSION == len(MIGRATIONS)
        first.write_record(window(0.0))
        assert migrate(first.db) == []
    with Store(path) as again:
        assert schema_version(again.db) == SCHEMA_VERSION
        assert [w["start"] for w in again.windows()] == [0.0]


def test_outbox_has_the_exact_shape_sync_depends_on(store):
    columns = [(c[1], c[2], c[3], c[5]) for c in store.db.execute("PRAGMA table_info(outbox)")]
    assert columns == [
        ("seq", "INTEGER", 0, 1), ("kind", "TEXT", 1, 0), ("record", "TEXT", 1, 0),
        ("window_start", "REAL", 0, 0), ("window_end", "REAL", 0, 0), ("n", "INTEGER", 0, 0),
        ("created", "REAL", 1, 0), ("sent_at", "REAL", 0, 0), ("historical", "INTEGER", 1, 0),
        ("bytes", "INTEGER", 1, 0), ("broker_acked_at", "REAL", 0, 0),
    ]
    indexes = {r[1]: [c[2] for c in store.db.execute(f"PRAGMA index_info({r[1]})")]
               for r in store.db.execute("PRAGMA index_list(outbox)")}
    assert ["sent_at", "seq"] in indexes.values()


def test_a_failed_migration_leaves_the_previous_version(tmp_path):
    def v2_breaks(db):
        db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("power cut")

    with Store(tmp_path / "edge.db") as store:
        with pytest.raises(RuntimeError):
            migrate(store.db, [*MIGRATIONS, v2_breaks])
        assert schema_version(store.db) == SCHEMA_VERSION
        assert "half_done" not in store.db.table_names()


def test_a_store_from_newer_software_is_refused(tmp_path):
    path = tmp_path / "newer.db"  # not audited: from newer software on purpose
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    with pytest.raises(SchemaError):
        migrate(Database(path))


def test_not_a_database_is_one_clear_error(tmp_path):
    bad = tmp_path / "edge.db"
    bad.write_bytes(b"this is not sqlite " * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        Store(bad)


def test_write_record_writes_the_aggregate_and_its_outbox_row(store):
    wid = store.write_record(window(30.0, n=14))
    lid = store.write_record(lesson())
    rows = store.db.execute(
        "SELECT kind, record, window_start, window_end, n, sent_at, historical, bytes FROM outbox "
        "ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == ["classroom", "lesson"]
    _kind, text, start, end, n, sent_at, historical, size = rows[0]
    assert json.loads(text) == window(30.0, n=14)
    assert (start, end, n, sent_at, historical, size) == (30.0, 60.0, 14, None, 0, len(text.encode()))
    links = store.db.execute(
        "SELECT w.id FROM windows w JOIN outbox o ON o.seq = w.outbox_seq WHERE o.kind = 'classroom'"
    ).fetchall()
    assert links == [(wid,)]
    assert store.lesson(lid)["metrics"]["st"]["lesson_type"] == "mixed"


@pytest.mark.parametrize("failing_table", ["windows", "outbox"])
def test_a_failure_mid_transaction_leaves_neither_row(store, failing_table):
    store.write_record(window(0.0))
    # A trigger aborting the insert stands in for a disk-full or I/O error inside the transaction.
    store.db.execute(f"CREATE TRIGGER fail BEFORE INSERT ON {failing_table} "
                     "BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END")
    with pytest.raises(StoreError, match="simulated"):
        store.write_record(window(30.0))
    assert counts(store) == (1, 0, 1)
    store.db.execute("DROP TRIGGER fail")
    store.write_record(window(30.0))
    assert counts(store) == (2, 0, 2)


@pytest.mark.parametrize("record, problem", [
    ({**window(0.0), "type": "frame"}, r"\$\.type: "),
    ({**window(0.0), "mode": "gym"}, r"\$\.mode: "),
    ({k: v for k, v in window(0.0).items() if k != "n"}, r"\$\.n: Field required"),
    ({**window(0.0), "start": "soon"}, r"\$\.start: "),
    ({**window(0.0), "metrics": [1, 2]}, r"\$\.metrics: "),
    ({**window(0.0), "start": float("inf")}, r"\$\.start: "),
    ({**window(0.0), "end": -1.0}, r"\$\.end: ends before it starts"),
])
def test_malformed_records_are_refused(store, record, problem):
    with pytest.raises(StoreError, match=problem):
        store.write_record(record)
    assert counts(store) == (0, 0, 0)


def test_records_about_individuals_are_refused_before_reaching_disk(store):
    record = window(0.0, per_student=[{"track_id": 3, "hand_raises": 1}, {"track_id": 4}])
    with pytest.raises(PrivacyViolation, match=r"\$\.metrics\.per_student: Extra inputs"):
        store.write_record(record)
    assert counts(store) == (0, 0, 0)


def test_numpy_values_and_nan_become_plain_json(store):
    store.write_record(window(np.float64(0.0), n=int(np.int64(9)), head_up_rate=np.float32(0.5),
                              activity_index=float("nan")))
    text = store.db.execute("SELECT record FROM outbox").fetchone()[0]
    metrics = json.loads(text)["metrics"]
    assert metrics["head_up_rate"] == 0.5 and metrics["activity_index"] is None


def test_read_helpers(store):
    for start in (0.0, 30.0, 60.0, 90.0):
        store.write_record(window(start, mode="pe" if start == 60.0 else "classroom"))
    store.write_record(lesson(0.0, 120.0))
    assert [w["start"] for w in store.windows()] == [0.0, 30.0, 60.0, 90.0]
    assert [w["start"] for w in store.windows(since=45.0)] == [60.0, 90.0]
    assert [w["start"] for w in store.windows(mode="pe")] == [60.0]
    assert [w["start"] for w in store.windows(limit=2)] == [60.0, 90.0]
    second = store.windows()[1]["id"]
    assert [w["start"] for w in store.windows(after_id=second)] == [60.0, 90.0]
    latest = store.latest()
    assert latest["start"] == 90.0 and latest["type"] == "window" and latest["suppressed"] is False
    assert store.latest("lesson")["end"] == 120.0
    assert [le["end"] for le in store.lessons()] == [120.0]
    assert store.lesson(999) is None


def test_retention_drops_old_aggregates_and_leaves_the_outbox_to_sync(store):
    now = time.time()
    store.write_record(window(0.0), now=now - 10 * DAY)
    store.write_record(lesson(), now=now - 10 * DAY)
    store.write_record(window(30.0), now=now - 1 * DAY)
    result = apply_retention(store, retention_days=7, now=now)
    assert (result.windows, result.lessons) == (1, 1)
    assert [w["start"] for w in store.windows()] == [30.0]
    assert counts(store) == (1, 0, 3)
    with pytest.raises(ValueError):
        apply_retention(store, retention_days=0)


def test_integrity_ok_on_a_healthy_store(store):
    store.write_record(window(0.0))
    assert store.integrity_ok()
