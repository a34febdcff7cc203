"""The web API with real parts: tokens, cookies, a Store filled by a real LessonSession, the
face-blurred snapshot, zones saved into the config file."""

from __future__ import annotations

import json
import stat
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from scenegen import classroom_scene
from web_fixtures import ScenePlayer

from edge.config import EdgeConfig, load_config
from edge.lesson.live import LiveState
from edge.web import create_app
from edge.web.auth import Tokens, client_allowed, ensure_tokens
from sync.contract import validator

TOKENS = Tokens(teacher="teacher-token-0123456789", technician="technician-token-0123456789")
TEACHER = {"Authorization": f"Bearer {TOKENS.teacher}"}
TECH = {"Authorization": f"Bearer {TOKENS.technician}"}
CONFIG_TEXT = '# room config\n[node]\nroom = "r101"  # kept\nstate_dir = "{dir}"\n\n[cameras.front]\nsource = "{dir}/x.mp4"\n'


@pytest.fixture
def setup(tmp_path: Path, shared):
    config_path = tmp_path / "edge.toml"
    config_path.write_text(CONFIG_TEXT.format(dir=tmp_path))
    config = load_config(config_path, env={})
    live = LiveState("classroom")
    player = ScenePlayer(config, live, tmp_path / "edge.db", classroom_scene("TTSSTT"))
    astronaut = cv2.imread(str(shared("media/skimage_astronaut.png")))

    def snapshot(camera: str) -> np.ndarray:
        if camera != "front":
            raise KeyError(camera)
        return astronaut

    from edge.store import Store
    with Store(tmp_path / "edge.db") as store:
        app = create_app(config, live, store, player, snapshot_provider=snapshot,
                         config_path=config_path, tokens=TOKENS)
    with TestClient(app, client=("192.168.1.20", 50000)) as client:
        yield client, player, live, config_path, astronaut, tmp_path


def test_health_fails_with_the_reason_while_a_part_fails(setup):
    client, live = setup[0], setup[2]
    live.set_problem("store", "attempt to write a readonly database")
    failing = client.get("/api/health")
    assert failing.status_code == 503
    assert failing.json()["problems"] == ["store: attempt to write a readonly database"]
    live.set_problem("store", None)
    assert client.get("/api/health").status_code == 200


def test_health_is_open_and_everything_else_needs_a_token(setup):
    client = setup[0]
    assert client.get("/api/health").json() == {"status": "ok", "problems": [], "cameras": {},
                                                "feeds": {}}
    for path in ("/api/live", "/api/lessons", "/metrics", "/docs", "/openapi.json",
                 "/static/app.js", "/api/calibration/zones"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-000000"}).status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/live", headers=TEACHER).status_code == 200
    assert client.get("/docs", headers=TEACHER).status_code == 200
    assert client.get("/docs/assets/swagger-ui-bundle.js", headers=TEACHER).status_code == 200
    assert client.get("/static/../auth.py", headers=TEACHER).status_code == 404


def test_technician_endpoints_refuse_the_teacher_token(setup):
    client = setup[0]
    for method, path in (("get", "/api/calibration/zones"), ("get", "/api/calibration/cameras"),
                         ("get", "/api/calibration/snapshot?camera=front"),
                         ("put", "/api/calibration/zones")):
        assert client.request(method, path, headers=TEACHER, json={}).status_code == 403, path
    assert client.get("/api/calibration/cameras", headers=TECH).json() == ["front"]
    assert client.get("/api/live", headers=TECH).status_code == 200  # technician sees the page too


def test_cookie_login_with_token_in_the_url(setup):
    client = setup[0]
    response = client.get(f"/?token={TOKENS.teacher}", follow_redirects=False)
    # no redirect (it would keep ?token= in the history): the page rewrites its own entry
    assert response.status_code == 200 and 'history.replaceState(null, "", "/")' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert TOKENS.teacher not in response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert TOKENS.teacher not in cookie  # a derived value, not the token itself
    assert client.get("/").status_code == 200
    assert client.get("/api/live").status_code == 200  # the cookie now authenticates the API
    assert client.get("/calibration").status_code == 403  # teacher cookie is no technician
    client.get(f"/calibration?token={TOKENS.technician}")
    assert client.get("/calibration").status_code == 200
    client.cookies.clear()
    assert client.get("/?token=not-a-token-at-all").status_code == 401


def test_lan_only_refuses_public_clients(tmp_path):
    assert client_allowed("192.168.3.4") and client_allowed("127.0.0.1") and client_allowed("fe80::1")
    assert client_allowed("::ffff:10.0.0.7")
    assert not client_allowed("8.8.8.8") and not client_allowed("testclient")
    config = EdgeConfig.model_validate({"node": {"state_dir": str(tmp_path)}})
    app = create_app(config, LiveState(), None, None, tokens=TOKENS)
    with TestClient(app, client=("8.8.8.8", 1)) as client:
        assert client.get("/api/live", headers=TEACHER).status_code == 403
        assert client.get("/api/health").status_code == 200


