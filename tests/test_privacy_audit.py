"""`edge privacy audit` (SPEC 3.5): clean on real replay output, failing on planted personal data."""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import subprocess
import sys
import wave
from pathlib import Path

import cv2
import pytest
from scenegen import write_classroom_scene

from edge.cli.main import main
from edge.privacy.records import RecordError, validate_record
from edge.store import Store

ROOT = Path(__file__).resolve().parents[1]
EDGE = [sys.executable, "-m", "edge.cli.main"]

# The SPEC 5 example records: what a clean store holds must pass.
SPEC_CLASSROOM = {
    "type": "lesson", "mode": "classroom", "start": 0.0, "end": 2700.0, "n": 32, "suppressed": False,
    "metrics": {"students_present": 32, "hand_raises": 17, "hand_raise_rate": 0.012,
                "participation": 0.41, "standing": 0.6, "stand_events": 3, "head_up_rate": 0.71,
                "writing_rate": 0.12, "activity_index": 0.03,
                "teacher": {"zone_share": 0.8, "board_share": 0.1, "distance": 41.0},
                "audio": {"speech_ratio": 0.7, "silence_ratio": 0.2, "teacher_talk_ratio": 0.5,
                          "noise_dba": 55.0},
                "st": {"samples": "TTSST" * 18, "rt": 0.52, "ch": 0.21, "lesson_type": "mixed"}}}
SPEC_PE = {
    "type": "lesson", "mode": "pe", "start": 0.0, "end": 2700.0, "n": 28, "suppressed": False,
    "metrics": {"participants": 28, "exercise_density_group": 0.78, "exercise_density_mean": 0.66,
                "mvpa_fraction": 0.64,
                "activity": {"lying": 0.05, "sitting": 0.1, "standing": 0.21, "walking": 0.3,
                             "very_active": 0.34},
                "hr": {"mean_bpm": 141.0, "share_140_160": 0.44,
                       "zones": {"light": 0.2, "moderate": 0.4, "vigorous": 0.35, "near_max": 0.05},
                       "trimp_edwards": 96.0, "minutes_ge_120": 27.5},
                "reps": {"mat-1": {"exercise": "situp", "count": 31}},
                "alerts": [{"kind": "hr_high", "start": 812.0, "duration": 22.0},
                           {"kind": "hr_contact_lost", "start": 900.0, "duration": 15.0}]}}


@pytest.fixture(scope="module")
def replayed_db(tmp_path_factory) -> Path:
    """A store written by a real `edge replay` of a generated classroom scene."""
    folder = tmp_path_factory.mktemp("replayed")
    scene = write_classroom_scene(folder / "lesson.jsonl", seconds=120)
    db = folder / "edge.db"
    done = subprocess.run([*EDGE, "replay", str(scene), "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM windows").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 5
    with Store(db) as store:  # and a PE lesson, for the PE blocks (hr, reps, alerts)
        store.write_record(SPEC_PE)
    return db


def copy_of(db: Path, folder: Path) -> Path:
    target = folder / "planted.db"
    with sqlite3.connect(db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def update_json(conn: sqlite3.Connection, table: str, column: str, key_path: list[str], value) -> None:
    """Set ``value`` at ``key_path`` inside the JSON of ``column`` in every row of ``table`` that
    has the path's parent (the PE lesson has no ``st`` block)."""
    for rowid, text in conn.execute(f"SELECT rowid, {column} FROM {table}").fetchall():
        data = json.loads(text)
        node = data
        for key in key_path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        node[key_path[-1]] = value
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (json.dumps(data), rowid))


def real_jpeg(shared) -> bytes:
    image = cv2.imread(str(shared("media/skimage_astronaut.png")))
    return cv2.imencode(".jpg", image)[1].tobytes()


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(bytes(3200))
    return buffer.getvalue()


def set_json(conn: sqlite3.Connection, table: str, column: str, transform) -> None:
    """Replace the JSON text of ``column`` in every row of ``table`` by ``transform(text)``."""
    for rowid, text in conn.execute(f"SELECT rowid, {column} FROM {table}").fetchall():
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (transform(text), rowid))


