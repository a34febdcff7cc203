"""Benchmark `edge replay`: scene-file throughput and, for video, the time spent outside the model.

Usage: .venv/bin/python bench/replay.py [--seconds 600] [--rows 5] [--per-row 8] [--video F]
                                         [--fps 2] [--threads 2]

Scene: a generated classroom (rows x per-row students + a teacher, 2 frames/s) replayed with no
store and with a store, in the same run: person-frames per second, real-time factor, and the
store's cost as a ratio. Video: sports2d_demo.mp4 through the configured pose model: seconds in
the model, outside it (decode, tracking, metrics, output) and the outside/model ratio that
SPEC 10 bounds at 15 %. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the scene generator shared with the tests

from scenegen import write_classroom_scene

from edge.config import load_config
from edge.lesson.replay import replay
from edge.store import Store

DEFAULT_VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"  # the committed copy of ../shared's


def bench_scene(seconds: float, rows: int, per_row: int) -> None:
    """Scene replay throughput without and with the store."""
    config = load_config(None, env={})
    with tempfile.TemporaryDirectory() as folder:
        scene = write_classroom_scene(Path(folder) / "bench.jsonl", seconds, rows=rows,
                                      per_row=per_row)
        size_mb = scene.stat().st_size / 1e6
        bare = replay(str(scene), config)
        with Store(Path(folder) / "bench.db") as store:
            stored = replay(str(scene), config, store=store)
    people = rows * per_row + 1
    print(f"scene: {seconds:.0f} s lesson, {people} people, {bare.samples} samples, "
          f"{bare.person_frames} person-frames, {size_mb:.1f} MB")
    for label, summary in (("no store", bare), ("with store", stored)):
        total = summary.total_s
        print(f"  {label:10s}: {total:6.2f} s  {summary.person_frames / total:9.0f} person-frames/s"
              f"  {summary.samples / total:8.0f} samples/s  {seconds / total:6.0f}x real time"
              f"  ({summary.windows} windows)")
    print(f"  ratio with/without store: {stored.total_s / bare.total_s:.2f}")


def bench_video(video: Path, fps: float, threads: int) -> None:
    """Video replay: model time versus everything else."""
    config = load_config(None, env={"EDGE__RUNTIME__INTRA_OP_THREADS": str(threads)})
    summary = replay(str(video), config, fps=fps)
    outside = summary.outside_model_s
    print(f"video: {video.name} at {fps:g} frames/s, {threads} onnxruntime thread(s): "
          f"{summary.frames} frames, {summary.person_frames} person-frames")
    print(f"  total {summary.total_s:.2f} s (model loading {summary.load_s:.2f} s excluded below)")
    print(f"  in model      {summary.model_s:7.2f} s  {1000 * summary.model_s / summary.frames:7.1f} ms/frame")
    print(f"  outside model {outside:7.2f} s  {1000 * outside / summary.frames:7.1f} ms/frame")
    print(f"  fraction of time outside the model: {outside / (outside + summary.model_s):.1%}; "
          f"outside/model ratio {outside / summary.model_s:.1%} (SPEC 10 target <= 15%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="scene lesson length")
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--per-row", type=int, default=8)
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--fps", type=float, default=2.0, help="video frames analysed per second")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    args = parser.parse_args()
    bench_scene(args.seconds, args.rows, args.per_row)
    bench_video(args.video, args.fps, args.threads)


if __name__ == "__main__":
    main()
