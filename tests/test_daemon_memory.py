"""`edge run` resident memory with one camera (SPEC 10: <= 400 MB) and what technician snapshots
add to it, read from the real process's /proc status (no timing involved)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.daemon_process import ROOT, TECH, Daemon, daemon_config
from tests.ports import free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"  # 1768x994: a 960x544 pose pass
SPEC_RSS_MB = 400.0
SNAPSHOTS = 5
# What snapshots may add: the face model, its buffers, a few frame copies. A second pose
# estimator (the snapshot's own, until it borrowed the daemon's) added ~230 MB.
SNAPSHOT_GROWTH_MB = 60.0


def status_mb(pid: int, field: str) -> float:
    """VmHWM (peak resident) or VmRSS (resident now) of process ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_peak_rss_is_in_spec_and_snapshots_borrow_the_pipelines_pose_model(tmp_path):
    port = free_port()
    cameras = f'[cameras.demo]\nsource = "{VIDEO}"\nanalyse_fps = 2.0\nloop = true\n'
    daemon = Daemon(daemon_config(tmp_path, cameras, port), port)
    try:
        daemon.wait_for(lambda: daemon.metric("edge_fps_analysed", "demo") > 0, 90,
                        "frames analysed")
        pid = daemon.proc.pid
        before = status_mb(pid, "VmHWM")
        for _ in range(SNAPSHOTS):
            reply = daemon.http.get("/api/calibration/snapshot", params={"camera": "demo"},
                                    headers={"Authorization": f"Bearer {TECH}"}, timeout=60)
            assert reply.status_code == 200 and reply.headers["content-type"] == "image/jpeg"
        after = status_mb(pid, "VmHWM")
        loads = sum("pose model loaded" in line for line in daemon.lines)
        assert loads == 1, "".join(daemon.lines)  # one pose model for analysis and snapshots
        assert before <= SPEC_RSS_MB, (before, after)
        assert after - before <= SNAPSHOT_GROWTH_MB, (before, after)
    finally:
        daemon.kill()
