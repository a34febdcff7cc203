"""Retention, roll-up, size budget, free-space guard and integrity recovery of the store.

Nothing that must be kept (lessons, unsent outbox rows) is ever lost.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from edge.store.maintenance import MB, FreeSpaceGuard, RetentionPolicy, enforce_size, run_maintenance, store_size_bytes
from edge.store.rollup import merge_metrics
from edge.store import Store
from edge.store.recovery import integrity_problem, open_store_checked

DAY = 86400.0
NOW = 1_760_000_000.0  # a fixed "now" (Oct 2025), on an hour boundary below
HOUR0 = (NOW - 10 * DAY) // 3600 * 3600


def window(start: float, n: int = 12, raises: int = 1, head_up: float = 0.5,
           mode: str = "classroom", suppressed: bool = False) -> dict:
    metrics = ({"students_present": n, "hand_raises": raises, "head_up_rate": head_up,
                "teacher": {"zone_share": head_up}} if mode == "classroom"
               else {"participants": n, "mvpa_fraction": head_up})
    if suppressed:
        metrics = {k: (None if k in ("head_up_rate", "mvpa_fraction") else v)
                   for k, v in metrics.items()}
    return {"type": "window", "mode": mode, "start": start, "end": start + 30.0, "n": n,
            "suppressed": suppressed, "metrics": metrics}


def lesson(start: float) -> dict:
    return {"type": "lesson", "mode": "classroom", "start": start, "end": start + 2700.0,
            "n": 20, "suppressed": False, "metrics": {"students_present": 20, "hand_raises": 9}}


def outbox(store: Store) -> list[tuple]:
    return store.db.execute("SELECT seq, kind, record, sent_at FROM outbox ORDER BY seq").fetchall()


def test_merge_rules():
    parts = [({"hand_raises": 2, "students_present": 10, "head_up_rate": 0.2, "st": "T",
               "alerts": [{"kind": "a"}], "teacher": {"distance": 3.0, "zone_share": 1.0}}, 30.0),
             ({"hand_raises": 5, "students_present": 14, "head_up_rate": 0.8, "st": "S",
               "alerts": [{"kind": "b"}], "teacher": {"distance": 4.0, "zone_share": 0.0}}, 90.0),
             ({"hand_raises": 1, "students_present": 3, "head_up_rate": None}, 30.0)]
    merged = merge_metrics(parts)
    assert merged == {"hand_raises": 8, "students_present": 14, "head_up_rate": 0.65, "st": "S",
                      "alerts": [{"kind": "a"}, {"kind": "b"}],
                      "teacher": {"distance": 7.0, "zone_share": 0.25}}


def test_old_windows_roll_up_into_hours_and_keep_what_matters(tmp_path):
    with Store(tmp_path / "edge.db") as store:
        # Two full hours, 10 days old, of classroom windows (the 2nd hour half suppressed) and
        # PE windows in the same hours; a recent hour that must stay fine-grained.
        for i in range(8):
            created = HOUR0 + i * 900  # 4 per hour for 2 hours
            store.write_record(window(created, n=10 + i, raises=i, head_up=0.1 * i,
                                      suppressed=i >= 6), now=created)
            store.write_record(window(created, mode="pe", head_up=0.5), now=created + 1)
        recent = [store.write_record(window(NOW - 600 + k), now=NOW - 600 + k) for k in range(3)]
        store.write_record(lesson(HOUR0), now=HOUR0 + 3000)
        store.db.execute("UPDATE outbox SET sent_at = ? WHERE seq % 2 = 0", (NOW,))
        before_outbox = outbox(store)
        report = run_maintenance(store, RetentionPolicy(rollup_after_days=7), now=NOW)
        assert (report.rolled_windows, report.rollups) == (16, 4)
        rows = store.windows()
        assert len(rows) == 4 + 3
        hourly = [r for r in rows if r["mode"] == "classroom" and r["end"] - r["start"] > 60]
        first, second = sorted(hourly, key=lambda r: r["start"])
        assert first["metrics"]["hand_raises"] == 0 + 1 + 2 + 3
        assert first["metrics"]["students_present"] == 13 and first["n"] == 13
        assert first["metrics"]["head_up_rate"] == pytest.approx(0.15)
        assert (first["start"], first["end"]) == (HOUR0, HOUR0 + 3 * 900 + 30)
        # Suppressed windows add nulls: the rate comes from the unsuppressed ones only.
        assert second["metrics"]["head_up_rate"] == pytest.approx(0.45)
        # n is the largest among the windows that contribute rates (the unsuppressed ones).
        assert second["suppressed"] is False and second["n"] == 15
        assert [r["id"] for r in rows if r["created"] > NOW - 3600] == recent
        seqs = [s for (s,) in store.db.execute("SELECT outbox_seq FROM windows").fetchall()]
        assert sum(s < 0 for s in seqs) == 4  # rolled-up rows have no outbox row of their own
        # Nothing lost that must be kept: the outbox and the lesson are untouched.
        assert outbox(store) == before_outbox
        assert len(store.lessons()) == 1
        again = run_maintenance(store, RetentionPolicy(rollup_after_days=7), now=NOW)
        assert (again.rolled_windows, again.rollups) == (0, 0)  # an hour is rolled up once


def test_size_budget_drops_oldest_windows_only(tmp_path):
    with Store(tmp_path / "edge.db") as store:
        # 300 windows from a few hours ago (can be rolled up), 600 from the last 50 minutes.
        created = [NOW - 5 * 3600 + i * 30 for i in range(300)] + [
            NOW - 3000 + i * 5 for i in range(600)]
        for t in created:
            store.write_record(window(t, raises=int(t) % 3), now=t)
        for k in range(5):
            store.write_record(lesson(NOW - DAY + k * 3600), now=NOW - DAY + k * 3600 + 2700)
        before_outbox = outbox(store)
        size = store_size_bytes(store)
        budget = int(size * 0.85)  # the outbox (kept) is most of the file
        report = enforce_size(store, budget, now=NOW)
        assert store_size_bytes(store) <= budget and not report.over_budget
        assert report.rollups > 0 and report.dropped_for_size > 0  # roll up first, then drop
        remaining = store.windows()
        assert 0 < len(remaining) < 900
        # The newest windows survive; the oldest went first.
        kept = sorted(r["created"] for r in remaining)
        assert kept[-1] == created[-1] and kept == created[-len(kept):]
        assert outbox(store) == before_outbox and len(store.lessons()) == 5
        # A budget that windows alone cannot meet is reported, not met by deleting lessons.
        tiny = enforce_size(store, 1024, now=NOW)
        assert tiny.over_budget and store.windows() == [] and len(store.lessons()) == 5
        assert outbox(store) == before_outbox


def test_age_retention_through_maintenance(tmp_path):
    with Store(tmp_path / "edge.db") as store:
        store.write_record(window(0.0), now=NOW - 500 * DAY)
        store.write_record(window(30.0), now=NOW - 10)
        report = run_maintenance(store, RetentionPolicy(retention_days=400), now=NOW)
        assert report.expired_windows == 1 and len(store.windows()) == 1
        assert len(outbox(store)) == 2  # the outbox is sync/'s to bound


@pytest.fixture
def small_fs(tmp_path: Path):
    """A 2 MB tmpfs when mounting is allowed (root), else None (the fallback test runs)."""
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(f"tmpfs mount not permitted ({result.stderr.strip()}): threshold fallback")
        yield None
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_free_space_guard_keeps_lessons_and_outbox(small_fs, tmp_path):
    if small_fs is not None:
        print("free-space test on a 2 MB tmpfs")
        folder, min_free = small_fs, 1 * MB
    else:  # fallback: a limit above the real free space makes the disk "low" at once
        folder = tmp_path
        min_free = shutil.disk_usage(tmp_path).free + MB
    path = folder / "edge.db"
    with Store(path) as store:
        guard = FreeSpaceGuard(path, min_free, check_every_s=0.0)
        written = 0
        for i in range(20_000):
            if guard.write(store, window(float(i) * 30)) is not None:
                written += 1
            if guard.dropped_windows >= 20:
                break
        assert guard.dropped_windows >= 20 and guard.low
        for k in range(30):  # lessons still go in while windows are held back
            assert guard.write(store, lesson(k * 3600.0)) is not None
        assert len(store.lessons()) == 30 and len(store.windows()) == written
        assert len(outbox(store)) == written + 30  # every stored record has its outbox row
        assert shutil.disk_usage(folder).free > 0
        # Retention frees pages inside the file; the store stays usable.
        run_maintenance(store, RetentionPolicy(max_bytes=store_size_bytes(store) // 2))
        assert len(store.lessons()) == 30 and len(outbox(store)) == written + 30
    if small_fs is not None:
        assert written > 100  # the guard did let windows in while there was room


def _corrupt_page(path: Path, page: int) -> None:
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as f:
        f.seek((page - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))


def _filled_store(path: Path) -> int:
    with Store(path) as store:
        for i in range(300):
            store.write_record(window(i * 30.0), now=NOW + i)
        store.write_record(lesson(0.0), now=NOW + 999)
        store.db.execute("UPDATE outbox SET sent_at = ? WHERE seq <= 250", (NOW,))
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return store.db.execute("SELECT max(seq) FROM outbox").fetchone()[0]


def test_damaged_index_recovers_and_carries_the_unsent_outbox(tmp_path):
    path = tmp_path / "edge.db"
    last_seq = _filled_store(path)
    with sqlite3.connect(path) as conn:
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'idx_windows_start'").fetchone()[0]
    _corrupt_page(path, root)
    assert integrity_problem(path) is not None
    store, recovery = open_store_checked(path)
    with store:
        assert recovery is not None and recovery.moved_to.exists()
        assert recovery.moved_to.name.startswith("edge.db.corrupt-")
        assert (recovery.carried_outbox, recovery.lost_outbox) == (51, 0)  # 50 windows + lesson
        rows = outbox(store)
        assert len(rows) == 51 and all(sent is None for *_, sent in rows)
        assert rows[0][0] == last_seq + 1  # msg ids never repeat one the hub has seen
        assert len(store.lessons()) == 1 and len(store.windows()) == 50
        assert store.integrity_ok()
    _, again = open_store_checked(path)  # a healthy store opens without recovery
    assert again is None


def test_garbage_file_is_moved_aside_and_a_fresh_store_starts(tmp_path):
    path = tmp_path / "edge.db"
    path.write_bytes(b"this is not sqlite" * 500)
    store, recovery = open_store_checked(path)
    with store:
        assert recovery is not None and recovery.carried_outbox == 0
        assert recovery.moved_to.read_bytes().startswith(b"this is not sqlite")
        store.write_record(window(0.0))
        seq = outbox(store)[0][0]
        assert seq > NOW * 1000 - 1  # unknown old sequence: continue from the clock


def _outbox_leaves(path: Path) -> list[int]:
    """Page numbers of the outbox table's leaf pages, in key order (SQLite's dbstat table)."""
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' ORDER BY path")]


def _store_with_45_unsent(path: Path) -> int:
    last_seq = _filled_store(path)  # 301 rows
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE outbox SET sent_at = ? WHERE seq <= ?", (NOW, last_seq - 45))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return last_seq


def test_a_damaged_outbox_page_costs_only_its_own_rows(tmp_path):
    """Issue 13: a damaged page among the sent rows made 0 of 45 readable unsent rows carry over."""
    path = tmp_path / "edge.db"
    _store_with_45_unsent(path)
    _corrupt_page(path, _outbox_leaves(path)[1])  # a page of long-sent rows
    assert integrity_problem(path) is not None
    store, recovery = open_store_checked(path)
    with store:
        assert recovery is not None
        assert recovery.carried_outbox == 45
        assert len(outbox(store)) == 45 and len(store.lessons()) == 1


def test_a_damaged_page_of_unsent_rows_loses_only_that_page(tmp_path):
    path = tmp_path / "edge.db"
    last_seq = _store_with_45_unsent(path)
    leaves = _outbox_leaves(path)
    _corrupt_page(path, leaves[-2])  # the page before the last holds unsent rows
    store, recovery = open_store_checked(path)
    with store:
        assert recovery is not None and recovery.lost_outbox > 0
        assert 45 - recovery.lost_outbox <= recovery.carried_outbox < 45
        assert outbox(store)[-1][0] > last_seq  # the newest rows made it, after the damage
