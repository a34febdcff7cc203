"""The teacher's pages served by the real daemon (`edge run` on the demo class scene), in Chromium.

The other browser tests drive the page from an in-process player; these run the daemon as
installers and teachers do: the live page loads with the lesson running, labels every number
with its time base, stays legible at phone width, keeps the language chosen with ``?lang=``;
the ended lesson's report prints to PDF with its charts; the calibration page opens on the camera
that has a picture. Screenshots go to /tmp/classroom-edge-screenshots for a human to look at
(outside the repository; they show no image of anyone).
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import pytest
from web_fixtures import Browser

from sensors.demo.make_pe_demo_scene import write_pe_demo
from tests.daemon_process import ROOT, SCENE, TECH, TOKEN, Daemon, daemon_config
from tests.ports import free_port

SCREENSHOTS = Path("/tmp/classroom-edge-screenshots")
VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"
CLASS = f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n'
PHONE = (390, 844)

# Every card: a label, a value, its time base stated, and inside a section of that same base.
CARDS = """[...document.querySelectorAll('.card')].map(c => ({
  id: c.id, base: c.dataset.base, section: c.closest('section').dataset.base,
  label: c.querySelector('.label').textContent.trim(),
  value: c.querySelector('.value').textContent.trim(),
  stated: c.querySelector('.card-base').textContent.trim()}))"""
# The smallest rendered text on the page in CSS pixels (SVG text scaled by its chart).
MIN_TEXT_PX = """(() => {
  let min = Infinity, where = '';
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    let px = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) px *= el.ownerSVGElement ? el.ownerSVGElement.getScreenCTM().a : 1;
    if (px < min) { min = px; where = el.tagName + ' ' + (el.className?.baseVal ?? el.className) + ' ' + el.textContent.slice(0, 20); }
  }
  return [min, where];
})()"""


def _open(browser: Browser, url: str, timeout: float = 20.0) -> None:
    """Navigate and wait until the page (after the login page's own hop) has loaded."""
    browser.goto(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if browser.evaluate("document.readyState === 'complete' && "
                                "!location.search.includes('token=')"):
                return
        except RuntimeError:  # evaluated while the page navigates
            pass
        assert time.monotonic() < deadline, f"{url} did not load"
        time.sleep(0.1)


def _keep(browser: Browser, tmp_path: Path, name: str) -> Path:
    shot = browser.screenshot(tmp_path / name)
    SCREENSHOTS.mkdir(exist_ok=True)
    shutil.copy(shot, SCREENSHOTS / name)
    return shot


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    daemon = Daemon(daemon_config(tmp_path, CLASS, port), port)
    try:
        daemon.wait_for(lambda: daemon.http.get("/api/live", headers=daemon.auth).json()["windows"],
                        20, "a first window")
        yield daemon, port
    finally:
        daemon.kill()


def test_demo_daemon_page_live_in_chromium(demo, tmp_path):
    daemon, port = demo
    browser = Browser(tmp_path / "profile")
    try:
        _open(browser, f"http://127.0.0.1:{port}/?token={TOKEN}")
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

        assert _keep(browser, tmp_path, "demo_page.png").stat().st_size > 30_000
        assert browser.console_errors() == []
        code, _ = daemon.terminate()
        assert code == 0
    finally:
        browser.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_card_says_its_time_base_in_teacher_words_and_phone_text_is_legible(demo, tmp_path,
                                                                                   lang):
    _daemon, port = demo
    browser = Browser(tmp_path / "profile", *PHONE)
    try:
        _open(browser, f"http://127.0.0.1:{port}/?token={TOKEN}&lang={lang}")
        browser.wait_for("document.querySelectorAll('#windows li').length >= 1", 15)
        browser.wait_for("document.querySelectorAll('#timeline circle').length >= 1", 5)
        cards = browser.evaluate(CARDS)
        assert {c["id"] for c in cards} >= {"card-present", "card-hands", "card-headup",
                                            "card-qa", "card-wait", "card-type", "card-talk"}
        recent = re.compile(r"^最近 \d+ 秒$" if lang == "zh" else r"^Last \d+ s$")
        for c in cards:
            assert c["label"] and c["value"], c
            assert c["base"] == c["section"], c  # no card sits among the other time base
            if c["base"] == "lesson":
                assert c["stated"] == ("本节课" if lang == "zh" else "This lesson"), c
            else:
                assert c["base"] == "recent" and recent.match(c["stated"]), c
        # the live numbers are the latest window's, the totals the lesson's: never on one card
        assert {c["id"] for c in cards if c["base"] == "recent"} == {
            "card-present", "card-headup", "card-writing", "card-standing"}

        text = browser.evaluate("document.body.innerText")
        for jargon in ("每窗", "时间窗", "per window", "Windows"):
            assert jargon not in text
        assert not re.search(r"\bn \d", text)  # "n 25" is not a teacher's word
        assert not re.search(r"\d+\.\d+\s*(–|-)\s*\d+\.\d+", text)  # no decimal-minute spans
        standing = browser.evaluate("document.querySelector('#card-standing .value').textContent")
        assert standing.isdigit()  # whole people

        # Two minutes of demo give a few S-T samples: the type is not guessed from them.
        samples = browser.evaluate("Lesson.stSamples(state.windows).length")
        assert samples < 10
        type_value = browser.evaluate("document.querySelector('#card-type .value').textContent")
        assert type_value == ("暂不判断" if lang == "zh" else "Not yet")
        summary = browser.evaluate("document.getElementById('st-summary').textContent")
        for name in (("讲授型", "对话型", "练习型", "混合型") if lang == "zh"
                     else ("lecture", "dialogue", "practice", "mixed")):
            assert name not in summary and name not in type_value
        assert str(samples) in summary
        assert "Rt" in browser.evaluate("document.getElementById('st-explain').textContent")

        smallest, where = browser.evaluate(MIN_TEXT_PX)
        assert smallest >= 12, where
        assert browser.evaluate("document.documentElement.scrollWidth") <= PHONE[0] + 1
        _keep(browser, tmp_path, f"demo_phone_{lang}.png")
        assert browser.console_errors() == []
    finally:
        browser.close()


def test_lang_query_is_used_and_remembered(demo, tmp_path):
    _daemon, port = demo
    browser = Browser(tmp_path / "profile")
    title = "document.querySelector('h1')?.textContent"
    try:
        _open(browser, f"http://127.0.0.1:{port}/?token={TOKEN}&lang=zh")
        browser.wait_for(f"{title} === '课堂实时数据'", 10)
        assert browser.evaluate("location.search") == "?lang=zh"  # the token left, the choice stays
        _open(browser, f"http://127.0.0.1:{port}/?lang=en")
        browser.wait_for(f"{title} === 'Live lesson'", 10)
        # remembered: the plain address and the other pages keep English
        _open(browser, f"http://127.0.0.1:{port}/")
        browser.wait_for("document.querySelectorAll('#windows li').length >= 1", 10)
        assert browser.evaluate(title) == "Live lesson"
        assert browser.evaluate("document.documentElement.lang") == "en"
        _open(browser, f"http://127.0.0.1:{port}/glossary")
        browser.wait_for("document.querySelectorAll('#glossary dt').length > 10 && document.documentElement.lang === 'en'", 10)
        assert browser.evaluate(title) == "What the numbers mean"
        assert browser.console_errors() == []
    finally:
        browser.close()


def test_ended_lesson_report_prints_to_pdf_with_its_charts(demo, tmp_path):
    daemon, port = demo
    # Let the S-T engine code an interval (30 s) and a few exchanges happen, then end the lesson.
    daemon.wait_for(lambda: len(daemon.http.get("/api/live", headers=daemon.auth).json()["windows"]) >= 8,
                    60, "40 s of lesson")
    assert daemon.http.post("/api/lesson/end", headers=daemon.auth).status_code == 200
    daemon.wait_for(lambda: daemon.http.get("/api/lessons", headers=daemon.auth).json(), 10,
                    "the lesson stored")
    lesson = daemon.http.get("/api/lessons", headers=daemon.auth).json()[0]
    browser = Browser(tmp_path / "profile")
    try:
        # The live page of the ended lesson links its report.
        _open(browser, f"http://127.0.0.1:{port}/?token={TOKEN}")
        browser.wait_for("document.getElementById('report-link')?.hidden === false", 15)
        assert browser.evaluate("document.getElementById('report-link').getAttribute('href')") == \
            f"/lessons/{lesson['id']}"
        _open(browser, f"http://127.0.0.1:{port}/lessons/{lesson['id']}?token={TOKEN}&lang=zh")
        browser.wait_for("document.getElementById('content')?.getAttribute('aria-busy') === 'false'", 15)
        for section in ("r-overview", "r-timeline", "r-st", "r-participation", "r-qa", "r-teacher",
                        "r-talk", "r-env", "r-recorded"):
            assert browser.evaluate(f"!!document.getElementById('{section}')"), section
        drawn = browser.evaluate("""({
          rates: document.querySelectorAll('#chart-rates path').length,
          counts: document.querySelectorAll('#chart-counts rect').length,
          st: document.querySelector('#st-curve path.st-line').getAttribute('d').split('L').length,
          rtch: document.querySelectorAll('#rt-ch circle').length,
          wait: document.querySelectorAll('#chart-wait rect').length})""")
        assert drawn["rates"] == 2 and drawn["counts"] >= 8 and drawn["st"] >= 2, drawn
        assert drawn["rtch"] == 1 and drawn["wait"] == 4, drawn
        links = browser.evaluate("[...document.querySelectorAll('a.g')].map(a => a.getAttribute('href'))")
        assert "/glossary#qa" in links and "/glossary#st" in links
        recorded = browser.evaluate("document.getElementById('r-recorded').textContent")
        assert "不记录" in recorded and "图像" in recorded
        _keep(browser, tmp_path, "report_screen.png")

        # Printed: A4, header buttons gone, the charts still there.
        browser.send("Emulation.setEmulatedMedia", media="print")
        assert browser.evaluate("getComputedStyle(document.querySelector('header .actions')).display") == "none"
        _keep(browser, tmp_path, "report_print.png")
        browser.send("Emulation.setEmulatedMedia", media="")
        pdf = base64.b64decode(browser.send("Page.printToPDF", preferCSSPageSize=True,
                                            printBackground=True)["data"])
        assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 1 <= pages <= 4, pages
        (SCREENSHOTS / "report.pdf").write_bytes(pdf)
        assert browser.evaluate("document.querySelectorAll('#chart-rates path').length") == 2
        # On a phone the report's charts are redrawn at its width, text no smaller than 12 px.
        browser.send("Emulation.setDeviceMetricsOverride", width=PHONE[0], height=PHONE[1],
                     deviceScaleFactor=1, mobile=False)
        browser.wait_for(f"document.getElementById('chart-rates').viewBox.baseVal.width <= {PHONE[0]}", 5)
        smallest, where = browser.evaluate(MIN_TEXT_PX)
        assert smallest >= 12, where
        _keep(browser, tmp_path, "report_phone.png")

        # Exports and the history list.
        csv = daemon.http.get(f"/api/lessons/{lesson['id']}/export?format=csv", headers=daemon.auth)
        assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
        lines = csv.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("type,id,mode,start,end,n,suppressed") and "qa.exchanges" in lines[0]
        assert lines[-1].startswith("lesson,") and len(lines) >= 10
        exported = daemon.http.get(f"/api/lessons/{lesson['id']}/export?format=json",
                                   headers=daemon.auth).json()
        assert exported["lesson"]["id"] == lesson["id"] and len(exported["windows"]) == len(lines) - 2
        _open(browser, f"http://127.0.0.1:{port}/lessons")
        browser.wait_for("document.querySelectorAll('table.history tbody tr').length === 1", 10)
        assert browser.evaluate("document.querySelector('table.history a').getAttribute('href')") == \
            f"/lessons/{lesson['id']}"
        assert browser.evaluate("document.querySelectorAll('#chart-trends circle').length") >= 1
        assert browser.console_errors() == []
    finally:
        browser.close()


def test_pe_demo_shows_the_pe_view_with_time_bases_on_a_phone(tmp_path):
    # `make demo-pe`: config/demo_pe.toml's node mode and the generated PE scene.
    scene = write_pe_demo(tmp_path / "pe_demo.jsonl")
    port = free_port()
    daemon = Daemon(daemon_config(tmp_path, f'mode = "pe"\n[cameras.field]\nsource = "{scene}"\n'
                                  'loop = true\n', port), port)
    browser = Browser(tmp_path / "profile", *PHONE)
    try:
        daemon.wait_for(lambda: len(daemon.http.get("/api/live", headers=daemon.auth).json()["windows"]) >= 2,
                        30, "two PE windows")
        _open(browser, f"http://127.0.0.1:{port}/?token={TOKEN}&lang=zh")
        browser.wait_for("document.body?.dataset.mode === 'pe' && "
                         "document.querySelectorAll('#windows li').length >= 2", 15)
        cards = {c["id"]: c for c in browser.evaluate(CARDS)}
        assert {"card-density", "card-zones", "card-reps", "card-alerts"} <= {
            k for k, c in cards.items() if c["base"] == "lesson"}
        assert {k for k, c in cards.items() if c["base"] == "recent"} == {"card-participants", "card-hr"}
        assert cards["card-participants"]["value"] == "12"  # ten on the field, two at stations
        assert cards["card-density"]["value"].endswith("%")
        assert browser.evaluate("document.querySelectorAll('#hr-zones .stacked span').length") == 4
        assert "mat-1" in browser.evaluate("document.querySelector('#card-reps .sub').textContent")
        assert browser.evaluate("document.getElementById('st-panel').hidden") is True
        smallest, where = browser.evaluate(MIN_TEXT_PX)
        assert smallest >= 12, where
        _keep(browser, tmp_path, "demo_pe_phone.png")

        # The PE lesson's report: density against the targets, heart-rate zones, station counts.
        assert daemon.http.post("/api/lesson/end", headers=daemon.auth).status_code == 200
        daemon.wait_for(lambda: daemon.http.get("/api/lessons", headers=daemon.auth).json(), 10,
                        "the PE lesson stored")
        lesson_id = daemon.http.get("/api/lessons", headers=daemon.auth).json()[0]["id"]
        _open(browser, f"http://127.0.0.1:{port}/lessons/{lesson_id}")
        browser.wait_for("document.getElementById('content')?.getAttribute('aria-busy') === 'false'", 15)
        pe = browser.evaluate("document.getElementById('r-pe').textContent")
        assert "目标 75%" in pe and "目标 50%" in pe and "mat-1" in pe and "rope-1" in pe
        assert browser.evaluate("document.querySelectorAll('#r-pe #hr-zones .stacked span').length") == 4
        assert browser.evaluate("!!document.getElementById('r-env') && !document.getElementById('r-st')")
        smallest, where = browser.evaluate(MIN_TEXT_PX)
        assert smallest >= 12, where  # the report on a phone too
        _keep(browser, tmp_path, "report_pe_phone.png")
        assert browser.console_errors() == []
    finally:
        browser.close()
        daemon.kill()


def test_calibration_opens_on_the_camera_with_a_picture_and_clears_stale_errors(tmp_path):
    # The demo's two inputs: the class scene (features only, no picture) comes first.
    port = free_port()
    cameras = CLASS + f'[cameras.video]\nsource = "{VIDEO}"\nanalyse_fps = 1.0\nloop = true\n'
    daemon = Daemon(daemon_config(tmp_path, cameras, port), port)
    browser = Browser(tmp_path / "profile")
    try:
        daemon.wait_for(lambda: daemon.camera_state("video") == "streaming", 30, "the video")
        _open(browser, f"http://127.0.0.1:{port}/calibration?token={TECH}")
        browser.wait_for("document.getElementById('snapshot')?.naturalWidth > 0", 60)
        assert browser.evaluate("document.getElementById('camera').value") == "video"
        assert browser.evaluate("document.getElementById('message').textContent") == ""
        # The class scene has no picture: an error; back on the video, the error goes away.
        choose = ("(c => {{ c.value = '{}'; c.dispatchEvent(new Event('change')); }})"
                  "(document.getElementById('camera'))")
        browser.evaluate(choose.format("class"))
        browser.wait_for("document.getElementById('message').classList.contains('error')", 10)
        browser.evaluate(choose.format("video"))
        browser.wait_for("document.getElementById('message').textContent === ''", 10)
        assert not browser.evaluate("document.getElementById('message').classList.contains('error')")
    finally:
        browser.close()
        daemon.kill()
