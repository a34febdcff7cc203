"""What the manifest promises, checked and measured: list, sha256 verify, latency bench."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .runtime import ModelEntry, ModelError, SessionOptions, create_session, manifest

# Inputs the models leave open (dynamic dimensions) get these shapes, and parameters that are not
# data get fixed values: silero's sample rate must be 16000, not noise. The OpenPose models get the
# input of the default pass plan's whole-frame pass for a 1920x1080 frame (960x544); callers pass
# ``pose_input`` to bench another plan's size.
POSE_MODELS = ("openpose_mobilenet_thin", "openpose_mobilenet_thin_stage4")
DEFAULT_POSE_INPUT = (960, 544)
BENCH_FEEDS: dict[str, dict[str, tuple[int, ...] | np.ndarray]] = {
    "silero_vad_16k": {
        "input": (1, 576), "state": (2, 1, 128), "sr": np.array(16000, dtype=np.int64),
    },
}

_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64}


@dataclass(frozen=True)
class Verdict:
    """Result of checking one manifest file: ``status`` is "ok", "mismatch" or "missing"."""

    name: str
    path: Path
    status: str
    expected: str
    actual: str | None = None


@dataclass(frozen=True)
class Latency:
    """Wall-clock latency of one model over ``runs`` inferences, in milliseconds."""

    name: str
    median_ms: float
    p90_ms: float
    runs: int
    threads: int


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(models_dir: Path | None = None) -> list[Verdict]:
    """Check the sha256 of every manifest file (in ``models_dir`` when given)."""
    verdicts = []
    for entry in manifest(models_dir).values():
        if not entry.path.is_file():
            verdicts.append(Verdict(entry.name, entry.path, "missing", entry.sha256))
            continue
        actual = file_sha256(entry.path)
        status = "ok" if actual == entry.sha256 else "mismatch"
        verdicts.append(Verdict(entry.name, entry.path, status, entry.sha256, actual))
    return verdicts


def rows(models_dir: Path | None = None) -> list[tuple[str, str, str, str, str]]:
    """One row per manifest model: name, file, size in MB (or "missing"), license, task."""
    table = []
    for entry in manifest(models_dir).values():
        size = f"{entry.path.stat().st_size / 1e6:.1f} MB" if entry.path.is_file() else "missing"
        table.append((entry.name, entry.path.name, size, entry.license, entry.task))
    return table


def random_feed(
    session: ort.InferenceSession, overrides: dict[str, tuple[int, ...] | np.ndarray],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Random 0..1 inputs of each input's shape (open dimensions taken from ``overrides``).

    :raises ModelError: when an input has open dimensions and no override, or an unknown type.
    """
    feed = {}
    for spec in session.get_inputs():
        given = overrides.get(spec.name)
        if isinstance(given, np.ndarray):
            feed[spec.name] = given
            continue
        shape = given if given is not None else tuple(spec.shape)
        if not all(isinstance(d, int) for d in shape):
            raise ModelError(f"input {spec.name} has open dimensions {spec.shape}: no bench shape")
        if spec.type not in _NUMPY_TYPES:
            raise ModelError(f"input {spec.name} has unsupported type {spec.type}")
        feed[spec.name] = rng.random(shape).astype(_NUMPY_TYPES[spec.type])
    return feed


def bench_model(
    entry: ModelEntry, options: SessionOptions, runs: int, models_dir: Path | None = None,
    pose_input: tuple[int, int] = DEFAULT_POSE_INPUT,
) -> Latency:
    """Median and p90 latency of ``runs`` inferences on random input (after one warm-up run);
    pose models at ``pose_input`` (width, height)."""
    rng = np.random.default_rng(0)
    session = create_session(entry.name, options, models_dir)
    feeds = dict(BENCH_FEEDS)
    for name in POSE_MODELS:
        feeds[name] = {"image:0": (1, pose_input[1], pose_input[0], 3)}
    feed = random_feed(session, feeds.get(entry.name, {}), rng)
    session.run(None, feed)  # warm-up: first run allocates and is not representative
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000.0)
    return Latency(entry.name, float(np.median(times)), float(np.percentile(times, 90)), runs,
                   options.intra_op_threads)


def bench(options: SessionOptions, runs: int, models_dir: Path | None = None,
          pose_input: tuple[int, int] = DEFAULT_POSE_INPUT) -> list[Latency]:
    """:func:`bench_model` for every manifest model, in manifest order."""
    return [bench_model(e, options, runs, models_dir, pose_input)
            for e in manifest(models_dir).values()]
