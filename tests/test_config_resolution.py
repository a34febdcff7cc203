"""One config resolution for every command: --config, else $EDGE_CONFIG, else the installed
/etc/classroom-edge/edge.toml when present, else the built-in defaults; each says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edge.config import resolve_config

ROOT = Path(__file__).resolve().parents[1]


def test_the_order_is_flag_then_environment_then_installed_then_defaults(tmp_path):
    installed = tmp_path / "etc.toml"
    assert resolve_config(None, env={}, installed=installed).path is None
    assert "built-in defaults" in resolve_config(None, env={}, installed=installed).describe()
    installed.write_text("")
    assert resolve_config(None, env={}, installed=installed).origin == "installed"
    env = {"EDGE_CONFIG": str(tmp_path / "env.toml")}
    chosen = resolve_config(None, env=env, installed=installed)
    assert (chosen.path, chosen.origin) == (tmp_path / "env.toml", "$EDGE_CONFIG")
    chosen = resolve_config("flag.toml", env=env, installed=installed)
    assert (chosen.path, chosen.origin) == (Path("flag.toml"), "--config")


def _config(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[node]\nstate_dir = "{tmp_path / name}"\n')
    return path


def _edge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli.main", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, **env}, timeout=60)


def test_web_token_uses_edge_config_and_says_so(tmp_path):
    config = _config(tmp_path, "demo")
    done = _edge("web", "token", env={"EDGE_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert f"config: {config} ($EDGE_CONFIG)" in done.stderr
    assert (tmp_path / "demo").is_dir() and any((tmp_path / "demo").iterdir())  # tokens there
    assert "teacher:" in done.stdout


def test_the_flag_wins_over_the_environment(tmp_path):
    flag, env = _config(tmp_path, "flag"), _config(tmp_path, "env")
    done = _edge("web", "token", "--config", str(flag), env={"EDGE_CONFIG": str(env)})
    assert done.returncode == 0, done.stderr
    assert "config:" not in done.stderr  # the user named it: no need to say
    assert (tmp_path / "flag").is_dir() and not (tmp_path / "env").exists()


def test_a_missing_named_file_is_an_error_not_the_defaults(tmp_path):
    done = _edge("web", "token", env={"EDGE_CONFIG": str(tmp_path / "nope.toml")})
    assert done.returncode == 2
    assert "nope.toml" in done.stderr


def test_edge_run_logs_which_config_it_runs(tmp_path):
    from tests.daemon_process import Daemon, daemon_config
    from tests.ports import free_port

    port = free_port()
    config = daemon_config(tmp_path, "", port)
    daemon = Daemon(config, port)
    try:
        assert any(f"config: {config} (--config)" in line for line in daemon.lines)
        daemon.terminate()
    finally:
        daemon.kill()
