"""Hostile config and media (issue 13 section 3): each case gets one clear line and exit 2.

Real subprocesses of `edge`, real files crafted to be hostile (nothing here is mocked).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.config import ZonesConfig
from tests.ports import free_port

EDGE = [sys.executable, "-m", "edge.cli.main"]


def edge(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run([*EDGE, *args], capture_output=True, text=True, check=False,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_line(done: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, exactly one error line on stderr, no traceback, every needle in it."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    # `edge run` logs (INFO, for the journal) which config it runs; that is not an error line.
    lines = [line for line in done.stderr.splitlines() if " INFO edge.cli.run: config: " not in line]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, done.stderr)


def wav_with_channels(path: Path, channels: int, rate: int = 16000) -> Path:
    """A PCM16 WAV whose header is self-consistent but declares ``channels``."""
    data = bytes(3200)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack(
        "<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A ~1 KB PNG that claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(bytes(width + 1) * 4)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_zone_coordinates_are_refused(tmp_path, value):
    """Before: [[0, 0], [nan, 0], [100, 100]] validated; the NaN polygon contains no point,
    so the teacher standing in it was counted as a student."""
    config = tmp_path / "edge.toml"
    config.write_text(f"[zones]\nteacher = [[0, 0], [{value}, 0], [100, 100]]\n")
    one_line(edge("config", "validate", str(config)), f"{config}:2:", "zones.teacher",
             "finite number")


def test_oversized_polygons_and_coordinates_are_refused():
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    ZonesConfig.model_validate({"teacher": square})
    with pytest.raises(ValidationError, match="at most 64"):
        ZonesConfig.model_validate({"teacher": square * 17})
    with pytest.raises(ValidationError, match="less than or equal"):
        ZonesConfig.model_validate({"board": [[0, 0], [1e300, 0], [0, 1]]})


def test_config_validate_applies_environment_overrides(tmp_path):
    """Before: `edge config validate` ignored EDGE__... while `edge run` applied them."""
    config = tmp_path / "edge.toml"
    config.write_text("[node]\nroom = 'r1'\n")
    assert edge("config", "validate", str(config)).returncode == 0
    one_line(edge("config", "validate", str(config), env={"EDGE__ZONES__TEACHER": "[[0, 0]]"}),
             "env:EDGE__ZONES__TEACHER", "at least 3 points")
    # doctor reports it as its config check (before: a crash line from load_config)
    doctor = edge("doctor", "--config", str(config), env={"EDGE__ZONES__TEACHER": "[[0, 0]]"})
    assert doctor.returncode == 1 and doctor.stdout.startswith("FAIL  config")
    assert "env:EDGE__ZONES__TEACHER" in doctor.stdout


def test_wav_with_zero_channels(tmp_path):
    """Before: exit 1, "integer division or modulo by zero"."""
    wav = wav_with_channels(tmp_path / "zero.wav", 0)
    one_line(edge("calibrate", "audio", "--file", str(wav)), "zero.wav", "0 channels")
    one_line(edge("replay", str(wav), "--db", str(tmp_path / "edge.db")), "zero.wav")


def test_png_decompression_bomb(tmp_path):
    """Before: exit 1 with OpenCV's "(-215:Assertion failed) pixels <= CV_IO_MAX_IMAGE_PIXELS";
    below OpenCV's limit (30000 x 30000) it would have allocated 2.7 GB."""
    for size in (100_000, 30_000):
        bomb = png_bomb(tmp_path / f"bomb{size}.png", size, size)
        assert bomb.stat().st_size < 200_000
        one_line(edge("detect", str(bomb)), f"bomb{size}.png", "exceeds the limit")
        one_line(edge("replay", str(bomb), "--db", str(tmp_path / "edge.db")), "megapixels")


def test_absurd_audio_duration_in_a_scene(tmp_path):
    scene = tmp_path / "audio.jsonl"
    scene.write_text('{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                     '{"t": 0, "audio": {"speech": 0.5, "duration": 1e12}}\n')
    one_line(edge("replay", str(scene), "--db", str(tmp_path / "edge.db")),
             "audio.jsonl:2", "audio duration must lie in")


def test_missing_pose_model_fails_doctor_and_run(tmp_path):
    """Before: `edge run` started quietly (the model loads in the inference thread) and
    `edge doctor` reported 0 problems (it checks only the manifest's own files)."""
    missing = tmp_path / "no-such-pose.onnx"
    config = tmp_path / "edge.toml"
    config.write_text(f'[node]\nstate_dir = "{tmp_path}"\n[pose]\nmodel = "{missing}"\n'
                      f'[cameras.front]\nsource = "{tmp_path}/front.mp4"\n'
                      f'[store]\npath = "{tmp_path}/edge.db"\n[web]\nport = {free_port()}\n')
    doctor = edge("doctor", "--config", str(config))
    assert doctor.returncode != 0
    line = next(x for x in doctor.stdout.splitlines() if "pose model" in x)
    assert line.startswith("FAIL") and str(missing) in line
    one_line(edge("run", "--config", str(config), timeout=60), "pose.model", "not found")


def test_deeply_nested_lines_in_scene_and_sensor_files(tmp_path):
    """Before: exit 1, "maximum recursion depth exceeded while decoding a JSON array"."""
    nested = "[" * 100_000 + "]" * 100_000
    scene = tmp_path / "nested.jsonl"
    scene.write_text('{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                     f'{{"t": 0, "people": {nested}}}\n')
    one_line(edge("replay", str(scene), "--db", str(tmp_path / "edge.db")),
             "nested.jsonl:2", "nested 100001 levels deep")
    from sensors.env_file import EnvironmentFileSource
    from sensors.errors import SourceError

    readings = tmp_path / "env.jsonl"
    readings.write_text('{"t": 0, "co2_ppm": 800}\n' + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(SourceError, match="env.jsonl:2: .*nested 2000 levels"):
        list(EnvironmentFileSource(readings))
