"""Journal-friendly, rate-limited daemon logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.daemon.logging_setup import RateLimitFilter, setup_logging


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_repeats_are_limited_per_template_and_counted(tmp_path, restore_root):
    now = [0.0]
    out = tmp_path / "log.txt"
    with out.open("w") as stream:
        setup_logging(stream=stream, env={})
        handler = logging.getLogger().handlers[0]
        handler.filters.clear()
        limiter = RateLimitFilter(burst=3, interval_s=10, clock=lambda: now[0])
        handler.addFilter(limiter)
        log = logging.getLogger("edge.camera")
        for i in range(10):
            log.warning("camera %s lost", f"cam{i}")
        log.warning("broker refused")  # another template is not held back
        now[0] = 11.0
        log.warning("camera %s lost", "cam99")
    lines = _lines(out)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "camera cam0 lost", "camera cam1 lost", "camera cam2 lost", "broker refused",
        "camera cam99 lost (7 similar messages suppressed)",
    ]
    assert limiter.suppressed_total == 7
    assert " WARNING edge.camera: " in lines[0]  # terminal format: time and level name


def test_journal_prefixes_only_when_stderr_is_the_journal_stream(tmp_path, restore_root):
    out = tmp_path / "journal.txt"
    with out.open("w") as stream:
        st = os.fstat(stream.fileno())
        setup_logging(logging.DEBUG, stream=stream, env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        log = logging.getLogger("edge.store")
        log.error("disk %s", "full")
        log.warning("low space", extra={"fields": {"free_mb": 150, "path": "/var/lib/x y"}})
        log.info("ok")
        log.debug("detail")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    lines = _lines(out)
    assert lines[:4] == [
        "<3>edge.store: disk full",
        '<4>edge.store: low space free_mb=150 path="/var/lib/x y"',
        "<6>edge.store: ok",
        "<7>edge.store: detail",
    ]
    assert lines[4] == "<3>edge.store: failed"
    assert all(line.startswith("<3>  ") for line in lines[5:]) and "RuntimeError: boom" in lines[-1]
    # A JOURNAL_STREAM naming another file (inherited from a parent) is ignored.
    other = tmp_path / "other.txt"
    with other.open("w") as stream:
        setup_logging(stream=stream, env={"JOURNAL_STREAM": "1:2"})
        logging.getLogger("edge").error("plain")
    assert " ERROR edge: plain" in other.read_text() and "<3>" not in other.read_text()


def test_real_process_with_journal_stream_env(tmp_path):
    err = tmp_path / "stderr.txt"
    code = ("import logging; from edge.daemon.logging_setup import setup_logging; setup_logging(); "
            "[logging.getLogger('edge.x').error('again') for _ in range(20)]")
    with err.open("w") as stream:
        st = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        subprocess.run([sys.executable, "-c", code], stderr=stream, env=env, check=True, timeout=60)
    assert _lines(err) == ["<3>edge.x: again"] * 5  # default burst 5 per minute


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        RateLimitFilter(burst=0)