def pe_outbox(conn: sqlite3.Connection, key_path: list[str], value) -> None:
    """Plant ``value`` into the PE lesson's outbox record (the last row)."""
    seq, text = conn.execute("SELECT seq, record FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
    data = json.loads(text)
    node = data
    for key in key_path[:-1]:
        node = node[key]
    node[key_path[-1]] = value
    conn.execute("UPDATE outbox SET record = ? WHERE seq = ?", (json.dumps(data), seq))


B64_JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHR8eHR"
SERIES = [132, 141, 150, 128, 139, 144, 151, 137, 133, 129, 140, 146]

# Planted per-person data: (what it does to a copy of a real store, where the audit must say).
# The first 18 are issue 13's list (13 of them passed the old heuristic audit).
PLANTS = {
    "dict of seats to counts": (
        lambda c, s: update_json(c, "windows", "metrics", ["raises_by_seat"], {"A1": 2, "B3": 0}),
        "windows.metrics $.raises_by_seat"),
    "heart rate keyed by a name": (
        lambda c, s: pe_outbox(c, ["metrics", "hr"], {"Zhang San": 131}),
        "outbox.record $.metrics.hr.Zhang San"),
    "CSV series in a string": (
        lambda c, s: update_json(c, "outbox", "record", ["metrics", "st", "samples"],
                                 ",".join(map(str, SERIES))),
        "outbox.record $.metrics.st.samples"),
    "learner_id key": (lambda c, s: update_json(c, "windows", "metrics", ["learner_id"], 17),
                       "windows.metrics $.learner_id"),
    "uid key": (lambda c, s: update_json(c, "outbox", "record", ["metrics", "teacher", "uid"], 3),
                "outbox.record $.metrics.teacher.uid"),
    "pid key": (lambda c, s: update_json(c, "lessons", "metrics", ["pid"], 4242),
                "lessons.metrics $.pid"),
    "event-shaped objects carrying a name": (
        lambda c, s: pe_outbox(c, ["metrics", "alerts"],
                               [{"kind": "hr_high", "start": 812.0, "name": "Li Wei"},
                                {"kind": "fall", "start": 900.0, "name": "Wang Fang"}]),
        "outbox.record $.metrics.alerts[*].name"),
    "base64 with a prefix": (
        lambda c, s: update_json(c, "outbox", "record", ["metrics", "st", "lesson_type"],
                                 "img:" + base64.b64encode(real_jpeg(s)).decode()),
        "outbox.record $.metrics.st.lesson_type"),
    "base64 in sqlite_sequence": (
        lambda c, s: c.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, 1)", (B64_JPEG,)),
        "sqlite_sequence"),
    "base64 in sqlite_stat1": (
        lambda c, s: (c.execute("ANALYZE"),
                      c.execute("INSERT INTO sqlite_stat1 VALUES ('windows', NULL, ?)", (B64_JPEG,))),
        "sqlite_stat1"),
    "extra column": (lambda c, s: c.execute("ALTER TABLE lessons ADD COLUMN notes TEXT"),
                     "lessons.notes"),
    "extra table": (lambda c, s: c.execute("CREATE TABLE roster (seat TEXT, student TEXT)"),
                    "table roster"),
    "JSON list in a string with a leading space": (
        lambda c, s: update_json(c, "windows", "metrics", ["activity_index"], " " + json.dumps(SERIES)),
        "windows.metrics $.activity_index"),
    "double-encoded JSON": (
        lambda c, s: set_json(c, "windows", "metrics", lambda text: json.dumps(
            json.dumps({**json.loads(text), "by_student": SERIES}))),
        "windows.metrics"),
    "small group not suppressed": (
        lambda c, s: c.execute("UPDATE windows SET n = 2"), "windows.suppressed"),
    "small group with a rate left": (
        lambda c, s: (c.execute("UPDATE windows SET n = 2, suppressed = 1"),),
        "windows.metrics $.activity_index"),
    "NaN in a record": (
        lambda c, s: set_json(c, "outbox", "record",
                              lambda text: text.replace('"students_present":12', '"students_present":NaN')),
        "outbox.record"),
    "nested face embedding": (
        lambda c, s: update_json(c, "outbox", "record", ["metrics", "teacher", "face_embedding"],
                                 [0.1] * 128),
        "outbox.record $.metrics.teacher.face_embedding"),
    # The old audit's own list.
    "track_id column": (lambda c, s: c.execute("ALTER TABLE windows ADD COLUMN track_id INTEGER"),
                        "windows.track_id"),
    "blob column with an image": (
        lambda c, s: (c.execute("CREATE TABLE snapshots (id INTEGER, data BLOB)"),
                      c.execute("INSERT INTO snapshots VALUES (1, ?)", (real_jpeg(s),))),
        "table snapshots"),
    "blob value in a record column": (
        lambda c, s: c.execute("UPDATE windows SET metrics = ?", (real_jpeg(s),)), "windows.metrics"),
    "base64 image in an outbox record": (
        lambda c, s: update_json(c, "outbox", "record", ["metrics", "preview"],
                                 base64.b64encode(real_jpeg(s)).decode()),
        "outbox.record $.metrics.preview"),
    "per-person numeric series": (
        lambda c, s: update_json(c, "windows", "metrics", ["hr_bpm_by_student"], SERIES),
        "windows.metrics $.hr_bpm_by_student"),
    "list of per-person objects": (
        lambda c, s: update_json(c, "outbox", "record", ["metrics", "students"],
                                 [{"hand_raises": 2, "head_up": 0.9}, {"hand_raises": 0, "head_up": 0.4}]),
        "outbox.record $.metrics.students"),
    "keypoints": (
        lambda c, s: update_json(c, "windows", "metrics", ["kp"], [[310.5, 200.1, 0.9]] * 17),
        "windows.metrics $.kp"),
    "per-band heart rate": (
        lambda c, s: pe_outbox(c, ["metrics", "hr"], {"band-3f2a": 132, "band-9c01": 141}),
        "outbox.record $.metrics.hr.band-3f2a"),
    "object keyed by track numbers": (
        lambda c, s: update_json(c, "windows", "metrics", ["raises"], {"3": 1, "7": 2, "12": 0}),
        "windows.metrics $.raises"),
    "raw audio in meta": (
        lambda c, s: c.execute("INSERT INTO meta VALUES ('last_clip', ?)",
                               (base64.b64encode(wav_bytes()).decode(),)),
        "meta.key"),
    "a count in meta holding text": (
        lambda c, s: c.execute("INSERT INTO meta VALUES ('sync.session', 'Zhang San')"),
        "meta.value [sync.session]"),
}
ISSUE_13_KINDS = list(PLANTS)[:18]


