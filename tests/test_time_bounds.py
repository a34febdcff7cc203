"""Time jumps (issue 13): a scene or sensor clock that leaps must not write empty windows or hang.

Before: +1e5 s between two samples wrote 3,334 empty environment windows; t = 1e308 made the
window loop spin for ever (1e308 + 30 == 1e308).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scenegen import classroom_scene

from edge.config import EdgeConfig
from edge.lesson.session import LessonSession, TimeError
from sensors.samples import AudioFeatures, EnvironmentSample

ROOT = Path(__file__).resolve().parents[1]
JUMP = 1e5


def _env(t: float) -> EnvironmentSample:
    return EnvironmentSample(t=t, values={"co2_ppm": 900.0, "lux_desk": 420.0})


def test_a_clock_jump_ends_the_lesson_and_starts_a_new_one():
    scene = classroom_scene("TTSS")  # 120 s of a real generated class
    later = [s.__class__(**{**vars(s), "t": s.t + JUMP}) for s in scene.samples]
    samples = sorted([*scene.samples, *(_env(float(t)) for t in range(0, 120, 10)),
                      *later, *(_env(JUMP + t) for t in range(0, 120, 10))], key=lambda s: s.t)
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    records = [r for s in samples for r in session.feed(s)] + session.finish()
    windows = [r for r in records if r["type"] == "window"]
    lessons = [r for r in records if r["type"] == "lesson"]
    assert len(windows) <= 10, f"{len(windows)} windows for 240 s of samples"
    assert [(le["start"] < JUMP, le["end"] - le["start"] < 200) for le in lessons] == \
        [(True, True), (False, True)]
    assert all(w["metrics"]["students_present"] for w in windows)  # none of them empty


@pytest.mark.parametrize("t", [math.nan, math.inf, 1e308])
def test_the_session_refuses_times_that_are_not_finite(t):
    session = LessonSession(EdgeConfig(), "classroom")
    session.feed(AudioFeatures(t=0.0, speech=0.9, teacher_speech=None, dba=50.0, duration=0.5))
    with pytest.raises(TimeError, match="not a finite time"):
        session.feed(AudioFeatures(t=t, speech=0.9, teacher_speech=None, dba=50.0, duration=0.5))


def test_replay_of_a_scene_jumping_to_1e308_stops_with_the_line(tmp_path):
    scene = tmp_path / "jump.jsonl"
    lines = [{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]},
             {"t": 0.0, "env": {"co2_ppm": 900}}, {"t": 1e308, "env": {"co2_ppm": 900}}]
    scene.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = subprocess.run([sys.executable, "-m", "edge.cli.main", "replay", str(scene), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("jump.jsonl:3: t must lie within 1e+12 s of 0, got 1e+308")
