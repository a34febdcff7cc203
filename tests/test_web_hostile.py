"""Hostile web clients (issue 13 section 3), against the daemon's real uvicorn server
(edge/daemon/web_server.py) on a free port: CSRF from another port, huge bodies, NUL paths,
token guessing, session revocation, idle-connection floods."""

from __future__ import annotations

import http.client
import resource
import socket
import time
from pathlib import Path

import httpx
import pytest
from scenegen import classroom_scene
from web_fixtures import ScenePlayer

from edge.config import load_config
from edge.daemon.heartbeat import Heartbeats
from edge.daemon.web_server import WebServer
from edge.lesson.live import LiveState
from edge.store import Store
from edge.web import create_app
from edge.web.auth import ensure_tokens, rotate_tokens
from edge.web.connections import LimitedH11Protocol
from edge.web.guard import MAX_FAILURES
from tests.ports import free_port


class Site:
    """The daemon's web server with a real lesson control, store and token file."""

    def __init__(self, tmp_path: Path):
        self.config_path = tmp_path / "edge.toml"
        self.config_path.write_text(f'[node]\nstate_dir = "{tmp_path}"\n'
                                    f'[cameras.front]\nsource = "{tmp_path}/x.mp4"\n')
        self.config = load_config(self.config_path, env={})
        self.live = LiveState("classroom")
        self.player = ScenePlayer(self.config, self.live, tmp_path / "edge.db",
                                  classroom_scene("TTSSTT"))
        with Store(tmp_path / "edge.db") as store:
            app = create_app(self.config, self.live, store, self.player,
                             config_path=self.config_path)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = WebServer(app, "127.0.0.1", self.port, Heartbeats())
        self.server.start()

    @property
    def tokens(self):
        return ensure_tokens(self.config)

    def teacher_browser(self) -> httpx.Client:
        """A client holding the teacher's session cookie, as a logged-in page does."""
        client = httpx.Client(base_url=self.base, timeout=10)
        assert client.get(f"/?token={self.tokens.teacher}").status_code == 200
        assert client.cookies.get("edge_session")
        return client

    def lesson_running(self) -> bool:
        return self.live.counters()["lesson_running"]


@pytest.fixture
def site(tmp_path):
    instance = Site(tmp_path)
    try:
        yield instance
    finally:
        instance.live.close_listeners()
        instance.server.stop()


def test_cookie_state_changes_need_this_origin(site):
    """Before: a page on another port of the same host ended the lesson through the
    teacher's cookie (SameSite=Strict does not separate ports: same site)."""
    page = site.teacher_browser()
    other = f"http://127.0.0.1:{site.port + 1}"
    refused = page.post("/api/lesson/start", headers={"Origin": other})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert page.post("/api/lesson/start", headers={"Referer": other + "/x"}).status_code == 403
    assert page.post("/api/lesson/start").status_code == 403  # neither Origin nor Referer
    assert page.post("/api/lesson/start", headers={"Origin": "null"}).status_code == 403
    assert not site.lesson_running()
    assert page.post("/api/lesson/start", headers={"Origin": site.base}).status_code == 200
    assert site.lesson_running()
    # Bearer requests are not forgeable by a browser: no Origin needed.
    bearer = {"Authorization": f"Bearer {site.tokens.teacher}"}
    assert httpx.post(site.base + "/api/lesson/end", headers=bearer).status_code == 200
    assert page.get("/api/live").status_code == 200  # reading needs no Origin


