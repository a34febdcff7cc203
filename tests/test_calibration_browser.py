"""The technician's calibration page in real headless Chromium: zones drawn with real mouse
clicks on the face-blurred snapshot are saved into the config file at the clicked pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from web_fixtures import Browser, serve

from edge.config import load_config
from edge.lesson.live import LiveState
from edge.web import create_app
from edge.web.auth import Tokens

TOKENS = Tokens(teacher="teacher-token-0123456789", technician="technician-token-0123456789")
CONFIG_TEXT = '# room config\n[node]\nroom = "r101"\nstate_dir = "{dir}"\n\n[cameras.front]\nsource = "{dir}/x.mp4"\n'

# Where the technician clicks, as fractions of the shown image (x, y).
TEACHER = [(0.05, 0.05), (0.45, 0.05), (0.45, 0.30), (0.05, 0.30)]
STATION = [(0.58, 0.08), (0.95, 0.08), (0.95, 0.40), (0.58, 0.40)]
FLOOR = [(0.10, 0.95), (0.90, 0.95), (0.75, 0.70), (0.25, 0.70)]
FLOOR_M = [(0, 0), (6, 0), (6, 4), (0, 4)]


@pytest.fixture
def calibration(tmp_path: Path, shared):
    config_path = tmp_path / "edge.toml"
    config_path.write_text(CONFIG_TEXT.format(dir=tmp_path))
    config = load_config(config_path, env={})
    astronaut = cv2.imread(str(shared("media/skimage_astronaut.png")))

    def snapshot(camera: str) -> np.ndarray:
        if camera != "front":
            raise KeyError(camera)
        return astronaut

    live = LiveState("classroom")
    app = create_app(config, live, None, None, snapshot_provider=snapshot,
                     config_path=config_path, tokens=TOKENS)
    browser = Browser(tmp_path / "profile", width=1280, height=1100)
    try:
        with serve(app, live) as base:
            yield browser, base, config_path, astronaut.shape
    finally:
        browser.close()


def _click(browser: Browser, x: float, y: float) -> None:
    """A real left click at viewport coordinates (CSS pixels), as a mouse would make it."""
    browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    for kind in ("mousePressed", "mouseReleased"):
        browser.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def _click_element(browser: Browser, selector: str) -> None:
    box = browser.evaluate(f"(r => [r.x, r.y, r.width, r.height])"
                           f"(document.querySelector({selector!r}).getBoundingClientRect())")
    assert box[2] > 0 and box[3] > 0, f"{selector} is not visible"
    _click(browser, box[0] + box[2] / 2, box[1] + box[3] / 2)


def _type_into(browser: Browser, selector: str, text: str) -> None:
    """Click a text field, select its content and type ``text`` over it."""
    _click_element(browser, selector)
    browser.evaluate(f"document.querySelector({selector!r}).select()")
    browser.send("Input.insertText", text=text)


def _choose(browser: Browser, select_id: str, value: str) -> None:
    # A native <select> popup cannot be clicked in headless mode: set it as the keyboard would.
    browser.evaluate(f"(s => {{ s.value = {value!r}; s.dispatchEvent(new Event('change')); }})"
                     f"(document.getElementById({select_id!r}))")


def _draw(browser: Browser, image_box: list[float], fractions: list[tuple[float, float]],
          natural: tuple[int, int]) -> list[tuple[float, float]]:
    """Click each point on the image and press Finish; returns the points in image pixels."""
    left, top, width, height = image_box
    expected = []
    for fx, fy in fractions:
        x, y = left + fx * width, top + fy * height
        _click(browser, x, y)
        expected.append(((x - left) * natural[0] / width, (y - top) * natural[1] / height))
    _click_element(browser, "#finish")
    return expected


def _near(saved: list[tuple[float, float]], expected: list[tuple[float, float]], tol: float = 2.0) -> None:
    assert len(saved) == len(expected)
    assert np.abs(np.array(saved) - np.array(expected)).max() <= tol, (saved, expected)


def test_technician_draws_zones_with_the_mouse_and_saves_them(calibration, tmp_path):
    browser, base, config_path, (height, width, _) = calibration
    browser.goto(f"{base}/calibration?token={TOKENS.technician}")
    browser.wait_for("(i => i && i.complete && i.naturalWidth > 0)(document.getElementById('snapshot'))", 15)
    assert browser.evaluate("location.search") == ""  # the token left the address bar
    natural = tuple(browser.evaluate("(i => [i.naturalWidth, i.naturalHeight])(document.getElementById('snapshot'))"))
    assert natural == (width, height)
    image_box = browser.evaluate("(r => [r.x, r.y, r.width, r.height])"
                                 "(document.getElementById('snapshot').getBoundingClientRect())")
    overlay_box = browser.evaluate("(r => [r.x, r.y, r.width, r.height])"
                                   "(document.getElementById('overlay').getBoundingClientRect())")
    # The drawing layer lies exactly on the image, so shapes appear where they were clicked.
    assert np.abs(np.array(image_box) - np.array(overlay_box)).max() < 1.0, (image_box, overlay_box)
    assert image_box[1] + image_box[3] <= 1100, "the image must fit the viewport to be clicked"

    teacher = _draw(browser, image_box, TEACHER, natural)

    _choose(browser, "tool", "station")
    assert browser.evaluate("document.getElementById('station-fields').hidden") is False
    _type_into(browser, "#station-name", "rope-corner")
    _choose(browser, "exercise", "rope_skip")
    station = _draw(browser, image_box, STATION, natural)

    _choose(browser, "tool", "floor")
    floor = _draw(browser, image_box, FLOOR, natural)
    assert browser.evaluate("document.getElementById('floor-table').hidden") is False
    for i, (x_m, y_m) in enumerate(FLOOR_M):
        _type_into(browser, f'#floor-table input[data-i="{i}"][data-c="0"]', str(x_m))
        _type_into(browser, f'#floor-table input[data-i="{i}"][data-c="1"]', str(y_m))
    assert browser.evaluate("document.querySelectorAll('#zone-list li').length") == 3
    assert browser.evaluate("document.querySelectorAll('#overlay polygon').length") == 2
    assert browser.evaluate("document.querySelectorAll('#overlay circle').length") == 4
    # Every label is readable: inside the image, and of one on-screen size.
    labels = browser.evaluate("[...document.querySelectorAll('#overlay text')].map(t => (r => "
                              "[t.textContent, r.left, r.top, r.right, r.bottom, r.height])"
                              "(t.getBoundingClientRect()))")
    assert "rope-corner (rope_skip)" in [label[0] for label in labels]
    left, top, right, bottom = image_box[0], image_box[1], image_box[0] + image_box[2], image_box[1] + image_box[3]
    for text, x0, y0, x1, y1, h in labels:
        assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom, f"label {text!r} is cut off"
        assert 14 <= h <= 32, f"label {text!r} is {h} px high"

    _click_element(browser, "#save")  # also commits the last metre field (change on blur)
    browser.wait_for("document.getElementById('message').textContent.startsWith('Saved')", 10)
    assert browser.evaluate("document.getElementById('message').classList.contains('error')") is False

    zones = load_config(config_path, env={}).zones
    _near(zones.teacher, teacher)
    assert zones.board is None
    assert list(zones.stations) == ["rope-corner"]
    assert zones.stations["rope-corner"].exercise == "rope_skip"
    _near(zones.stations["rope-corner"].polygon, station)
    _near(zones.floor.image, floor)
    assert zones.floor.world_m == [(float(x), float(y)) for x, y in FLOOR_M]
    assert config_path.read_text().startswith("# room config")

    shot = cv2.imread(str(browser.screenshot(tmp_path / "calibration.png")))
    assert shot is not None and shot.shape[:2] == (1100, 1280) and float(np.std(shot)) > 20
    assert browser.console_errors() == []


def test_station_names_are_shown_as_text_not_markup(calibration):
    browser, base, config_path, _shape = calibration
    hostile = '<img src=x onerror="window.__pwned=1">'
    polygon = [[10, 10], [90, 10], [90, 90]]
    auth = {"Authorization": f"Bearer {TOKENS.technician}"}
    # Station names go into every PE record: a short name pattern (issue 13), so markup is
    # refused at the door, and a valid name is still shown as text.
    refused = httpx.put(f"{base}/api/calibration/zones", headers=auth,
                        json={"stations": {hostile: {"exercise": "squat", "polygon": polygon}}})
    assert refused.status_code == 422 and "string_pattern_mismatch" in refused.text
    saved = httpx.put(f"{base}/api/calibration/zones", headers=auth,
                      json={"stations": {"mat-1.b_2": {"exercise": "squat", "polygon": polygon}}})
    assert saved.status_code == 200, saved.text
    browser.goto(f"{base}/calibration?token={TOKENS.technician}")
    browser.wait_for("document.querySelectorAll('#zone-list li').length >= 1", 10)
    listed = browser.evaluate("document.getElementById('zone-list').textContent")
    assert "mat-1.b_2" in listed and hostile not in listed
    assert browser.evaluate("document.querySelectorAll('#zone-list img, #overlay img').length") == 0
    assert browser.evaluate("window.__pwned === undefined")
