"""kill -9 in the middle of `edge replay --db`: the store opens cleanly, every committed window is
intact and paired with its outbox row (SPEC 7/9: record and outbox row in one transaction)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scenegen import write_classroom_scene

from edge.store import Store

ROOT = Path(__file__).resolve().parents[1]
WINDOW_S = 5.0
KILL_AFTER_WINDOWS = 6


def committed_windows(db: Path) -> int:
    """Windows visible to another connection right now (0 while the store is being created)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM windows").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


@pytest.mark.slow
def test_sigkill_mid_replay_leaves_an_intact_store(tmp_path):
    scene = write_classroom_scene(tmp_path / "long.jsonl", seconds=900)
    db = tmp_path / "edge.db"
    # Short windows: many commits while the replay is still running.
    env = {**os.environ, "EDGE__WINDOW__SECONDS": str(WINDOW_S)}
    proc = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "replay", str(scene), "--db",
                             str(db)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while committed_windows(db) < KILL_AFTER_WINDOWS:
            assert proc.poll() is None, f"replay ended before the kill: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline, "replay wrote no windows in time"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed mid-run, not finished

    with Store(db) as store:
        assert store.integrity_ok()
        windows = store.windows()
        assert len(windows) >= KILL_AFTER_WINDOWS
        assert len(windows) < 900 / WINDOW_S  # the kill really came before the end
        # Committed windows are contiguous from the start: none lost, none torn.
        assert [w["start"] for w in windows] == [i * WINDOW_S for i in range(len(windows))]
        assert all(w["end"] - w["start"] == WINDOW_S for w in windows)
        assert store.lessons() == []
        pairs = store.db.execute(
            "SELECT w.id, o.record FROM windows w JOIN outbox o ON o.seq = w.outbox_seq"
        ).fetchall()
        outbox_rows = store.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    assert len(pairs) == len(windows) == outbox_rows  # every window has its row and vice versa
    by_id = {w["id"]: w for w in windows}
    for window_id, text in pairs:
        record = json.loads(text)
        stored = by_id[window_id]
        assert {k: stored[k] for k in record} == record  # the outbox carries the same aggregate
