"""The teacher's page served by the real daemon (`edge run` on the demo class scene), in Chromium.

The other browser tests drive the page from an in-process player; this one runs the daemon as
installers and teachers do: the page loads with the lesson running, shows numbers, receives a
new window without a reload, switches language by its button, and logs no console errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from web_fixtures import Browser

from tests.daemon_process import SCENE, TOKEN, Daemon, daemon_config
from tests.ports import free_port

SCREENSHOTS = Path("/tmp/classroom-edge-screenshots")


def test_demo_daemon_page_live_in_chromium(tmp_path):
    port = free_port()
    config = daemon_config(tmp_path, f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n', port)
    daemon = Daemon(config, port)
    browser = Browser(tmp_path / "profile")
    try:
        daemon.wait_for(lambda: daemon.http.get("/api/live", headers=daemon.auth).json()["windows"],
                        20, "a first window")
        browser.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        browser.wait_for("document.querySelectorAll('#windows li').length >= 1", 15)
        present = browser.evaluate("document.querySelector('#card-present .value').textContent")
        assert present == "25"  # the demo class: 25 students, the teacher not counted
        raises = browser.evaluate("document.querySelector('#card-hands .value').textContent")
        assert raises.isdigit()

        # The daemon closes a window every 5 s: it reaches the open page with no reload.
        seen = browser.evaluate("document.querySelectorAll('#windows li').length")
        browser.evaluate("window.__marker = 1")
        browser.wait_for(f"document.querySelectorAll('#windows li').length > {seen}", 5.0 + 2.0)
        assert browser.evaluate("window.__marker") == 1

        # The language button, as a teacher presses it (the default follows the browser: en).
        before = browser.evaluate("document.querySelector('h1').textContent")
        browser.evaluate("document.getElementById('lang').click()")
        browser.wait_for(f"document.querySelector('h1').textContent !== {before!r}", 5)
        after = browser.evaluate("document.querySelector('h1').textContent")
        assert {before, after} == {"Live lesson", "课堂实时数据"}

        shot = browser.screenshot(tmp_path / "demo_page.png")
        assert shot.stat().st_size > 30_000
        SCREENSHOTS.mkdir(exist_ok=True)  # kept for a human to look at; it shows no image
        shutil.copy(shot, SCREENSHOTS / "demo_page.png")
        assert browser.console_errors() == []
        code, _ = daemon.terminate()
        assert code == 0
    finally:
        browser.close()
        daemon.kill()
