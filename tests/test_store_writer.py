"""The daemon's store writer: maintenance at start, the free-space guard, page after store."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from test_retention import lesson, window

from edge.config import StoreConfig
from edge.daemon.heartbeat import Heartbeats
from edge.daemon.store_writer import StoreWriter
from edge.lesson.live import LiveState
from edge.store.maintenance import MB
from edge.store import Store

DAY = 86400.0


def _run(config: StoreConfig, records: list[dict]) -> tuple[StoreWriter, LiveState]:
    live = LiveState("classroom")
    writer = StoreWriter(config, live, Heartbeats())
    writer.start()
    writer.submit(records)
    assert writer.close()
    return writer, live


def test_maintenance_runs_at_start_expiring_and_rolling_up(tmp_path: Path):
    db = tmp_path / "edge.db"
    now = time.time()
    hour = (now - 10 * DAY) // 3600 * 3600
    with Store(db) as store:
        for i in range(3):  # too old: expired
            store.write_record(window(0.0), now=now - 500 * DAY + i)
        for i in range(4):  # ten days old, one hour: rolled into one row
            store.write_record(window(i * 30.0, raises=i), now=hour + i * 600)
        store.write_record(lesson(0.0), now=now - 500 * DAY)  # old lessons expire too
    config = StoreConfig(path=db, retention_days=400, rollup_after_days=7)
    writer, live = _run(config, [window(100.0)])
    assert writer.maintenance_runs == 1 and writer.written == 1
    with Store(db) as store:
        rows = store.windows()
        assert len(rows) == 2 and store.lessons() == []
        rolled = rows[0]
        assert (rolled["start"], rolled["end"]) == (0.0, 120.0)
        assert rolled["metrics"]["hand_raises"] == 0 + 1 + 2 + 3
    assert len(live.snapshot()["windows"]) == 1


def test_low_disk_holds_back_windows_but_keeps_lessons(tmp_path: Path):
    db = tmp_path / "edge.db"
    free_mb = shutil.disk_usage(tmp_path).free // MB
    config = StoreConfig(path=db, min_free_mb=free_mb + 1024)  # the disk counts as low
    records = [window(0.0), window(30.0), lesson(0.0)]
    writer, live = _run(config, records)
    assert writer.held_back == 2 and writer.written == 1 and writer.failed == 0
    with Store(db) as store:
        assert store.windows() == [] and len(store.lessons()) == 1
        kinds = [r[0] for r in store.db.execute("SELECT kind FROM outbox")]
        assert kinds == ["lesson"]
    snapshot = live.snapshot()
    assert snapshot["windows"] == []  # the page never shows a window the store does not have


def test_windows_are_written_while_the_disk_has_room(tmp_path: Path):
    db = tmp_path / "edge.db"
    writer, live = _run(StoreConfig(path=db, min_free_mb=0), [window(0.0), window(30.0)])
    assert writer.held_back == 0 and writer.written == 2
    assert [w["start"] for w in live.snapshot()["windows"]] == [0.0, 30.0]
