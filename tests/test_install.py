"""systemd/install.sh in a clean staging root: install, upgrade keeps the config, uninstall."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "systemd" / "install.sh"


def install_sh(*args: str) -> subprocess.CompletedProcess:
    # Offline: the wheel is built by this interpreter, dependencies come from its environment.
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        [str(SCRIPT), *args, "--offline", "--site-packages", sysconfig.get_paths()["purelib"]]
        if args[0] != "uninstall" else [str(SCRIPT), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_install_upgrade_uninstall_layout(tmp_path):
    root = tmp_path / "root"
    assert install_sh("upgrade", "--root", str(root)).returncode == 1  # nothing to upgrade yet

    result = install_sh("install", "--root", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no daemon-reload" in result.stdout  # staging root: systemctl left alone
    venv = root / "opt" / "classroom-edge"
    edge = venv / "bin" / "edge"
    version = subprocess.run([str(edge), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == "classroom-edge 0.1.0"
    # The package is a real (non-editable) install inside the venv.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import edge; print(edge.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path).stdout
    assert where.startswith(str(venv)), where
    unit = root / "etc" / "systemd" / "system" / "edge.service"
    assert unit.read_text() == (ROOT / "systemd" / "edge.service").read_text()
    config = root / "etc" / "classroom-edge" / "edge.toml"
    assert config.read_text() == (ROOT / "config" / "edge.toml").read_text()
    assert os.readlink(root / "usr" / "local" / "bin" / "edge") == "/opt/classroom-edge/bin/edge"
    assert (venv / "share" / "README.md").is_file()
    assert not (ROOT / "build").exists() or "build" in (ROOT / ".gitignore").read_text()

    edited = config.read_text().replace('id = "edge-1"', 'id = "room-101-a"')
    config.write_text(edited)
    result = install_sh("upgrade", "--root", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keeping" in result.stdout
    assert config.read_text() == edited  # the installer's edits survive an upgrade
    assert (config.parent / "edge.toml.dist").read_text() == (ROOT / "config" / "edge.toml").read_text()
    assert subprocess.run([str(edge), "--version"], capture_output=True, timeout=60).returncode == 0

    state = root / "var" / "lib" / "classroom-edge"
    state.mkdir(parents=True)
    (state / "edge.db").write_bytes(b"data")
    result = install_sh("uninstall", "--root", str(root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not venv.exists() and not unit.exists()
    assert not (root / "usr" / "local" / "bin" / "edge").is_symlink()
    assert config.read_text() == edited and (state / "edge.db").read_bytes() == b"data"
    result = install_sh("uninstall", "--root", str(root), "--purge")
    assert result.returncode == 0 and not config.exists() and not state.exists()
