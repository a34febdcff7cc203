"""Shipped models: manifest checksums, and `edge models list|verify|bench` on real files."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from edge.cli.main import main
from models.catalog import file_sha256, verify
from models.runtime import MANIFEST_PATH, PACKAGE_DIR

MANIFEST = tomllib.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
LICENSE_MARKERS = {
    "Apache-2.0": ("Apache License\n                           Version 2.0",
                   "END OF TERMS AND CONDITIONS"),
    "MIT": ("MIT License", "OTHER DEALINGS IN THE\nSOFTWARE."),
}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_manifest_sha256_matches_committed_file(name: str) -> None:
    entry = MANIFEST[name]
    assert file_sha256(PACKAGE_DIR / entry["file"]) == entry["sha256"]
    text = (PACKAGE_DIR / entry["license_file"]).read_text(encoding="utf-8")
    assert Path(entry["file"]).name in text.splitlines()[0]  # header says what it covers
    title, last_clause = LICENSE_MARKERS[entry["license"]]
    assert title in text and last_clause in text  # the full text, not a reference to it


def test_verify_shipped_files_exit_0(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok ") == len(MANIFEST)


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(PACKAGE_DIR / "files", copy)
    return copy


def test_verify_copy_is_ok_then_one_altered_byte_fails(models_copy: Path, capsys) -> None:
    assert main(["models", "verify", "--models-dir", str(models_copy)]) == 0
    victim = models_copy / "blazeface_short_range.onnx"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["models", "verify", "--models-dir", str(models_copy)]) == 1
    err = capsys.readouterr().err
    assert "mismatch" in err and str(victim) in err
    assert "openpose_mobilenet_thin.onnx" not in err  # only the altered file is named
    assert {v.name: v.status for v in verify(models_copy)}["blazeface_short_range"] == "mismatch"


def test_verify_missing_file_fails_naming_it(models_copy: Path, capsys) -> None:
    victim = models_copy / "silero_vad_16k.onnx"
    victim.unlink()
    assert main(["models", "verify", "--models-dir", str(models_copy)]) == 1
    err = capsys.readouterr().err
    assert f"missing: {victim}" in err


def test_list_shows_four_models(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:4] == ["name", "file", "size", "license"]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(MANIFEST)
    silero = next(line for line in lines if line.startswith("silero_vad_16k"))
    assert "1.3 MB" in silero and "MIT" in silero


def test_bench_prints_a_line_per_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "bench", "--runs", "3", "--threads", "1", "--frame", "1920x1440"]) == 0
    plan, *lines = capsys.readouterr().out.strip().splitlines()
    # The technician sees the pose pass plan the pose models are timed at.
    assert plan == ("pose pass plan for 1920x1440: whole 1920x1440 at 0.50 -> 960x720; "
                    "faces 12 tiles of 576 px -> 192x192")
    assert sorted(line.split()[0] for line in lines) == sorted(MANIFEST)
    for line in lines:
        fields = line.split()
        median, p90 = float(fields[2]), float(fields[5])
        assert 0 < median <= p90, line


def test_bench_rejects_zero_runs(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models", "bench", "--runs", "0"])
    assert exc.value.code == 2


def test_verify_rejects_missing_models_dir(tmp_path: Path, capsys) -> None:
    assert main(["models", "verify", "--models-dir", str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_stage4_conversion_reproduces_the_committed_file(tmp_path: Path) -> None:
    """models/convert/openpose_stage4.py rebuilds the shipped stage-4 cut byte for byte from the
    shipped 6-stage file (only onnx needed), so its provenance can be audited here."""
    import subprocess
    import sys

    script = PACKAGE_DIR / "convert" / "openpose_stage4.py"
    done = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    entry = MANIFEST["openpose_mobilenet_thin_stage4"]
    assert file_sha256(tmp_path / "openpose_mobilenet_thin_stage4.onnx") == entry["sha256"]
    assert "matches manifest" in done.stdout
