"""`edge run` with simulated heart-rate bands: the feed thread's samples reach the PE lesson."""

from __future__ import annotations

import json
from pathlib import Path

from tests.daemon_process import Daemon, daemon_config, rows
from tests.pe_scenegen import make_pe_scene
from tests.ports import free_port


def _pe_scene_without_heart_rate(tmp_path: Path) -> Path:
    """A short generated PE lesson with no `hr` records: heart rate must come from the feed."""
    scene = make_pe_scene(seed=1, duration=30.0)
    scene.heart = []
    path = tmp_path / "gym.jsonl"
    scene.write_jsonl(path)
    return path


def test_simulated_bands_give_pe_windows_a_heart_rate(tmp_path):
    port = free_port()
    scene = _pe_scene_without_heart_rate(tmp_path)
    assert '"hr"' not in scene.read_text()
    extra = '[heart_rate]\nsource = "simulated"\nsimulated_bands = 6\n'
    config = daemon_config(tmp_path, f'[cameras.gym]\nsource = "{scene}"\nloop = true\n', port, extra)
    text = config.read_text().replace("[node]\n", '[node]\nmode = "pe"\n', 1)
    config.write_text(text)
    db = tmp_path / "state" / "edge.db"
    daemon = Daemon(config, port)
    try:
        daemon.wait_for(
            lambda: db.exists() and rows(db, "SELECT COUNT(*) FROM windows")[0][0] >= 1,
            20, "a window",
        )
        code, _ = daemon.terminate()
    finally:
        daemon.kill()
    assert code == 0, "".join(daemon.lines)
    records = [json.loads(r[0]) for r in rows(db, "SELECT record FROM outbox")]
    windows = [r for r in records if r["type"] == "window"]
    assert windows and all(r["mode"] == "pe" for r in records)
    hr = windows[0]["metrics"]["hr"]
    assert hr is not None and 80 <= hr["mean_bpm"] <= 170
    text = json.dumps(records)
    assert "sim-0" not in text  # band ids never leave memory
