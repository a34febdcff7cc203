"""SPEC 3 end to end: the daemon runs real frames through the pose model, stores and publishes,
and afterwards nothing on disk, in the logs or on the wire is about an individual.

The daemon analyses the real demo video (pose model on real frames) and the synthetic class
scene, and publishes to a real broker; an MQTT client records every message it sends.
"""

from __future__ import annotations

import re
import subprocess
import sys

from edge.privacy.audit import audit_database
from sync.contract import payload_problem
from tests.daemon_process import ROOT, SCENE, Daemon, daemon_config, rows
from tests.mqtt_broker import MessageRecorder
from tests.ports import free_port

VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"
# Magic numbers of image, audio and video containers: none may appear in any file we leave.
MEDIA_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"\x1aE\xdf\xa3", b"ftyp", b"GIF8", b"BM")
EXPECTED_STATE = re.compile(r"^(edge\.db(-wal|-shm|\.lock)?|web_tokens\.json)$")  # .lock: pid only


def test_daemon_run_leaves_only_aggregates_on_disk_in_logs_and_on_the_wire(tmp_path, broker):
    port = free_port()
    recorder = MessageRecorder(broker.port)
    cameras = (f'[cameras.class]\nsource = "{SCENE}"\nloop = true\n'
               f'[cameras.video]\nsource = "{VIDEO}"\nloop = true\nanalyse_fps = 2.0\n'
               "[pose]\ntiles = 1\n")
    config = daemon_config(tmp_path, cameras, port).read_text().replace(
        "[mqtt]\nenabled = false", f'[mqtt]\nenabled = true\nbroker = "{broker.url}"')
    (tmp_path / "edge.toml").write_text(config)
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(tmp_path / "edge.toml", port)
    try:
        def video_analysed() -> bool:
            return daemon.metric("edge_fps_analysed", "video") > 0

        daemon.wait_for(video_analysed, 60, "video frames through the pose model")
        daemon.wait_for(lambda: len(recorder.aggregates()) >= 2, 40, "aggregates on the wire")
        code, _ = daemon.terminate(timeout=30)
    finally:
        daemon.kill()
        recorder.close()
    assert code == 0, "".join(daemon.lines)

    # The store: the audit passes on what a real run produced (SPEC 3.5).
    report = audit_database(db)
    assert report.ok, report.findings
    assert rows(db, "SELECT COUNT(*) FROM lessons")[0][0] >= 2  # both streams closed a lesson
    done = subprocess.run([sys.executable, "-m", "edge.cli.main", "privacy", "audit", "--db",
                           str(db)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    # The disk: the state directory holds the store and the tokens, and no media of any kind.
    for path in (tmp_path / "state").rglob("*"):
        assert EXPECTED_STATE.match(path.name), f"unexpected file {path}"
        head = path.read_bytes()[:16]
        assert not any(magic in head for magic in MEDIA_MAGIC), f"media-like bytes in {path}"

    # The logs: no track ids, keypoints or coordinates of anyone.
    log = "".join(daemon.lines)
    assert not re.search(r"track[ _]?id|\btrack\s*[=:#]\s*\d|keypoint|\bkp\b", log, re.I), log

    # The wire: every published aggregate is clean and carries n; nothing else is media.
    aggregates = recorder.aggregates()
    for payload in aggregates:
        assert "n" in payload and payload_problem(payload) is None, payload
    for topic, payload in recorder.messages:
        assert not any(magic in payload[:16] for magic in MEDIA_MAGIC), topic