def test_tokens_are_generated_once_private_and_reused(tmp_path):
    config = EdgeConfig.model_validate({"node": {"state_dir": str(tmp_path / "state")}})
    first = ensure_tokens(config)
    path = tmp_path / "state" / "web_tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.teacher) >= 24 and first.teacher != first.technician
    assert ensure_tokens(config) == first
    configured = config.model_copy(update={"web": config.web.model_copy(update={"token": "t" * 20})})
    assert ensure_tokens(configured).teacher == "t" * 20
    assert json.loads(path.read_text())["teacher"] == first.teacher


def test_live_and_lessons_follow_a_real_lesson(setup):
    client, player, _live, *_ = setup
    assert client.post("/api/lesson/end", headers=TEACHER).status_code == 409
    started = client.post("/api/lesson/start", headers=TEACHER)
    assert started.status_code == 200 and started.json()["running"] is True
    assert client.post("/api/lesson/start", headers=TEACHER).status_code == 409
    player.advance_to(95.0)
    body = client.get("/api/live", headers=TEACHER).json()
    assert set(body) >= {"mode", "lesson", "metrics", "windows"}
    assert body["mode"] == "classroom" and body["lesson"]["running"] is True
    assert len(body["windows"]) == 3
    assert body["metrics"] == body["windows"][-1]["metrics"]
    assert body["metrics"]["students_present"] >= 20
    assert client.post("/api/lesson/end", headers=TEACHER).json()["running"] is False

    lessons = client.get("/api/lessons", headers=TEACHER).json()
    assert len(lessons) == 1 and lessons[0]["type"] == "lesson"
    detail = client.get(f"/api/lessons/{lessons[0]['id']}", headers=TEACHER).json()
    assert detail["lesson"]["metrics"]["st"]["samples"] == player.scene.truth.st_codes[:3]
    assert len(detail["windows"]) == 4  # three full windows and the partial last one
    assert client.get("/api/lessons/999", headers=TEACHER).status_code == 404
    assert client.get("/api/live", headers=TEACHER).json()["lesson_record"]["type"] == "lesson"


def test_lesson_export_as_csv_and_json_and_the_report_pages(setup):
    import csv
    import io

    client, player, *_ = setup
    client.post("/api/lesson/start", headers=TEACHER)
    player.advance_to(95.0)
    client.post("/api/lesson/end", headers=TEACHER)
    lesson_id = client.get("/api/lessons", headers=TEACHER).json()[0]["id"]
    detail = client.get(f"/api/lessons/{lesson_id}", headers=TEACHER).json()

    got = client.get(f"/api/lessons/{lesson_id}/export?format=json", headers=TEACHER)
    assert got.headers["content-disposition"] == f'attachment; filename="lesson-{lesson_id}.json"'
    assert got.json() == detail
    got = client.get(f"/api/lessons/{lesson_id}/export", headers=TEACHER)  # CSV by default
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text.lstrip("\ufeff"))))
    assert [r["type"] for r in rows] == ["window"] * 4 + ["lesson"]
    lesson = rows[-1]
    assert float(lesson["head_up_rate"]) == pytest.approx(detail["lesson"]["metrics"]["head_up_rate"])
    assert lesson["st.samples"] == detail["lesson"]["metrics"]["st"]["samples"]  # nested: dotted
    assert int(lesson["qa.exchanges"]) == detail["lesson"]["metrics"]["qa"]["exchanges"]
    assert client.get("/api/lessons/999/export", headers=TEACHER).status_code == 404
    assert client.get(f"/api/lessons/{lesson_id}/export?format=xls", headers=TEACHER).status_code == 422
    assert client.get(f"/api/lessons/{lesson_id}/export").status_code == 401

    # The pages: the shell with the page's script, behind the same login as the live page.
    pages = ((f"/lessons/{lesson_id}", "report"), ("/lessons", "lessons"), ("/glossary", "glossary"))
    assert [client.get(path).status_code for path, _ in pages] == [401] * 3
    for path, script in pages:
        assert client.get(f"{path}?token={TOKENS.teacher}").status_code == 200  # logs in
        page = client.get(path)
        assert page.status_code == 200 and f'src="/static/{script}.js"' in page.text
        assert "{{" not in page.text


