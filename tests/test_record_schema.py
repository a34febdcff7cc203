"""The closed record schema (issue 13 section 1): refused where it must, never where it must not.

Too strict before: a normal winter afternoon (CO2 2000 ppm and desk light 150 lx in one window)
was refused as a "possible per-person list" and the whole window was lost; so was a lesson with
two alert kinds and every window after a sensor went stale. Too loose: the hub stored NaN,
per-student heart rates keyed by name and a nested face embedding.
"""

from __future__ import annotations

import json
import math

import pytest
from scenegen import classroom_scene

from edge.config import EdgeConfig
from edge.privacy.records import RecordError, validate_record
from edge.lesson.session import LessonSession
from edge.store import PrivacyViolation, Store
from sensors.samples import EnvironmentSample
from sync.contract import payload_problem
from sync.hub import Hub, Rejected
from sync.hub_store import open_store
from sync.topics import NodeTopics
from tests.sync_fixtures import NODE, mqtt_config


def _lesson_with_env(env_values, until: float | None = None) -> list[dict]:
    """A real classroom lesson (generated scene) with environment readings every 10 s."""
    scene = classroom_scene("TTSSTT")
    end = until if until is not None else scene.duration
    env = [EnvironmentSample(t=float(t), values=dict(env_values)) for t in range(0, int(end), 10)]
    samples = sorted([*scene.samples, *env], key=lambda s: s.t)
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    return [r for s in samples for r in session.feed(s)] + session.finish()


def _stored(tmp_path, records) -> list[dict]:
    with Store(tmp_path / "edge.db") as store:
        for record in records:
            store.write_record(record)
        return store.windows() + store.lessons()


def test_two_environment_alerts_in_one_window_are_stored_with_the_classroom_metrics(tmp_path):
    records = _lesson_with_env({"co2_ppm": 2000.0, "lux_desk": 150.0})
    windows = [r for r in records if r["type"] == "window"]
    kinds = {a["kind"] for a in windows[0]["metrics"]["env"]["alerts"]}
    assert {"co2_high", "lux_desk_low"} <= kinds
    stored = _stored(tmp_path, records)
    # every window and the lesson stored (the CO2 breach is also a real-time alert record)
    aggregates = [r for r in records if r["type"] in ("window", "lesson")]
    assert len(stored) == len(aggregates) and len(windows) >= 5
    assert all(w["metrics"]["students_present"] > 0 for w in stored if w["type"] == "window")


def test_a_lesson_with_two_alert_kinds_is_stored(tmp_path):
    lesson = _lesson_with_env({"co2_ppm": 2000.0, "lux_desk": 150.0})[-1]
    assert lesson["type"] == "lesson" and len(lesson["metrics"]["env"]["alerts"]) >= 2
    assert _stored(tmp_path, [lesson])[0]["metrics"]["env"] == lesson["metrics"]["env"]


def test_a_stale_sensor_does_not_stop_windows(tmp_path):
    """Readings stop after 20 s; with stale_after_s = 30 the later windows carry stale alerts."""
    scene = classroom_scene("TTSSTT")
    config = EdgeConfig.model_validate({"environment": {"stale_after_s": 30.0}})
    env = [EnvironmentSample(t=float(t), values={"co2_ppm": 900.0, "lux_desk": 420.0, "rh": 45.0})
           for t in (0, 10, 20)]
    session = LessonSession(config, "classroom", scene.zones)
    samples = sorted([*scene.samples, *env], key=lambda s: s.t)
    records = [r for s in samples for r in session.feed(s)] + session.finish()
    stale = [r for r in records if r["type"] == "window"
             and sum(a["kind"] == "sensor_stale" for a in r["metrics"]["env"]["alerts"]) >= 2]
    assert stale, "the scene should make several sensors stale in one window"
    assert len(_stored(tmp_path, records)) == len(records)


HUB_PLANTS = {
    "NaN rate": ({"hand_raises": 2, "head_up_rate": math.nan}, "(non-|not a )finite number"),
    "heart rates by student name": ({"hr_by_student": {"Zhang San": 131, "Li Wei": 140}},
                                    "hr_by_student"),
    "nested face embedding": ({"teacher": {"zone_share": 0.5, "face_embedding": [0.1] * 128}},
                              "face_embedding"),
    "bool as a count": ({"hand_raises": True}, "hand_raises"),
}


@pytest.mark.parametrize("plant", list(HUB_PLANTS))
def test_the_hub_validates_against_the_closed_schema_before_storing(tmp_path, plant):
    values, reason = HUB_PLANTS[plant]
    store = open_store(str(tmp_path / "hub.db"))
    hub = Hub(store, mqtt_config("mqtt://127.0.0.1:1"), "mqtt://127.0.0.1:1")
    topic = NodeTopics.for_node(NODE).agg("classroom")

    def payload(seq: int, values: dict) -> bytes:
        return json.dumps({"schema": "cls.agg.classroom/v1", "msg_id": f"n1:{seq}", "seq": seq,
                           "window": {"start": 0.0, "end": 30.0}, "n": 30,
                           "values": {"suppressed": False, **values}, "quality": {},
                           "historical": False}).encode()

    with pytest.raises(Rejected, match=reason):
        hub.ingest(topic, payload(1, values))
    hub.ingest(topic, payload(2, {"hand_raises": 2, "head_up_rate": 0.7}))
    assert store.aggregate_ids() == ["d1/s1/r101/n1:2"]
    store.close()


def test_payload_problem_names_non_finite_window_times():
    payload = {"schema": "cls.agg.classroom/v1", "msg_id": "n1:1", "seq": 1,
               "window": {"start": math.nan, "end": 30.0}, "n": 30,
               "values": {"suppressed": False}, "quality": {}, "historical": False}
    assert payload_problem(payload) == "payload.window.start: not a finite number"


@pytest.mark.parametrize("metrics, path", [
    ({"students_present": 3.5}, r"\$\.metrics\.students_present"),
    ({"teacher": {"zone_share": 1.5}}, r"\$\.metrics\.teacher\.zone_share"),
    ({"st": {"samples": "TTSX"}}, r"\$\.metrics\.st\.samples"),
    ({"env": {"compliance": {}, "alerts": [{"kind": "co2_high", "quantity": "co2_ppm",
                                            "value": 2000, "who": "x"}]}},
     r"\$\.metrics\.env\.alerts\[0\]\.who"),
])
def test_store_refusal_names_the_path(tmp_path, metrics, path):
    record = {"type": "window", "mode": "classroom", "start": 0.0, "end": 30.0, "n": 12,
              "suppressed": False, "metrics": metrics}
    with pytest.raises(RecordError, match=path):
        validate_record(record)
    with Store(tmp_path / "edge.db") as store, pytest.raises(PrivacyViolation, match=path):
        store.write_record(record)


def test_an_alert_about_one_student_is_not_a_suppression_breach():
    """One student's fall (n=1) must reach the teacher: alerts carry no rates to suppress."""
    from edge.alerts import Alert, alert_record
    from edge.privacy.records import suppression_problem

    assert suppression_problem(alert_record(Alert("fall", 10.0, count=1), "pe"), 5) is None
    window = {"type": "window", "mode": "pe", "start": 0.0, "end": 30.0, "n": 1,
              "suppressed": False, "metrics": {"mvpa_fraction": 0.5}}
    assert suppression_problem(window, 5) is not None
