"""Real-time alerts (edge.alerts): the record, its way through store, outbox and wire contract,
the page's live state, and the sources that raise them (CO2, camera loss)."""

from __future__ import annotations

import json

import pytest

from edge.alerts import ALERT_KINDS, Alert, alert_record
from edge.config import EdgeConfig
from edge.daemon.alerts import CameraLossWatch
from edge.metrics.environment import EnvironmentEngine
from edge.lesson.live import LiveState
from edge.store import Store
from sensors.samples import EnvironmentSample
from sync import contract
from edge.store.outbox import OutboxRow, open_outbox
from edge.store.outbox_policy import OutboxLimits, enforce
from sync.payloads import aggregate_payload
from tests.sync_fixtures import NODE, add_rows, make_store


def test_alert_record_is_closed_and_identity_free():
    record = alert_record(Alert("fall", 12.3456, count=1), "pe")
    assert record == {"type": "alert", "mode": "pe", "start": 12.346, "end": 12.346, "n": 1,
                      "suppressed": False, "metrics": {"alert": {"kind": "fall", "count": 1}}}
    with pytest.raises(ValueError, match="alert kind"):
        Alert("track_7_fell", 1.0)
    assert set(ALERT_KINDS) == {"fall", "hr_high", "hr_contact_lost", "co2_high", "camera_lost"}


def _outbox_rows(db) -> list[OutboxRow]:
    conn = open_outbox(db)
    rows = conn.execute("SELECT seq, kind, record, historical FROM outbox ORDER BY seq").fetchall()
    conn.close()
    return [OutboxRow(seq=s, kind=k, record=r, historical=bool(h)) for s, k, r, h in rows]


def test_alert_goes_to_its_table_and_the_outbox_and_matches_the_wire_schema(tmp_path):
    db = make_store(tmp_path / "edge.db")
    with Store(db) as store:
        store.write_record(alert_record(Alert("co2_high", 100.0, value=1612.5), "classroom"))
        assert store.db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 1
    [row] = _outbox_rows(db)
    assert row.kind == "alert"
    payload = aggregate_payload(row, NODE.id, "0123456789abcdef")
    assert payload["mode"] == "classroom"
    assert payload["values"] == {"alert": {"kind": "co2_high", "value": 1612.5},
                                 "suppressed": False}
    contract.validator("agg.alert").validate(payload)
    # the closed schema refuses anything else inside the alert, e.g. an identity
    payload["values"]["alert"]["band"] = "band-03"
    assert not contract.validator("agg.alert").is_valid(payload)
    on_disk = json.loads((contract.SCHEMA_DIR / "agg.alert.v1.json").read_text())
    assert on_disk == contract.aggregate_schema("alert")


def test_a_full_outbox_never_merges_or_drops_alerts_before_windows(tmp_path):
    db = make_store(tmp_path / "edge.db", rows=300)
    with Store(db) as store:
        for i in range(5):
            store.write_record(alert_record(Alert("fall", 10.0 * i, count=1), "pe"))
    add_rows(db, range(300, 400))
    conn = open_outbox(db)
    report = enforce(conn, OutboxLimits(max_rows=10, max_bytes=10**9, max_age_s=1e9))
    kinds = [k for (k,) in conn.execute("SELECT kind FROM outbox WHERE sent_at IS NULL")]
    conn.close()
    assert report.dropped > 0 and kinds.count("alert") == 5  # windows went first


def test_live_state_holds_alerts_until_acknowledged():
    live = LiveState("pe", primary_camera="gym")
    record = {**alert_record(Alert("fall", 5.0, count=1), "pe"), "camera": "side"}
    shown = live.add_alert(record)  # another camera than the primary one: still shown
    assert shown["kind"] == "fall" and shown["count"] == 1 and shown["camera"] == "side"
    assert [a["id"] for a in live.snapshot()["alerts"]] == [shown["id"]]
    assert live.ack_alert(shown["id"]) and live.alerts() == []
    assert not live.ack_alert("no-such-id")
    with pytest.raises(ValueError):
        live.add_alert({"type": "window", "metrics": {}})


def test_co2_over_the_limit_raises_one_alert_per_breach():
    engine = EnvironmentEngine(EdgeConfig().environment)
    limit = EdgeConfig().environment.co2_limit_ppm
    raised = []
    for t, ppm in enumerate([800, 900, limit + 50, limit + 80, limit + 60, 900, limit + 10]):
        engine.on_environment(EnvironmentSample(t=float(t), values={"co2_ppm": float(ppm)}))
        raised += engine.take_alerts()
    assert [(a.kind, a.t) for a in raised] == [("co2_high", 2.0), ("co2_high", 6.0)]
    assert raised[0].value == limit + 50


def test_camera_loss_raises_once_until_the_camera_streams_again():
    emitted = []
    watch = CameraLossWatch("classroom", lambda: 42.0, emitted.extend)
    for states in ({"a": "connecting"}, {"a": "streaming"}, {"a": "stalled"},
                   {"a": "unreachable"}, {"a": "streaming"}, {"a": "unreachable", "b": "stopped"}):
        watch.check(states)
    assert [(r["metrics"]["alert"], r["camera"]) for r in emitted] == [
        ({"kind": "camera_lost", "camera": "a"}, "a")] * 2
    assert all(r["type"] == "alert" and r["start"] == 42.0 for r in emitted)
