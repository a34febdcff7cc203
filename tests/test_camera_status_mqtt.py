"""cam/<id>/status (SPEC 7, issue 8): the daemon publishes each camera's state retained."""

from __future__ import annotations

import time
from itertools import pairwise

from sync.contract import validator
from tests.daemon_process import ROOT, Daemon, daemon_config
from tests.mqtt_broker import MessageRecorder
from tests.ports import free_port

VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"


def test_daemon_publishes_camera_state_retained(tmp_path, broker):
    port = free_port()
    cameras = (f'[cameras.front]\nsource = "{VIDEO}"\nloop = true\nanalyse_fps = 0.5\n'
               "[pose]\ntiles = 1\n")
    text = daemon_config(tmp_path, cameras, port).read_text().replace(
        "[mqtt]\nenabled = false", f'[mqtt]\nenabled = true\nbroker = "{broker.url}"')
    (tmp_path / "edge.toml").write_text(text)
    live = MessageRecorder(broker.port, "cls/v1/+/+/+/+/cam/+/status")
    daemon = Daemon(tmp_path / "edge.toml", port)
    try:
        daemon.wait_for(lambda: any(p["state"] == "streaming" for p in live.payloads("/cam/front/")),
                        30, "cam/front/status streaming")
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
        live.close()
    assert code == 0, "".join(daemon.lines)
    statuses = live.payloads("/cam/front/")
    for status in statuses:
        validator("camera").validate(status)
        assert status["camera"] == "front"
    states = [s["state"] for s in statuses]
    assert states[0] in ("connecting", "streaming")
    # Published on change only: one connection, so no state repeats back to back.
    assert all(a != b for a, b in pairwise(states)), states

    # Retained: a subscriber arriving after the daemon has gone still learns the last state.
    late = MessageRecorder(broker.port, "cls/v1/+/+/+/+/cam/+/status")
    try:
        deadline = time.monotonic() + 5
        while not late.payloads("/cam/front/") and time.monotonic() < deadline:
            time.sleep(0.1)
        retained = late.payloads("/cam/front/")
    finally:
        late.close()
    assert retained and retained[-1]["state"] == states[-1]
