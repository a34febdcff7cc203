"""The one place ONNX sessions are made: manifest lookup, providers, threads, warm-up."""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_PATH = PACKAGE_DIR / "manifest.toml"


class ModelError(Exception):
    """A model that cannot be found, verified or loaded."""


@dataclass(frozen=True)
class ModelEntry:
    """One manifest entry; ``path`` is resolved against the package or a models directory."""

    name: str
    path: Path
    sha256: str
    license: str
    upstream: str
    task: str
    inputs: str
    outputs: str
    license_file: str


@dataclass(frozen=True)
class SessionOptions:
    """How to run a model: thread counts and execution providers in order of preference.

    ``memory_pattern`` lets onnxruntime plan and keep one block of intermediate memory per input
    shape: a little faster for fixed-shape models, tens of MB for a model fed many shapes.
    """

    intra_op_threads: int = 2
    inter_op_threads: int = 1
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    memory_pattern: bool = True


@cache
def manifest(models_dir: Path | None = None) -> dict[str, ModelEntry]:
    """Manifest entries by name; files are looked up in ``models_dir`` when given."""
    raw = tomllib.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    base = PACKAGE_DIR if models_dir is None else Path(models_dir)
    entries = {}
    for name, e in raw.items():
        path = base / e["file"] if models_dir is None else base / Path(e["file"]).name
        entries[name] = ModelEntry(
            name=name, path=path, sha256=e["sha256"], license=e["license"],
            upstream=e["upstream"], task=e["task"], inputs=e["inputs"], outputs=e["outputs"],
            license_file=e["license_file"],
        )
    return entries


def resolve_model(name_or_path: str | Path, models_dir: Path | None = None) -> Path:
    """Path of a manifest model by name, or of a user-supplied ONNX file.

    :raises ModelError: when neither a manifest name nor an existing file.
    """
    entries = manifest(models_dir)
    if str(name_or_path) in entries:
        path = entries[str(name_or_path)].path
    else:
        path = Path(name_or_path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return path


def chosen_providers(preferred: tuple[str, ...] | list[str]) -> list[str]:
    """Preferred providers that this onnxruntime build offers, CPU always last as a fallback."""
    available = set(ort.get_available_providers())
    chosen = [p for p in preferred if p in available and p != "CPUExecutionProvider"]
    return chosen + ["CPUExecutionProvider"]


@cache
def _shared_arena() -> None:
    """Register one CPU memory arena for all sessions of the process (once). The technician
    snapshot's face model then runs in what the pose pass freed instead of an arena of its
    own: measured, 5 MB less peak per snapshot and 5 MB less resident after them."""
    cpu = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                            ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(cpu, ort.OrtArenaCfg({}))


def create_session(
    name_or_path: str | Path, options: SessionOptions = SessionOptions(),
    models_dir: Path | None = None, warmup: dict[str, np.ndarray] | None = None,
    rewrite: Callable[[Path, Path], None] | None = None,
) -> ort.InferenceSession:
    """Load a model with the given threads and providers; run ``warmup`` inputs once if given.

    ``rewrite(model, out)`` writes to ``out`` the model to load instead (an equivalent graph
    that runs faster, e.g. :func:`models.channel_padding.pad_stage_channels_apart`); ``out`` is
    in a temporary folder removed once the model is loaded. A file rather than bytes because
    onnxruntime's Python session keeps the bytes it was given for as long as it lives (6.5 MB
    of resident memory for the pose model).

    :raises ModelError: when the file is missing or onnxruntime cannot load it.
    """
    path = resolve_model(name_or_path, models_dir)
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads
    so.inter_op_num_threads = options.inter_op_threads
    so.enable_mem_pattern = options.memory_pattern
    so.log_severity_level = 3
    _shared_arena()
    so.add_session_config_entry("session.use_env_allocators", "1")
    providers = chosen_providers(options.providers)
    try:
        if rewrite is None:
            session = ort.InferenceSession(str(path), sess_options=so, providers=providers)
        else:
            with tempfile.TemporaryDirectory(prefix="edge-model-") as folder:
                rewritten = Path(folder) / path.name
                rewrite(path, rewritten)
                session = ort.InferenceSession(str(rewritten), sess_options=so,
                                               providers=providers)
    except Exception as exc:  # noqa: BLE001 - onnx/onnxruntime raise untyped errors on bad files
        raise ModelError(f"cannot load model {path}: {exc}") from None
    if warmup is not None:
        session.run(None, warmup)
    return session
