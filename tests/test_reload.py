"""SIGHUP (`systemctl reload edge`) on a real `edge run`: zones changed on disk apply to the running
lesson, feeds follow their sections, an invalid file keeps the running config."""

from __future__ import annotations

import json
import signal
import subprocess

from tests.daemon_process import SCENE, TECH, Daemon, daemon_config, rows
from tests.ports import free_port

TEACHER_ZONE = "[zones]\nteacher = [[0, 930], [1920, 930], [1920, 1080], [0, 1080]]\n"


def _scene_without_zones(tmp_path):
    """The demo scene with its header's zones removed, so the config's zones are the ones used."""
    lines = SCENE.read_text().splitlines()
    header = json.loads(lines[0])
    header.pop("zones")
    path = tmp_path / "class.jsonl"
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return path


def _zone_shares(db) -> list:
    return [json.loads(m)["teacher"]["zone_share"]
            for (m,) in rows(db, "SELECT metrics FROM windows ORDER BY id")]


def test_sighup_applies_new_zones_and_feeds_keeping_the_lesson(tmp_path):
    port = free_port()
    cameras = f'[cameras.class]\nsource = "{_scene_without_zones(tmp_path)}"\nloop = true\n'
    config = daemon_config(tmp_path, cameras, port)
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(config, port)
    try:
        daemon.wait_for(lambda: len(_zone_shares(db)) >= 1, 20, "a window")
        assert _zone_shares(db)[-1] is None  # no teacher zone yet
        lesson = daemon.http.get("/api/live", headers=daemon.auth).json()["lesson"]["id"]

        wav = tmp_path / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "Quiet please, open your books."], check=True)
        config.write_text(config.read_text() + TEACHER_ZONE
                          + f'[audio]\nenabled = true\nsource = "{wav}"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for(lambda: any("reload:" in x and "applied" in x for x in daemon.lines),
                        10, "reload applied")
        count = len(_zone_shares(db))
        daemon.wait_for(lambda: len(_zone_shares(db)) >= count + 2, 20, "windows after reload")
        assert _zone_shares(db)[-1] is not None  # the running lesson uses the new zone
        zones = daemon.http.get("/api/calibration/zones",
                                headers={"Authorization": f"Bearer {TECH}"}).json()
        assert zones["teacher"] == [[0, 930], [1920, 930], [1920, 1080], [0, 1080]]  # the page too
        live = daemon.http.get("/api/live", headers=daemon.auth).json()
        assert live["lesson"]["id"] == lesson and live["lesson"]["running"]
        assert rows(db, "SELECT COUNT(*) FROM lessons")[0][0] == 0  # never ended
        daemon.wait_for(lambda: daemon.http.get("/api/health").json()["feeds"].get("audio")
                        == "running", 20, "the audio feed added by the reload")

        good = config.read_text()
        config.write_text(good + "[window]\nbogus = 1\n")
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for(lambda: any("is invalid, keeping the running config" in x
                                    for x in daemon.lines), 10, "invalid config refused")
        count = len(_zone_shares(db))
        daemon.wait_for(lambda: len(_zone_shares(db)) > count, 20, "windows go on")
        assert _zone_shares(db)[-1] is not None
        assert daemon.proc.poll() is None
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    assert rows(db, "SELECT COUNT(*) FROM lessons")[0][0] == 1  # one lesson, flushed at the end
