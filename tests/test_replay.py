"""`edge replay` (SPEC 6): scene and video replays, SPEC 5 output keys, store writes, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from scenegen import write_classroom_scene
from test_audio import espeak, write_wav

from edge.config import load_config
from edge.perception.pipeline import Perception
from edge.lesson.replay import replay
from edge.store import Store
from models.runtime import ModelError
from sensors.audio import RATE
from sensors.samples import Frame

ROOT = Path(__file__).resolve().parents[1]
EDGE = [sys.executable, "-m", "edge.cli.main"]
RECORD_KEYS = {"type", "mode", "start", "end", "n", "suppressed", "metrics"}
CLASSROOM_KEYS = {"students_present", "hand_raises", "hand_raise_rate", "participation", "standing",
                  "stand_events", "head_up_rate", "writing_rate", "activity_index", "teacher"}
# One onnxruntime thread and no tiling keep the video test fast on a shared 2-core machine.
SMALL_MODEL_ENV = {"EDGE__RUNTIME__INTRA_OP_THREADS": "1", "EDGE__POSE__TILES": "1"}


def run_edge(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run([*EDGE, *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return write_classroom_scene(tmp_path_factory.mktemp("scene") / "lesson.jsonl", seconds=95)


def test_scene_replay_prints_spec5_records(scene, tmp_path):
    db = tmp_path / "edge.db"
    done = run_edge("replay", str(scene), "--json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["type"] for r in records] == ["window"] * 4 + ["lesson"]
    for record in records:
        assert set(record) == RECORD_KEYS
        assert record["mode"] == "classroom" and record["suppressed"] is False
        assert CLASSROOM_KEYS <= set(record["metrics"])
    assert [(r["start"], r["end"]) for r in records[:4]] == [(0, 30), (30, 60), (60, 90), (90, 95)]
    lesson = records[-1]
    assert (lesson["start"], lesson["end"]) == (0.0, 95.0)
    assert lesson["n"] == lesson["metrics"]["students_present"] == 12
    # Everything printed was stored, with its outbox row, in the same order.
    with Store(db) as store:
        stored = [{k: w[k] for k in RECORD_KEYS} for w in store.windows()]
        assert stored == records[:4]
        assert {k: store.latest("lesson")[k] for k in RECORD_KEYS} == lesson
        outbox = [json.loads(r[0]) for r in store.db.execute("SELECT record FROM outbox ORDER BY seq")]
        assert outbox == records
    summary = done.stderr.strip().splitlines()[-1]
    assert re.search(r"0 frames, \d+ samples, \d+ person-frames, 4 windows, 1 lesson", summary)


def test_replay_without_db_stores_nothing(scene, tmp_path):
    done = run_edge("replay", str(scene), env={"EDGE__STORE__PATH": str(tmp_path / "daemon.db")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "daemon.db").exists()


def test_mode_argument_overrides_the_scene_header(scene):
    seen = []
    summary = replay(str(scene), load_config(None, env={}), mode="pe", emit=seen.append)
    assert summary.mode == "pe"
    assert all(r["mode"] == "pe" for r in seen)


def test_header_zones_reach_the_session(scene):
    records = []
    replay(str(scene), load_config(None, env={}), emit=records.append)
    # The scene's teacher walks inside the header's teacher zone the whole time.
    assert records[-1]["metrics"]["teacher"]["zone_share"] == pytest.approx(1.0)


def test_video_replay_runs_to_completion(shared, tmp_path):
    video = shared("media/sports2d_demo.mp4")
    db = tmp_path / "edge.db"
    done = run_edge("replay", str(video), "--json", "--db", str(db), "--fps", "2",
                    env=SMALL_MODEL_ENV)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["type"] for r in records] == ["window", "lesson"]  # 7.7 s: one partial window
    assert all(set(r) == RECORD_KEYS and r["mode"] == "classroom" for r in records)
    assert 7.0 <= records[-1]["end"] <= 8.5
    counts = re.search(r"(\d+) frames, \d+ samples, (\d+) person-frames", done.stderr)
    frames, person_frames = int(counts[1]), int(counts[2])
    assert 14 <= frames <= 17  # 7.7 s at 2 frames/s
    assert 1.0 <= person_frames / frames <= 2.5  # two adults, one sometimes missed
    assert re.search(r"model [\d.]+ s, outside model [\d.]+ s", done.stderr)
    with Store(tmp_path / "edge.db") as store:
        assert len(store.windows()) == 1 and len(store.lessons()) == 1


@pytest.mark.parametrize("name, content", [
    ("missing.mp4", None),
    ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(4000)),
    ("bad.jsonl", (b'{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                   b'{"t": 0, "people": [{"kp": [[1, 2]]}]}\n')),
    ("noheader.jsonl", b'{"t": 0}\n'),
], ids=["missing", "corrupt-video", "bad-scene-line", "bad-scene-header"])
def test_bad_source_exits_2_with_one_line(tmp_path, name, content):
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content)
    done = run_edge("replay", str(source), "--json", "--db", str(tmp_path / "edge.db"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and name in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_header_zones_exit_2(tmp_path):
    scene = tmp_path / "zones.jsonl"
    scene.write_text('{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480], '
                     '"zones": {"teacher": [[0, 0], [1, 1]]}}\n{"t": 0, "people": []}\n')
    done = run_edge("replay", str(scene))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "teacher" in done.stderr


def test_records_before_a_malformed_line_are_kept(tmp_path):
    scene = write_classroom_scene(tmp_path / "lesson.jsonl", seconds=65)
    with scene.open("a") as out:
        out.write("{not json\n")
    db = tmp_path / "edge.db"
    done = run_edge("replay", str(scene), "--db", str(db))
    assert done.returncode == 2 and "lesson.jsonl:" in done.stderr
    with Store(db) as store:
        assert [w["end"] for w in store.windows()] == [30.0, 60.0, 65.0]
        assert store.latest("lesson")["end"] == 65.0


def test_wav_replay_gives_windows_with_audio(tmp_path):
    # 5 s of silence, then sentences filling the second 5 s window, then silence again.
    speech = np.concatenate([espeak(text, tmp_path, i) for i, text in enumerate(
        ["Please open your books at page twelve", "and read the first two paragraphs"])])
    silence = np.zeros(int(5.0 * RATE), np.float32)
    wav = write_wav(tmp_path / "room.wav", np.concatenate([silence, speech, silence]))
    done = run_edge("replay", str(wav), "--json", env={"EDGE__WINDOW__SECONDS": "5"})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    windows = [r for r in records if r["type"] == "window"]
    assert len(windows) >= 3 and records[-1]["type"] == "lesson"
    speech_shares = [w["metrics"]["audio"]["speech_ratio"] for w in windows]
    assert speech_shares[0] < 0.2 and speech_shares[1] > 0.5 and speech_shares[-1] < 0.2


def test_models_dir_is_honoured(tmp_path):
    config = load_config(None, env={"EDGE__RUNTIME__MODELS_DIR": str(tmp_path)})
    with pytest.raises(ModelError, match=str(tmp_path)):
        Perception.from_config(config)


def test_perception_hooks_run_after_the_model_and_count_as_model_time(shared):
    config = load_config(None, env=SMALL_MODEL_ENV)
    perception = Perception.from_config(config)
    image = cv2.imread(str(shared("media/skimage_astronaut.png")))
    found = perception.sample(Frame(t=1.5, image=image)).people
    assert len(found) == 1  # the astronaut

    seen = []
    perception.hooks.append(lambda frame, people: seen.append(len(people)) or people[:0])
    sample = perception.sample(Frame(t=2.0, image=image))
    assert seen == [1] and sample.people == [] and (sample.t, sample.size) == (2.0, (512, 512))
    assert perception.stats.frames == 2 and perception.stats.person_frames == 1
    assert perception.stats.model_s > 0 and perception.stats.load_s > 0
