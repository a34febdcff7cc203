"""Real-time factor of the audio path: CPU seconds per audio second (target < 5% of one core).

Audio: 60 s at 16 kHz of espeak-ng sentences over classroom-like noise (brown + pink, made with
numpy), so the VAD sees both speech and non-speech. Measured single-threaded (one onnxruntime
thread) on chunks already in memory, then the WAV read + resample step on a 48 kHz stereo file.

    .venv/bin/python bench/audio.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.metrics.audio.features import AudioFeatureExtractor, AWeightedLevel
from models.vad import SileroVad, create_vad_session
from sensors.audio import CHUNK, RATE, AudioChunk, WavAudioSource

TEXT = ("Good morning class. Today we will learn about the water cycle. Who can tell me where "
        "the rain comes from? Evaporation turns water into vapour, which rises and cools.")


def make_audio(seconds: float, folder: Path) -> np.ndarray:
    """Speech (espeak-ng, repeated with pauses) over noise, float32 at 16 kHz."""
    raw = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), TEXT], check=True)
    rate, pcm = wavfile.read(raw)
    speech = resample_poly(pcm.astype(np.float32) / 32768.0, RATE, rate)
    pause = np.zeros(int(1.5 * RATE), np.float32)
    total = int(seconds * RATE)
    reps = int(np.ceil(total / (len(speech) + len(pause))))
    signal = np.concatenate([np.concatenate([speech, pause])] * reps)[:total]
    rng = np.random.default_rng(0)
    brown = np.cumsum(rng.standard_normal(total)).astype(np.float32)
    brown -= np.convolve(brown, np.ones(801) / 801, mode="same")  # keep it bounded
    noise = 0.002 * brown + 0.005 * rng.standard_normal(total).astype(np.float32)
    return (0.6 * signal + noise).astype(np.float32)


def chunks_of(samples: np.ndarray) -> list[AudioChunk]:
    n = len(samples) // CHUNK
    return [AudioChunk(i * CHUNK / RATE, samples[i * CHUNK : (i + 1) * CHUNK].copy()) for i in range(n)]


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        samples = make_audio(args.seconds, folder)
        chunks = chunks_of(samples)
        audio_s = len(chunks) * CHUNK / RATE
        session = create_vad_session()  # 1 intra-op thread

        vad = SileroVad(session)
        vad_cpu = cpu(lambda: [vad.probability(c.room) for c in chunks])
        level = AWeightedLevel()
        level_cpu = cpu(lambda: [level.power(c.room) for c in chunks])
        extractor = AudioFeatureExtractor(SileroVad(session))
        spans: list = []
        path_cpu = cpu(lambda: spans.extend(extractor.run(chunks)))
        wall_start = time.perf_counter()
        list(AudioFeatureExtractor(SileroVad(session)).run(chunks))
        wall = time.perf_counter() - wall_start

        stereo = np.stack([samples, samples * 0.5], axis=1)
        wav = folder / "stereo48k.wav"
        wavfile.write(wav, 48000, (resample_poly(stereo, 3, 1, axis=0) * 32767).astype(np.int16))
        read_cpu = cpu(lambda: list(WavAudioSource(wav, teacher_channel=1)))

    speech = float(np.mean([s.speech for s in spans]))
    print(f"audio: {audio_s:.1f} s, {len(chunks)} chunks of {CHUNK} samples, "
          f"{len(spans)} feature spans, mean speech share {speech:.2f}")
    print(f"VAD only           {vad_cpu:7.3f} CPU s  {1000 * vad_cpu / len(chunks):6.3f} ms/chunk  "
          f"RTF {vad_cpu / audio_s:.4f}")
    print(f"A-weighted level   {level_cpu:7.3f} CPU s  {1000 * level_cpu / len(chunks):6.3f} ms/chunk  "
          f"RTF {level_cpu / audio_s:.4f}")
    print(f"audio path total   {path_cpu:7.3f} CPU s  (wall {wall:.3f} s)  "
          f"RTF {path_cpu / audio_s:.4f} = {100 * path_cpu / audio_s:.2f}% of one core "
          f"(target < 5%: {'met' if path_cpu / audio_s < 0.05 else 'NOT met'})")
    print(f"  VAD share of path {vad_cpu / path_cpu:.0%}, level filter {level_cpu / path_cpu:.0%}")
    print(f"WAV 48 kHz stereo read + resample + chunking  {read_cpu:7.3f} CPU s  "
          f"RTF {read_cpu / audio_s:.4f} ({read_cpu / path_cpu:.0%} of the audio path)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
