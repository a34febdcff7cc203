"""Privacy gate (SPEC 3.3): small groups have their rates suppressed; no ids leave the pipeline."""

from __future__ import annotations

import json

from scenegen import classroom_scene

from edge.metrics.classroom.engine import RATE_KEYS
from edge.config import EdgeConfig
from edge.metrics.base import EngineResult
from edge.privacy.gate import aggregate_record, gate
from edge.lesson.session import LessonSession


def run(scene, config: EdgeConfig | None = None) -> tuple[LessonSession, list[dict]]:
    session = LessonSession(config or EdgeConfig(), "classroom", scene.zones)
    records = [r for s in scene.samples for r in session.feed(s)]
    return session, records + session.finish()


def test_gate_nulls_rate_keys_below_min_group_only():
    def result(n):
        return EngineResult(
            n=n,
            metrics={"count": 3, "rate": 0.5, "teacher": {"share": 0.2, "distance": 4.0}},
            rate_keys={"rate", "teacher.share"},
        )

    audio = EngineResult(n=None, metrics={"audio": {"speech_ratio": 0.7}})
    n, suppressed, metrics = gate([result(4), audio], min_group=5)
    assert (n, suppressed) == (4, True)
    assert metrics == {
        "count": 3,
        "rate": None,
        "teacher": {"share": None, "distance": 4.0},
        "audio": {"speech_ratio": 0.7},
    }
    n, suppressed, metrics = gate([result(5), audio], min_group=5)
    assert (n, suppressed, metrics["rate"], metrics["teacher"]["share"]) == (5, False, 0.5, 0.2)
    original = result(2)
    gate([original], min_group=5)
    assert original.metrics["rate"] == 0.5  # the engine's own values are not modified


def test_small_class_windows_are_suppressed():
    scene = classroom_scene("TTSS", rows=1, per_row=3)  # three students < min_group 5
    _, records = run(scene)
    assert records and all(r["suppressed"] and r["n"] == 3 for r in records)
    for record in records:
        m = record["metrics"]
        assert all(m[key] is None for key in RATE_KEYS)
        assert m["students_present"] == 3 and isinstance(m["hand_raises"], int)
        assert m["audio"]["speech_ratio"] is not None  # room audio is not per person
    config = EdgeConfig.model_validate({"privacy": {"min_group": 3}})
    _, records = run(scene, config)
    assert not any(r["suppressed"] for r in records)
    assert all(records[-1]["metrics"][key] is not None for key in ("head_up_rate", "standing"))


def test_records_carry_no_track_id_or_per_person_series():
    scene = classroom_scene("TTSS", rows=2, per_row=5)
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    ids: set[int] = set()
    track = session.tracker.update

    def tracking(t, people):  # watch the ids the tracker hands out
        tracked = track(t, people)
        ids.update(p.track for p in tracked)
        return tracked

    session.tracker.update = tracking
    records = [r for s in scene.samples for r in session.feed(s)] + session.finish()
    assert len(ids) >= 11
    text = json.dumps(records)
    assert not any(str(i) in text for i in ids if i > 999)
    for record in records:
        assert set(record) == {"type", "mode", "start", "end", "n", "suppressed", "metrics"}
        for value in record["metrics"].values():  # aggregates: numbers or small blocks, no lists
            assert not isinstance(value, list)


def test_aggregate_record_shape():
    record = aggregate_record(
        "window", "classroom", 0.0, 30.0, [EngineResult(n=7, metrics={"x": 1 / 3})], min_group=5
    )
    assert record == {
        "type": "window",
        "mode": "classroom",
        "start": 0.0,
        "end": 30.0,
        "n": 7,
        "suppressed": False,
        "metrics": {"x": 0.3333},
    }
