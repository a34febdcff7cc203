"""`edge calibrate camera|zones|field`: technician tools, run as a real subprocess each."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from edge.config import load_config

ROOT = Path(__file__).resolve().parents[1]
FLOOR = {"image": [[100, 500], [900, 500], [800, 200], [200, 200]],
         "world_m": [[0, 0], [20, 0], [20, 15], [0, 15]]}


def edge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli.main", "calibrate", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def config_file(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "edge.toml"
    path.write_text("# technician's notes stay\n[node]\nid = \"room-7\"\n" + text)
    return path


def json_file(tmp_path: Path, data: object, name: str = "in.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_camera_reports_resolution_fps_brightness_and_people(shared, tmp_path):
    video = shared("media/sports2d_demo.mp4")
    cfg = config_file(tmp_path, f'[cameras.front]\nsource = "{video}"\n'
                                "[runtime]\nintra_op_threads = 1\n[pose]\ntiles = 1\n")
    done = edge("camera", "--config", str(cfg), "--frames", "5")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("front: 1768x994, ") and "mean luma" in line
    people = int(re.search(r"(\d+) people found", line)[1])
    assert 1 <= people <= 2  # two adults, the one on the box sometimes missed at one pass


def test_camera_that_gives_no_frame_fails(tmp_path):
    cfg = config_file(tmp_path, f'[cameras.front]\nsource = "{tmp_path / "gone.mp4"}"\n')
    done = edge("camera", "--config", str(cfg), "--frames", "2")
    assert done.returncode == 1 and "front" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_zones_set_saves_into_the_config_and_keeps_the_rest(tmp_path):
    cfg = config_file(tmp_path)
    zones = {"teacher": [[0, 0], [400, 0], [400, 300], [0, 300]],
             "stations": {"mat-1": {"exercise": "situp", "polygon": [[0, 0], [9, 0], [9, 9]]}}}
    done = edge("zones", "--config", str(cfg), "--set", str(json_file(tmp_path, zones)))
    assert done.returncode == 0, done.stderr
    loaded = load_config(cfg, env={})
    assert loaded.zones.teacher[2] == (400, 300) and loaded.node.id == "room-7"
    assert loaded.zones.stations["mat-1"].exercise == "situp"
    assert cfg.read_text().startswith("# technician's notes stay")
    shown = edge("zones", "--config", str(cfg))
    assert json.loads(shown.stdout)["teacher"] == zones["teacher"]


def test_zones_bad_input_is_one_line_and_changes_nothing(tmp_path):
    cfg = config_file(tmp_path)
    before = cfg.read_text()
    bad_polygon = json_file(tmp_path, {"board": [[0, 0], [1, 1]]})
    done = edge("zones", "--config", str(cfg), "--set", str(bad_polygon))
    assert done.returncode == 2 and "board" in done.stderr and "at least 3 points" in done.stderr
    broken = json_file(tmp_path, '{"teacher": [[0, 0],\n  [1, 1', "broken.json")
    done = edge("zones", "--config", str(cfg), "--set", str(broken))
    assert done.returncode == 2 and f"{broken}:2: malformed JSON" in done.stderr
    done = edge("zones", "--set", str(bad_polygon))
    assert done.returncode == 2 and "--set needs --config" in done.stderr
    assert cfg.read_text() == before


def test_field_set_saves_the_floor_and_shows_its_scale(tmp_path):
    cfg = config_file(tmp_path, "[zones]\nboard = [[0, 0], [5, 0], [5, 5]]\n")
    done = edge("field", "--config", str(cfg), "--set", str(json_file(tmp_path, FLOOR)))
    assert done.returncode == 0, done.stderr
    floor = load_config(cfg, env={}).zones
    assert floor.floor.world_m[1] == (20, 0) and floor.board is not None  # other zones kept
    scale = float(re.search(r"([\d.]+) cm per pixel", done.stdout)[1])
    assert 1.0 < scale < 10.0  # 20 m over 600-800 px of floor
    shown = edge("field", "--config", str(cfg))
    assert "(900, 500) px -> floor (20.00, 0.00) m" in shown.stdout


def test_field_rejects_points_that_span_no_plane(tmp_path):
    cfg = config_file(tmp_path)
    before = cfg.read_text()
    flat = {"image": [[0, 0], [1, 1], [2, 2], [3, 3]], "world_m": FLOOR["world_m"]}
    done = edge("field", "--config", str(cfg), "--set", str(json_file(tmp_path, flat)))
    assert done.returncode == 2 and "do not define a plane" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and cfg.read_text() == before
    assert "no floor calibration" in edge("field", "--config", str(cfg)).stdout