def test_metrics_export_edge_counters(setup):
    client, player, live, *_ = setup
    live.update_camera("front", state="streaming", fps_analysed=2.5, fps_skipped=22.5,
                       inference_ms=310.0, reconnects=3, failures=5, frames=1200)
    live.set_outbox_depth(7)
    player.start_lesson()
    player.advance_to(65.0)
    text = client.get("/metrics", headers=TEACHER).text
    assert 'edge_fps_analysed{camera="front"} 2.5' in text
    assert 'edge_fps_skipped{camera="front"} 22.5' in text
    assert 'edge_inference_ms{camera="front"} 310.0' in text
    assert 'edge_camera_state{camera="front",state="streaming"} 1.0' in text
    assert 'edge_camera_state{camera="front",state="stalled"} 0.0' in text
    assert "edge_outbox_depth 7.0" in text and "edge_windows_written_total 2.0" in text
    assert 'edge_camera_reconnects_total{camera="front"} 3.0' in text
    assert 'edge_camera_failures_total{camera="front"} 5.0' in text
    assert 'edge_camera_frames_total{camera="front"} 1200.0' in text
    assert "edge_log_suppressed_total 0.0" in text
    assert client.get("/api/health").json()["cameras"] == {"front": "streaming"}
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
    assert names and all(n.startswith("edge_") for n in names)


def test_a_station_loop_shows_its_fps_on_metrics_health_and_the_mqtt_health_record(setup):
    client, _, live, *_ = setup
    live.update_feed("station:gym", state="running", samples=450, failures=0, fps=15.2)
    text = client.get("/metrics", headers=TEACHER).text
    assert 'edge_feed_fps{feed="station:gym"} 15.2' in text
    assert 'edge_feed_samples_total{feed="station:gym"} 450.0' in text
    assert client.get("/api/health").json()["feeds"] == {"station:gym": "running"}
    payload = {"schema": "cls.health/v1", "ts": 1.0, "session": 1, "outbox": {},
               "feeds": live.feed_status()}
    assert payload["feeds"]["station:gym"]["fps"] == 15.2
    assert not list(validator("health").iter_errors(payload))  # what the publisher sends


def _laplacian_var(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x1, y1, x2, y2 = box
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _listing(*dirs: Path) -> set[tuple[str, int]]:
    return {(str(p), p.stat().st_mtime_ns) for d in dirs for p in d.rglob("*") if p.is_file()}


def test_snapshot_blurs_the_face_and_writes_nothing(setup, monkeypatch):
    client, _player, _live, _cfg, astronaut, tmp_path = setup
    # Relative paths and temporary files would land in these empty folders.
    work, temp = tmp_path / "cwd", tmp_path / "tmpdir"
    work.mkdir(), temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    before = _listing(tmp_path)
    response = client.get("/api/calibration/snapshot?camera=front", headers=TECH)
    after = _listing(tmp_path)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    jpeg = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert jpeg.shape == astronaut.shape
    h, w = astronaut.shape[:2]
    cx, cy = int(0.44 * w), int(0.25 * h)
    face = (cx - w // 12, cy - h // 12, cx + w // 12, cy + h // 12)
    assert _laplacian_var(jpeg, face) < 0.1 * _laplacian_var(astronaut, face)
    corner = (int(0.8 * w), int(0.8 * h), w - 1, h - 1)  # away from the face: detail kept
    assert _laplacian_var(jpeg, corner) > 0.5 * _laplacian_var(astronaut, corner)
    assert after == before
    assert client.get("/api/calibration/snapshot?camera=back", headers=TECH).status_code == 404


def test_zones_are_validated_saved_to_the_config_and_reloaded(setup):
    client, _player, _live, config_path, *_ = setup
    bad = {"teacher": [[0, 0], [10, 0]]}
    assert client.put("/api/calibration/zones", headers=TECH, json=bad).status_code == 422
    assert client.put("/api/calibration/zones", headers=TECH,
                      json={"stations": {"m1": {"exercise": "flying", "polygon": [[0, 0], [1, 0], [1, 1]]}}}
                      ).status_code == 422
    assert config_path.read_text().startswith("# room config")  # untouched by the refusals
    zones = {"teacher": [[0, 900], [1920, 900], [1920, 1080]],
             "board": [[0, 900], [600, 900], [600, 1080], [0, 1080]],
             "stations": {"mat-1": {"exercise": "situp", "polygon": [[100, 100], [300, 100], [300, 250]]}},
             "floor": {"image": [[0, 1000], [1900, 1000], [1700, 800], [200, 800]],
                       "world_m": [[0, 0], [9, 0], [9, 6], [0, 6]]}}
    saved = client.put("/api/calibration/zones", headers=TECH, json=zones)
    assert saved.status_code == 200
    text = config_path.read_text()
    assert "# room config" in text and 'room = "r101"  # kept' in text
    reloaded = load_config(config_path, env={})
    assert reloaded.zones.stations["mat-1"].exercise == "situp"
    assert reloaded.zones.floor.world_m[2] == (9.0, 6.0)
    assert reloaded.node.room == "r101"
    assert client.get("/api/calibration/zones", headers=TECH).json()["board"][1] == [600.0, 900.0]