def test_request_bodies_and_polygons_are_bounded(site):
    """Before: a 12 MB zones PUT reached 5.7 GB RSS."""
    tech = {"Authorization": f"Bearer {site.tokens.technician}"}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    point = "[1000.5, 2000.5],"
    huge = ('{"teacher": [' + point * (12_000_000 // len(point)) + "[0, 0]]}").encode()
    url = site.base + "/api/calibration/zones"
    declared = httpx.put(url, content=huge, headers={**tech, "Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks():
        for i in range(0, len(huge), 65536):
            yield huge[i:i + 65536]
    chunked = httpx.put(url, content=chunks(), headers={**tech, "Content-Type": "application/json"})
    assert chunked.status_code == 413
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, grown_mb  # the body is never parsed (the server runs in-process)
    many = {"teacher": [[i, i % 7] for i in range(5000)]}
    too_many = httpx.put(url, json=many, headers=tech)
    assert too_many.status_code == 422 and "64" in too_many.text
    assert "teacher" not in site.config_path.read_text()


def test_nul_in_a_static_path_is_404_not_500(site):
    """Before: /static/x%00 answered 500 with a traceback (Path.resolve: embedded null byte)."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    for path in ("/static/x%00", "/static/%00/../app.js", "/docs/assets/a%00b"):
        conn.request("GET", path, headers={"Authorization": f"Bearer {site.tokens.teacher}"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 404, (path, response.status)
        assert b"Traceback" not in body
    conn.close()


def _client_from(address: str, base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=10,
                        transport=httpx.HTTPTransport(local_address=address))


def test_token_guessing_is_throttled_per_client(site):
    """Before: unlimited guesses."""
    guesser = _client_from("127.0.0.1", site.base)
    for i in range(MAX_FAILURES):
        wrong = {"Authorization": f"Bearer guess-{i:020d}"}
        assert guesser.get("/api/live", headers=wrong).status_code == 401
    throttled = guesser.get("/api/live", headers={"Authorization": "Bearer guess-x"})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    # a right guess now is not confirmed either, nor a login link
    right = {"Authorization": f"Bearer {site.tokens.teacher}"}
    assert guesser.get("/api/live", headers=right).status_code == 429
    assert guesser.get(f"/?token={site.tokens.teacher}").status_code == 429
    # another address (another classroom PC) is not affected
    other = _client_from("127.0.0.2", site.base)
    assert other.get("/api/live", headers=right).status_code == 200
    assert other.get("/api/health").status_code == 200


def test_rotating_tokens_ends_sessions_in_the_running_server(site):
    """Before: a session cookie could not be revoked short of editing files and restarting."""
    page = site.teacher_browser()
    assert page.get("/api/live").status_code == 200
    old = site.tokens
    new = rotate_tokens(site.config)
    assert new.teacher != old.teacher and new.technician != old.technician
    assert page.get("/api/live").status_code == 401  # the old cookie is dead at once
    assert httpx.get(site.base + "/api/live",
                     headers={"Authorization": f"Bearer {old.teacher}"}).status_code == 401
    assert httpx.get(site.base + "/api/live",
                     headers={"Authorization": f"Bearer {new.teacher}"}).status_code == 200


def test_idle_connection_flood_leaves_the_page_reachable(site, monkeypatch):
    """Before: 1,100 idle connections made the page unreachable for everyone."""
    monkeypatch.setattr(LimitedH11Protocol, "first_request_timeout_s", 1.5)
    flood = []
    for _ in range(1100):
        sock = socket.create_connection(("127.0.0.1", site.port), timeout=5)
        flood.append(sock)
    try:
        started = time.monotonic()
        other = _client_from("127.0.0.2", site.base)
        assert other.get("/api/health").status_code == 200
        assert time.monotonic() - started < 5
        connections = site.server.server.server_state.connections
        assert len(connections) <= LimitedH11Protocol.max_per_client + 2
        time.sleep(2.5)  # past the first-request deadline: the flood's kept sockets are closed
        closed = 0
        for sock in flood:
            sock.settimeout(0.01)
            try:
                closed += sock.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                closed += 0
        assert closed == len(flood)
        assert _client_from("127.0.0.1", site.base).get("/api/health").status_code == 200
    finally:
        for sock in flood:
            sock.close()


def test_unit_raises_the_file_limit():
    unit = (Path(__file__).resolve().parents[1] / "systemd" / "edge.service").read_text()
    assert "\nLimitNOFILE=16384\n" in unit


def test_in_a_real_browser_no_token_in_history_and_no_cross_port_forgery(site, tmp_path):
    """Chromium: the login link leaves no ?token= entry in the session history, the page's own
    buttons still work with the cookie, and a form on another port of the same host cannot
    end the lesson (before: it could; same-site cookies are sent across ports)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from web_fixtures import Browser

    attack = (f'<form id="f" method="POST" action="{site.base}/api/lesson/end"></form>'
              '<script>document.getElementById("f").submit()</script>').encode()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(attack)

        def log_message(self, *args) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", free_port()), Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    browser = Browser(tmp_path / "profile")
    try:
        token = site.tokens.teacher
        browser.goto(f"{site.base}/?token={token}")
        browser.wait_for(f"location.href === '{site.base}/' && document.readyState === "
                         "'complete'", 15)
        # The login's history rewrite may still be settling: DevTools then answers "Not attached
        # to an active page" for a moment; ask again rather than fail on that race.
        for _ in range(20):
            try:
                entries = browser.send("Page.getNavigationHistory")["entries"]
                break
            except RuntimeError as exc:
                if "Not attached" not in str(exc):
                    raise
                time.sleep(0.25)
        else:
            pytest.fail("DevTools never attached to the page after the login")
        assert entries and not any(token in e["url"] for e in entries), entries
        started = browser.evaluate(
            "fetch('/api/lesson/start', {method: 'POST'}).then(r => r.status)")
        assert started == 200 and site.lesson_running()  # same origin: the browser's Origin
        browser.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        time.sleep(2.0)  # the form posts on load
        bearer = {"Authorization": f"Bearer {token}"}
        # 200: the lesson was still running (409 would mean the forged POST had ended it)
        assert httpx.post(site.base + "/api/lesson/end", headers=bearer).status_code == 200
    finally:
        browser.close()
        evil.shutdown()


def test_rotation_reaches_a_running_edge_run(tmp_path):
    """`edge web token --rotate` while `edge run` serves the page: the teacher's logged-in
    browser is logged out at its next request, the new link works (no restart)."""
    import subprocess
    import sys

    from tests.daemon_process import SCENE, TECH, TOKEN, Daemon, daemon_config

    port = free_port()
    config = daemon_config(tmp_path, f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n', port)
    config.write_text(config.read_text().replace(f'technician_token = "{TECH}"\n', "")
                      .replace(f'token = "{TOKEN}"\n', ""))  # generated tokens: rotatable

    def web_token(*extra: str) -> str:
        return subprocess.run([sys.executable, "-m", "edge.cli.main", "web", "token", "--config",
                               str(config), *extra], capture_output=True, text=True,
                              check=True, timeout=60).stdout

    def teacher_token(text: str) -> str:
        return next(line.split()[-1] for line in text.splitlines()
                    if line.startswith("teacher:"))

    daemon = Daemon(config, port)
    try:
        old = teacher_token(web_token())
        page = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        assert page.get(f"/?token={old}").status_code == 200
        assert page.get("/api/live").status_code == 200
        new = teacher_token(web_token("--rotate", "teacher"))
        assert new != old
        assert page.get("/api/live").status_code == 401
        assert page.get(f"/?token={new}").status_code == 200
        assert page.get("/api/live").status_code == 200
        page.close()
        code, _ = daemon.terminate()
        assert code == 0
    finally:
        daemon.kill()
