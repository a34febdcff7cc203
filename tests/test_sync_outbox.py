"""Outbox bounds (roll-up before drop), payload contract, topics and `edge sync status`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.store.rollup import merge_window_records
from sync import contract
from edge.store.outbox import HIGH_WATER_KEY, OutboxRow, atomic, open_outbox, set_counter, stats
from edge.store.outbox_policy import ROLLUP_FACTOR, OutboxLimits, enforce
from sync.payloads import aggregate_payload
from sync.topics import NodeTopics, parse_topic, subscription
from tests.sync_fixtures import NODE, add_rows, make_store, window_record

EDGE = str(Path(sys.executable).with_name("edge"))


def test_long_offline_rolls_up_before_dropping_oldest(tmp_path):
    db = make_store(tmp_path / "edge.db", rows=400)
    add_rows(db, [0], kind="lesson")  # a lesson summary: dropped only after every window
    conn = open_outbox(db)
    with atomic(conn):
        set_counter(conn, HIGH_WATER_KEY, 10)  # rows 1..10 may already be at the hub
    report = enforce(conn, OutboxLimits(max_rows=200, max_bytes=10**9, max_age_s=1e9))
    after = stats(conn)
    assert after.rows <= 200 and report.dropped == 0  # roll-up alone was enough
    assert report.rolled_up == after.rolled_up > 0
    rows = conn.execute("SELECT seq, historical, record FROM outbox ORDER BY seq").fetchall()
    assert [r[0] for r in rows[:10]] == list(range(1, 11))  # never merged: maybe at the hub
    merged = [json.loads(r[2]) for r in rows if r[1]]
    assert merged and all(m["rolled_up"] >= ROLLUP_FACTOR for m in merged)
    # Every original 30 s window is still covered exactly once (nothing lost, no overlap).
    spans = sorted((json.loads(r[2])["start"], json.loads(r[2])["end"]) for r in rows
                   if json.loads(r[2])["type"] == "window")
    assert spans[0][0] == 0.0 and spans[-1][1] == 400 * 30.0
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    # Much tighter: roll-up runs out (one hour maximum), then the oldest windows are dropped.
    report = enforce(conn, OutboxLimits(max_rows=12, max_bytes=10**9, max_age_s=1e9))
    after = stats(conn)
    assert after.rows <= 12 and report.dropped > 0 and after.dropped == report.dropped
    kinds = [r[0] for r in conn.execute("SELECT kind FROM outbox")]
    assert "lesson" in kinds
    conn.close()
    status = subprocess.run([EDGE, "sync", "status", "--db", str(db), "--json"],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    reported = json.loads(status.stdout)
    assert reported["unsent"] == after.unsent and reported["dropped"] == after.dropped
    assert reported["rolled_up"] == after.rolled_up and reported["oldest_unsent_age_s"] >= 0


def test_age_bound_drops_old_rows_and_prunes_sent_first(tmp_path):
    db = make_store(tmp_path / "edge.db", rows=5, created=time.time() - 10 * 86_400)
    add_rows(db, range(5, 150))
    conn = open_outbox(db)
    conn.execute("UPDATE outbox SET sent_at = 1 WHERE seq BETWEEN 6 AND 60")
    report = enforce(conn, OutboxLimits(max_rows=120, max_bytes=10**9, max_age_s=86_400))
    assert report.dropped == 5  # too old: a coarser window would not be younger
    assert report.pruned_sent == 25  # delivered rows go before any unsent one is touched
    assert report.rolled_up == 0 and stats(conn).rows == 120
    conn.close()


def test_merge_records_sums_counts_and_weights_rates():
    a, b = window_record(0), window_record(1)
    a["metrics"].update(hand_raises=2, head_up_rate=0.4)
    b["metrics"].update(hand_raises=3, head_up_rate=None)
    b["end"] = 90.0  # 60 s long
    c = {**window_record(3), "start": 90.0, "end": 120.0, "n": 3, "suppressed": True}
    c["metrics"] = {**c["metrics"], "head_up_rate": 0.9}
    merged = merge_window_records([a, b, c])
    assert merged["metrics"]["hand_raises"] == 2 + 3 + c["metrics"]["hand_raises"]
    assert merged["metrics"]["head_up_rate"] == pytest.approx((0.4 * 30 + 0.9 * 30) / 60)
    assert merged["n"] == 30 and merged["suppressed"] is False  # n from unsuppressed sources
    assert (merged["start"], merged["end"], merged["rolled_up"]) == (0.0, 120.0, 3)


def test_aggregate_payload_matches_its_schema_and_contract():
    record = {**window_record(4), "demo": True}
    payload = aggregate_payload(OutboxRow(7, "classroom", json.dumps(record), True), "n1")
    assert not list(contract.validator("agg.classroom").iter_errors(payload))
    assert payload["msg_id"] == "n1:7" and payload["historical"] and payload["demo"]
    assert payload["window"] == {"start": 120.0, "end": 150.0}
    assert payload["values"]["suppressed"] is False and "metrics" not in payload


def test_published_schema_files_are_current():
    for name, schema in contract.all_schemas().items():
        path = contract.SCHEMA_DIR / f"{name}.v{contract.SCHEMA_VERSION}.json"
        assert json.loads(path.read_text()) == schema, f"{path}: run python -m sync.contract"


def test_topics_follow_the_contract():
    topics = NodeTopics.for_node(NODE)
    assert topics.agg("pe") == "cls/v1/d1/s1/r101/n1/agg/pe"
    assert topics.cam_status("front") == "cls/v1/d1/s1/r101/n1/cam/front/status"
    parsed = parse_topic(topics.state)
    assert (parsed.node_key, parsed.node_id, parsed.leaf) == ("d1/s1/r101/n1", "n1", ("state",))
    assert parse_topic("cls/v2/d/s/r/n/state") is None and parse_topic("cls/v1/d/s") is None
    assert subscription("hubs") == "$share/hubs/cls/v1/#"


def test_status_on_a_file_without_outbox_is_one_line_usage_error(tmp_path):
    (tmp_path / "x.db").write_bytes(b"")
    result = subprocess.run([EDGE, "sync", "status", "--db", str(tmp_path / "x.db")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no outbox" in result.stderr
    assert "Traceback" not in result.stderr