def audit(db: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["privacy", "audit", "--db", str(db), *extra])
    return code, capsys.readouterr().out


def test_real_replay_output_passes(replayed_db):
    done = subprocess.run([*EDGE, "privacy", "audit", "--db", str(replayed_db)], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok: 5 tables, 13 rows")


@pytest.mark.parametrize("plant", list(PLANTS))
def test_planted_personal_data_fails_the_audit(replayed_db, tmp_path, shared, capsys, plant):
    db = copy_of(replayed_db, tmp_path)
    action, expected_where = PLANTS[plant]
    with sqlite3.connect(db) as conn:
        action(conn, shared)
    code, out = audit(db, capsys)
    assert code == 1
    assert expected_where in out, out
    code, out = audit(db, capsys, "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert any(f["where"].startswith(expected_where) for f in report["findings"])


def test_json_report_on_a_clean_store(replayed_db, capsys):
    code, out = audit(replayed_db, capsys, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "tables": 5, "rows": 13, "findings": []}


@pytest.mark.parametrize("content", [None, b"", b"not a database at all" * 50])
def test_unreadable_database_exits_2(tmp_path, capsys, content):
    db = tmp_path / "x.db"
    if content is not None:
        db.write_bytes(content)
    code = main(["privacy", "audit", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "x.db" in err


def test_issue_13_list_is_complete():
    assert len(ISSUE_13_KINDS) == 18


@pytest.mark.parametrize("record", [SPEC_CLASSROOM, SPEC_PE], ids=["classroom", "pe"])
def test_spec_example_records_are_clean(record):
    validate_record(record, min_group=5)


def test_suppressed_record_with_nulls_is_clean():
    rates = {"hand_raise_rate", "participation", "standing", "head_up_rate", "writing_rate",
             "activity_index"}
    record = {**SPEC_CLASSROOM, "n": 3, "suppressed": True,
              "metrics": {k: None if k in rates else v for k, v in SPEC_CLASSROOM["metrics"].items()}}
    validate_record(record, min_group=5)
    with pytest.raises(RecordError, match=r"\$\.metrics\.head_up_rate: n=3 < min_group=5"):
        validate_record({**record, "metrics": {**record["metrics"], "head_up_rate": 0.7}}, 5)


def test_min_group_comes_from_the_config(replayed_db, tmp_path, capsys):
    """n = 12 is a small group on a device configured with min_group 20."""
    config = tmp_path / "edge.toml"
    config.write_text("[privacy]\nmin_group = 20\n")
    code, out = audit(replayed_db, capsys, "--config", str(config))
    assert code == 1 and "windows.suppressed" in out
