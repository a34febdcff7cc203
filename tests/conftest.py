"""Shared fixtures: real models and media (committed or from ../shared), temp stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixture modules shared by several test files (the real broker, the hub stores).
pytest_plugins = ["tests.mqtt_broker", "tests.sync_fixtures", "tests.store_audit"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# Files of ../shared that the repository carries itself (byte-identical): a fresh clone without
# ../shared still has them. Everything else in ../shared/media may not be redistributed.
COMMITTED = {
    "media/sports2d_demo.mp4": ROOT / "sensors" / "demo" / "sports2d_demo.mp4",  # BSD-3-Clause
    "media/skimage_astronaut.png": ROOT / "tests" / "data" / "skimage_astronaut.png",  # public domain
    **{f"models/{p.name}": p for p in (ROOT / "models" / "files").glob("*.onnx")},
}


def in_ci() -> bool:
    """True under CI (``CI=true``), where ../shared always exists and a missing file is a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_file(relative: str) -> Path:
    """A real model or media file: committed copy, else ../shared.

    Outside CI a file that only ../shared has skips the test with the reason; in CI it fails,
    so a skip can never hide a missing file there.
    """
    if relative in COMMITTED:
        return COMMITTED[relative]
    path = SHARED / relative
    if path.exists():
        return path
    reason = (f"needs ../shared/{relative} (real data that may not be redistributed, so it is not "
              "in the repository): check out ../shared beside the repository to run this test")
    if in_ci():
        pytest.fail(f"{reason}; CI always has ../shared")
    # allow_module_level: some test modules read their media at import (parametrized clips).
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def shared() -> callable:
    """``shared("media/coco/x.jpg")`` -> Path (see :func:`shared_file`)."""
    return shared_file
