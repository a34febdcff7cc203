"""Shared fixtures: the ../shared folder (real models and media), temp stores."""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules shared by several test files (the real broker, the hub stores).
pytest_plugins = ["tests.mqtt_broker", "tests.sync_fixtures", "tests.store_audit"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_file(relative: str) -> Path:
    """A file from ../shared; fails (never skips) with a clear message when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.fail(f"needs {path}: check out ../shared beside the repository (CI always has it)")
    return path


@pytest.fixture
def shared() -> callable:
    """``shared("media/coco/x.jpg")`` -> Path, failing clearly when ../shared is missing."""
    return shared_file
