"""The teacher's page in real headless Chromium: numbers, live windows, language switch."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from scenegen import classroom_scene
from web_fixtures import Browser, ScenePlayer, serve

from edge.config import EdgeConfig
from edge.lesson.live import LiveState
from edge.web import create_app
from edge.web.auth import Tokens

TOKENS = Tokens(teacher="teacher-token-0123456789", technician="technician-token-0123456789")


@pytest.fixture
def page(tmp_path: Path):
    config = EdgeConfig.model_validate({"node": {"state_dir": str(tmp_path)}})
    live = LiveState("classroom")
    store_path = tmp_path / "edge.db"
    player = ScenePlayer(config, live, store_path, classroom_scene("TTTSSTTBSSQQ"))
    app = create_app(config, live, None, player, tokens=TOKENS)
    browser = Browser(tmp_path / "profile")
    try:
        with serve(app, live) as base:
            yield browser, base, player, live
    finally:
        browser.close()


def _png_is_rich(path: Path) -> None:
    import cv2

    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] >= 600 and image.shape[1] >= 1000
    assert path.stat().st_size > 30_000
    assert float(np.std(image)) > 20  # not a blank page


def test_live_page_updates_switches_language_and_has_no_console_errors(page, tmp_path):
    browser, base, player, _live = page
    player.start_lesson()
    player.advance_to(151.0)  # five windows closed before the page opens
    browser.goto(f"{base}/?token={TOKENS.teacher}")
    browser.wait_for("document.querySelectorAll('#windows li').length === 5", 15)
    assert browser.evaluate("location.search") == ""  # the token left the address bar

    present = browser.evaluate("document.querySelector('#card-present .value').textContent")
    assert present.isdigit() and int(present) >= 5
    head_up = browser.evaluate("document.querySelector('#card-headup .value').textContent")
    assert head_up.endswith("%") and 0 < int(head_up[:-1]) <= 100
    assert browser.evaluate("document.querySelectorAll('#timeline circle').length") == 5
    assert browser.evaluate("document.querySelector('#st-curve path').getAttribute('d').length") > 20

    # A window closing in a pipeline thread reaches the open page within 2 s, without reload.
    browser.evaluate("window.__marker = 1")
    feeder = threading.Thread(target=player.advance_to, args=(181.0,))
    feeder.start()
    feeder.join(10)
    waited = browser.wait_for("document.querySelectorAll('#windows li').length === 6", 2.0)
    assert waited <= 2.0
    assert browser.evaluate("window.__marker") == 1  # same document: no reload

    # Language switch: visible text changes and the choice survives a reload.
    browser.evaluate("localStorage.setItem('edge.lang', 'zh'); I18N.load('zh').then(render)")
    browser.wait_for("document.querySelector('h1').textContent === '课堂实时数据'", 5)
    browser.evaluate("document.getElementById('lang').click()")
    browser.wait_for("document.querySelector('h1').textContent === 'Live lesson'", 5)
    assert browser.evaluate("document.querySelector('#card-present .label').textContent") == "Present"
    browser.goto(f"{base}/")
    browser.wait_for("document.querySelectorAll('#windows li').length === 6", 15)
    assert browser.evaluate("document.querySelector('h1').textContent") == "Live lesson"

    _png_is_rich(browser.screenshot(tmp_path / "live_classroom_en.png"))
    browser.evaluate("document.getElementById('lang').click()")
    browser.wait_for("document.querySelector('h1').textContent === '课堂实时数据'", 5)
    _png_is_rich(browser.screenshot(tmp_path / "live_classroom_zh.png"))

    # Ending the lesson shows the lesson record's S-T classification.
    browser.evaluate("document.getElementById('end').click()")
    browser.wait_for("document.getElementById('start').disabled === false", 5)
    assert "Rt" in browser.evaluate("document.getElementById('st-summary').textContent")
    assert browser.console_errors() == []


def test_pe_view_shows_density_and_heart_rate_zones(page, tmp_path):
    browser, base, _player, live = page
    live.set_mode("pe")
    live.start_lesson(start=0.0)
    rng = np.random.default_rng(3)
    for i in range(6):
        zones = rng.dirichlet([2, 3, 3, 1])
        live.add_window({
            "type": "window", "mode": "pe", "start": 30.0 * i, "end": 30.0 * (i + 1), "n": 24,
            "suppressed": False,
            "metrics": {"participants": 24, "exercise_density_group": 0.5 + 0.07 * i,
                        "exercise_density_mean": 0.55, "hr": {
                            "mean_bpm": 120 + 5 * i, "share_140_160": 0.3,
                            "zones": dict(zip(("light", "moderate", "vigorous", "near_max"),
                                              map(float, zones)))},
                        "reps": {}, "alerts": []},
        })
    browser.goto(f"{base}/?token={TOKENS.technician}")  # the technician may see the page too
    browser.wait_for("document.querySelectorAll('#windows li').length === 6", 15)
    assert browser.evaluate("document.getElementById('st-panel').hidden") is True
    assert browser.evaluate("document.querySelectorAll('#hr-zones .stacked span').length") == 4
    density = browser.evaluate("document.querySelector('#card-density .value').textContent")
    assert density.endswith("%") and 50 <= int(density[:-1]) <= 90
    assert browser.evaluate("document.querySelector('#card-hr .value').textContent") == "145"
    _png_is_rich(browser.screenshot(tmp_path / "live_pe.png"))
    assert browser.console_errors() == []
