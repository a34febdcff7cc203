"""Speech ratio on real far-field recordings: smoothed speech segments vs raw 32 ms VAD chunks.

Each shared AMI / pyannote excerpt (``../shared/media/speech/*.wav``, 30 s, annotated turns in
``truth.csv``) goes through the same path as ``edge replay FILE.wav`` (WAV -> Silero VAD ->
speech segments -> AudioFeatures -> the classroom AudioEngine's lesson ``speech_ratio``), once
with the configured smoothing and once with smoothing off (every chunk its own decision, the
old behaviour). Prints per-file figures, the mean absolute error of each (target <= 0.05), their
ratio, CPU seconds and the machine load.

    .venv/bin/python bench/speech_ratio.py [--speech-dir ../shared/media/speech]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.config import EdgeConfig
from edge.lesson.replay import replay

TARGET_MAE = 0.05
# Smoothing off: no minimum speech, the shortest hangover and no pad = raw chunk decisions.
RAW = {"min_speech_s": 0.0, "min_silence_s": 0.032, "speech_pad_s": 0.0}


def truth(folder: Path) -> dict[str, float]:
    """uri -> annotated speech ratio."""
    with (folder / "truth.csv").open(newline="") as handle:
        return {row["uri"]: float(row["speech_ratio"]) for row in csv.DictReader(handle)}


def speech_ratio(wav: Path, config: EdgeConfig) -> float:
    """The lesson record's audio.speech_ratio of one file through the replay path."""
    lessons: list[dict] = []
    replay(str(wav), config, mode="classroom",
           emit=lambda r: lessons.append(r) if r["type"] == "lesson" else None)
    return float(lessons[-1]["metrics"]["audio"]["speech_ratio"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speech-dir", type=Path, default=ROOT.parent / "shared/media/speech")
    args = parser.parse_args()
    if not (args.speech_dir / "truth.csv").exists():
        print(f"needs {args.speech_dir}/truth.csv and its WAV files (../shared)", file=sys.stderr)
        return 2
    smoothed_cfg = EdgeConfig()
    raw_cfg = EdgeConfig.model_validate({"audio": RAW})
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; smoothing: "
          f"min_speech {smoothed_cfg.audio.min_speech_s} s, min_silence "
          f"{smoothed_cfg.audio.min_silence_s} s, pad {smoothed_cfg.audio.speech_pad_s} s")
    print(f"{'file':10} {'truth':>6} {'smoothed':>9} {'err':>6} {'raw':>6} {'err':>6}")
    errors = {"smoothed": [], "raw": []}
    cpu = {"smoothed": 0.0, "raw": 0.0}
    for uri, true_ratio in sorted(truth(args.speech_dir).items()):
        wav = args.speech_dir / f"{uri}.wav"
        row = {}
        for name, config in (("smoothed", smoothed_cfg), ("raw", raw_cfg)):
            started = time.process_time()
            row[name] = speech_ratio(wav, config)
            cpu[name] += time.process_time() - started
            errors[name].append(abs(row[name] - true_ratio))
        print(f"{uri:10} {true_ratio:6.3f} {row['smoothed']:9.3f} "
              f"{row['smoothed'] - true_ratio:+6.3f} {row['raw']:6.3f} {row['raw'] - true_ratio:+6.3f}")
    mae = {name: sum(e) / len(e) for name, e in errors.items()}
    print(f"MAE smoothed {mae['smoothed']:.3f} (target <= {TARGET_MAE}: "
          f"{'met' if mae['smoothed'] <= TARGET_MAE else 'NOT met'}), raw {mae['raw']:.3f}, "
          f"ratio smoothed/raw {mae['smoothed'] / mae['raw']:.2f}")
    print(f"CPU: smoothed {cpu['smoothed']:.2f} s, raw {cpu['raw']:.2f} s for "
          f"{len(errors['raw'])} x 30 s of audio each (ratio {cpu['smoothed'] / cpu['raw']:.2f})")
    return 0 if mae["smoothed"] <= TARGET_MAE else 1


if __name__ == "__main__":
    sys.exit(main())
