"""`edge doctor` against a real broker, the bundled demo video and a real store."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from edge.cli.main import main
from edge.config import EdgeConfig
from edge.store import Store
from models.catalog import verify
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "sensors" / "demo" / "sports2d_demo.mp4"


def write_config(tmp_path: Path, *, source: Path = VIDEO, broker_url: str | None = None,
                 models_dir: Path | None = None) -> Path:
    mqtt = f'broker = "{broker_url}"' if broker_url else "enabled = false"
    runtime = f'[runtime]\nmodels_dir = "{models_dir}"\n' if models_dir else ""
    path = tmp_path / "edge.toml"
    path.write_text(
        f'[node]\nid = "doc-1"\nstate_dir = "{tmp_path}"\n\n'
        f'[cameras.front]\nsource = "{source}"\n\n'
        f'[store]\npath = "{tmp_path / "edge.db"}"\nmin_free_mb = 1\n\n'
        f"[mqtt]\n{mqtt}\n\n{runtime}"
    )
    with Store(tmp_path / "edge.db") as store:
        store.write_record({"type": "window", "mode": "classroom", "start": 0.0, "end": 30.0,
                            "n": 8, "suppressed": False, "metrics": {"students_present": 8}})
    return path


def doctor(capsys, config: Path) -> tuple[int, dict[str, str]]:
    code = main(["doctor", "--config", str(config), "--timeout", "3"])
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines()[:-1]:
        status, name, detail = line.split(None, 2)
        lines[name] = f"{status} {detail}"
    assert out.splitlines()[-1].startswith("doctor: ")
    return code, lines


def test_good_device_passes_as_a_real_command(tmp_path, broker):  # noqa: F811
    config = write_config(tmp_path, broker_url=broker.url)
    result = subprocess.run([sys.executable, "-m", "edge.cli.main", "doctor", "--config",
                             str(config)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "OK    models" in out and f"{len(verify(EdgeConfig().runtime.models_dir))} files" in out
    assert "OK    camera:front" in out and "1768x994 frame read" in out
    assert "OK    broker" in out and "round trip ok" in out
    assert "OK    store" in out and "1 unsent" in out
    assert "FAIL" not in out and out.rstrip().endswith("doctor: 0 problem(s)")


def test_missing_camera_file_fails_that_check(tmp_path, capsys):
    code, lines = doctor(capsys, write_config(tmp_path, source=tmp_path / "gone.mp4"))
    assert code == 1
    assert lines["camera:front"].startswith("FAIL") and "gone.mp4" in lines["camera:front"]
    assert lines["broker"].startswith("SKIP disabled")
    assert lines["models"].startswith("OK")


def test_altered_model_copy_fails_naming_the_model(tmp_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    for onnx in (ROOT / "models" / "files").glob("*.onnx"):
        shutil.copy(onnx, models / onnx.name)
    victim = models / "blazeface_short_range.onnx"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    code, lines = doctor(capsys, write_config(tmp_path, models_dir=models))
    assert code == 1
    assert lines["models"].startswith("FAIL") and "blazeface_short_range mismatch" in lines["models"]
    assert lines["camera:front"].startswith("OK")


def test_unreachable_broker_fails_that_check(tmp_path, capsys):
    code, lines = doctor(capsys, write_config(tmp_path, broker_url=f"mqtt://127.0.0.1:{free_port()}"))
    assert code == 1
    assert lines["broker"].startswith("FAIL") and "cannot connect" in lines["broker"]
    assert [name for name, line in lines.items() if line.startswith("FAIL")] == ["broker"]


def test_damaged_store_and_bad_config(tmp_path, capsys):
    config = write_config(tmp_path)
    db = tmp_path / "edge.db"
    db.write_bytes(b"garbage" * 1000)
    code, lines = doctor(capsys, config)
    assert code == 1 and lines["store"].startswith("FAIL")
    config.write_text("[node]\nidd = 1\n")
    code = main(["doctor", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("FAIL  config") and "idd" in out
