"""Benchmark PE stations inside `edge run`: analysed station fps and CPU cores per station.

Usage: .venv/bin/python bench/station.py [--seconds 30] [--clip ../shared/media/exercise/...]

Runs the daemon four times on the same PE config, one camera playing a real exercise clip
(default the rope-skipping one, looped) with its overview at 2 frames/s: without a station with
``pe.station_fps = 4`` (capture at the overview's 4 frames/s) and with the default 15 (the cost
of decoding for stations), with one station around the exerciser, and with one empty station (a
corner of the frame nobody stands in). Each run warms up, then measures over ``--seconds``:
- the process's CPU time over wall time (1.0 = one core), hence one station's cost as the
  difference to the run without a station, per core and per analysed frame;
- the station loop's analysed frames per second (``edge_feed_fps{feed="station:gym"}``, and
  frames counted over the span) and the overview's (``edge_fps_analysed``);
- the load average before and after (two cores shared with other work: read the ratios).
Figures, not pass/fail; the target is >= 15 station frames/s (SPEC 10, issue 12).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from daemon import cpu_seconds  # noqa: E402 - bench/daemon.py
from tests.daemon_process import Daemon, daemon_config  # noqa: E402
from tests.ports import free_port  # noqa: E402

ROPE = ROOT.parent / "shared" / "media" / "exercise" / "chenwr727_ropeskip_demo.mp4"
TARGET_FPS = 15.0
STATION = 'feed="station:gym"'


def camera_toml(clip: Path, polygon: list[tuple[float, float]] | None,
                station_fps: float) -> str:
    """The looped clip at 2 overview frames/s, with one rope-skipping station on ``polygon``."""
    text = (f'[cameras.gym]\nsource = "{clip}"\nanalyse_fps = 2.0\nloop = true\n'
            f'[pe]\nstation_fps = {station_fps}\n')
    if polygon is not None:
        points = ", ".join(f"[{x:.0f}, {y:.0f}]" for x, y in polygon)
        text += f'[zones.stations.rope]\nexercise = "rope_skip"\npolygon = [{points}]\n'
    return text


def metric(daemon: Daemon, name: str, label: str) -> float:
    text = daemon.http.get("/metrics", headers=daemon.auth).text
    match = re.search(rf"^{name}\{{{re.escape(label)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def run(clip: Path, polygon: list[tuple[float, float]] | None, station_fps: float,
        seconds: float, warmup: float) -> dict[str, float]:
    """One daemon run: CPU cores, station and overview fps over ``seconds`` after ``warmup``."""
    with tempfile.TemporaryDirectory(prefix="bench-station-") as tmp:
        port = free_port()
        config = daemon_config(Path(tmp), camera_toml(clip, polygon, station_fps), port)
        config.write_text(config.read_text().replace("[node]\n", '[node]\nmode = "pe"\n'))
        daemon = Daemon(config, port)
        try:
            time.sleep(warmup)  # models loaded, rates published
            cpu0, wall0 = cpu_seconds(daemon.proc.pid), time.monotonic()
            frames0 = metric(daemon, "edge_feed_samples_total", STATION)
            fps, overview = [], []
            while time.monotonic() - wall0 < seconds:
                time.sleep(2.0)
                fps.append(metric(daemon, "edge_feed_fps", STATION))
                overview.append(daemon.metric("edge_fps_analysed", "gym"))
            cpu, wall = cpu_seconds(daemon.proc.pid) - cpu0, time.monotonic() - wall0
            frames = metric(daemon, "edge_feed_samples_total", STATION) - frames0
            daemon.terminate()
        finally:
            daemon.kill()
    return {"cores": cpu / wall, "station_fps": frames / wall, "fps_gauge_min": min(fps),
            "overview_fps": sum(overview) / len(overview), "frames": frames}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--clip", type=Path, default=ROPE)
    args = parser.parse_args()
    import cv2  # only to size the station polygons

    cap = cv2.VideoCapture(str(args.clip))
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    cap.release()
    if not w:
        raise SystemExit(f"cannot read {args.clip}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.clip.name} ({w:.0f}x{h:.0f}), overview 2 fps, {args.seconds:.0f} s per run; "
          f"load average before {load} (2 cores shared)")
    runs = {  # name -> station polygon, pe.station_fps (hence the capture rate)
        "no station, capture at 4 fps": (None, 4.0),
        "no station": (None, TARGET_FPS),
        "one station (the exerciser)": ([(0, 0), (w, 0), (w, h), (0, h)], TARGET_FPS),
        "one empty station (corner)": ([(0, 0), (w / 8, 0), (w / 8, h / 8), (0, h / 8)],
                                       TARGET_FPS),
    }
    results = {}
    for name, (polygon, station_fps) in runs.items():
        results[name] = r = run(args.clip, polygon, station_fps, args.seconds, args.warmup)
        print(f"{name}: {r['cores']:.3f} cores, station {r['station_fps']:.1f} fps "
              f"({r['frames']:.0f} frames; gauge min {r['fps_gauge_min']:.1f}), "
              f"overview {r['overview_fps']:.2f} fps")
    base = results["no station"]["cores"]
    print(f"capture at 15 instead of 4 fps (PE mode): "
          f"+{base - results['no station, capture at 4 fps']['cores']:.3f} cores")
    for name in list(runs)[2:]:
        r = results[name]
        extra = r["cores"] - base
        per_frame = 1e3 * extra / r["station_fps"] if r["station_fps"] else float("nan")
        print(f"{name}: +{extra:.3f} cores over no station = {per_frame:.1f} ms CPU per station "
              f"frame; {r['station_fps']:.1f} fps = ratio {r['station_fps'] / TARGET_FPS:.2f} "
              f"of the 15 fps target; {r['station_fps'] / max(r['overview_fps'], 1e-9):.1f}x "
              "the overview's frames")
    print(f"load average after {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
