"""Property-based run of the web API's OpenAPI document: no request makes the app answer 500."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from scenegen import classroom_scene
from web_fixtures import ScenePlayer

from edge.config import EdgeConfig, load_config
from edge.lesson.live import LiveState
from edge.store import Store
from edge.web import create_app
from edge.web.auth import Tokens

TOKENS = Tokens(teacher="teacher-token-0123456789", technician="technician-token-0123456789")
AUTH = {"Authorization": f"Bearer {TOKENS.technician}"}  # the role that may call every route


def _app(tmp_path: Path, astronaut: Path):
    config_path = tmp_path / "edge.toml"
    config_path.write_text(f'[node]\nstate_dir = "{tmp_path}"\n')
    config = load_config(config_path, env={})
    live = LiveState("classroom")
    player = ScenePlayer(config, live, tmp_path / "edge.db", classroom_scene("TTSS"))
    player.start_lesson()
    player.advance_to(120.0)
    player.end_lesson()
    image = cv2.resize(cv2.imread(str(astronaut)), (128, 128))  # small: many requests

    def snapshot(camera: str):
        if camera != "front":
            raise KeyError(camera)
        return image

    with Store(tmp_path / "edge.db") as store:
        return create_app(config, live, store, player, snapshot_provider=snapshot,
                          config_path=config_path, tokens=TOKENS)


# The document only depends on the routes, so an app without data describes it.
schema = schemathesis.openapi.from_dict(
    create_app(EdgeConfig(), LiveState(), None, None, tokens=TOKENS).openapi())


@pytest.fixture
def app(tmp_path, shared):
    """Built once per API operation (Hypothesis runs every example of one in the same app)."""
    return _app(tmp_path, shared("media/skimage_astronaut.png"))


@schema.exclude(path="/api/events").parametrize()  # an endless stream; covered by the browser test
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, app):
    response = case.call(app=app, headers=AUTH)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text)
