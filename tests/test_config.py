"""Config: one typed model, file:line errors per error kind, env overrides, generated schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, EdgeConfig, load_config, validate_file

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path


def test_defaults_are_valid():
    cfg = load_config(None, env={})
    assert cfg.web.port == 8080 and cfg.privacy.min_group == 5


@pytest.mark.parametrize("name", ["edge.toml", "demo.toml"])
def test_shipped_configs_validate(name):
    assert validate_file(ROOT / "config" / name) == []


def test_fails_on_unknown_key_with_line(tmp_path):
    path = write(tmp_path, "[node]\nid = 'a'\n\n[web]\nport = 8080\nprot = 1\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:6: web.prot: unknown key")


def test_fails_on_unknown_section_with_line(tmp_path):
    path = write(tmp_path, "[node]\nid = 'a'\n[webb]\nport = 1\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:3: webb:")


def test_fails_on_wrong_type_with_line(tmp_path):
    path = write(tmp_path, "[web]\nhost = '127.0.0.1'\nport = 'eighty'\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:3: web.port:")
    assert "integer" in problem


def test_fails_on_out_of_range_with_line(tmp_path):
    path = write(tmp_path, "[privacy]\n\nmin_group = 0\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:3: privacy.min_group:")
    assert "greater than or equal to 1" in problem


def test_fails_on_toml_syntax_with_line(tmp_path):
    path = write(tmp_path, "[web]\nport = 8080\nhost = \n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:3: TOML syntax")


def test_nested_table_error_points_at_key(tmp_path):
    path = write(tmp_path, "[cameras.front]\nsource = 'x.mp4'\nanalyse_fps = -1\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:3: cameras.front.analyse_fps:")


def test_fails_on_degenerate_floor_calibration_with_line(tmp_path):
    path = write(tmp_path, "[zones.floor]\nimage = [[0, 0], [1, 1], [2, 2], [3, 3]]\n"
                           "world_m = [[0, 0], [4, 0], [4, 3], [0, 3]]\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:1: zones.floor:") and "do not define a plane" in problem


def test_every_error_reported_not_just_first(tmp_path):
    path = write(tmp_path, "[web]\nport = 0\nbogus = 1\n[privacy]\nmin_group = 'x'\n")
    lines = sorted(p.split(": ")[0] for p in validate_file(path))
    assert lines == [f"{path}:2", f"{path}:3", f"{path}:5"]


def test_pair_rule_password_needs_username(tmp_path):
    path = write(tmp_path, "[mqtt]\npassword = 'secret'\n")
    (problem,) = validate_file(path)
    assert "username" in problem and problem.startswith(f"{path}:1:")


def test_env_overrides_file_values(tmp_path):
    path = write(tmp_path, "[web]\nport = 8080\n")
    env = {"EDGE__WEB__PORT": "9090", "EDGE__STORE__PATH": "/tmp/x.db", "EDGE__NODE__DEMO": "true"}
    cfg = load_config(path, env=env)
    assert cfg.web.port == 9090 and str(cfg.store.path) == "/tmp/x.db" and cfg.node.demo is True


def test_bad_env_override_names_the_variable(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, ""), env={"EDGE__WEB__PORT": "99999"})
    assert err.value.problems[0].startswith("env:EDGE__WEB__PORT: web.port:")


def run_edge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_cli_validate_exit_codes(tmp_path):
    ok = run_edge("config", "validate", str(ROOT / "config" / "edge.toml"))
    assert ok.returncode == 0, ok.stderr
    bad = run_edge("config", "validate", str(write(tmp_path, "[web]\nport = -3\n")))
    assert bad.returncode == 2
    assert f"{tmp_path / 'edge.toml'}:2: web.port:" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_cli_missing_file_is_usage_error(tmp_path):
    res = run_edge("config", "validate", str(tmp_path / "nope.toml"))
    assert res.returncode == 2 and "cannot read" in res.stderr


def test_cli_schema_is_generated_from_model():
    res = run_edge("config", "schema")
    assert res.returncode == 0
    schema = json.loads(res.stdout)
    assert schema["properties"].keys() == EdgeConfig.model_json_schema()["properties"].keys()
    assert schema["$defs"]["WebConfig"]["additionalProperties"] is False


def test_speech_pad_must_fit_inside_the_hangover(tmp_path):
    path = tmp_path / "edge.toml"
    path.write_text("[audio]\nmin_silence_s = 0.3\nspeech_pad_s = 0.2\n")
    problems = validate_file(path)
    assert len(problems) == 1 and "speech_pad_s" in problems[0]
    assert problems[0].startswith(f"{path}:")


def test_environment_sensor_names_must_be_unique(tmp_path):
    path = tmp_path / "edge.toml"
    sensor = '[[environment.sensors]]\ntype = "file"\npath = "a.csv"\n'
    path.write_text(sensor * 2)  # both named "file" by default
    problems = validate_file(path)
    assert len(problems) == 1 and "unique" in problems[0]


@pytest.mark.parametrize("env, where", [
    ({"EDGE__PRIVACY__MIN_GROUP": "true"}, "env:EDGE__PRIVACY__MIN_GROUP: privacy.min_group:"),
    ({"EDGE__WEB__PORT": "false"}, "env:EDGE__WEB__PORT: web.port:"),
    ({"EDGE__MQTT__ENABLED": "1"}, "env:EDGE__MQTT__ENABLED: mqtt.enabled:"),
])
def test_booleans_are_never_numbers_in_env_overrides(tmp_path, env, where):
    """EDGE__PRIVACY__MIN_GROUP=true used to be read as min_group 1 (issue 13)."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, ""), env=env)
    (problem,) = err.value.problems
    assert problem.startswith(where), problem
    assert "(a boolean)" in problem or "(int)" in problem


@pytest.mark.parametrize("text, line, key", [
    ("[privacy]\nmin_group = true\n", 2, "privacy.min_group"),
    ("[window]\n\nseconds = false\n", 3, "window.seconds"),
    ("[privacy]\nmin_group = '7'\n", 2, "privacy.min_group"),
])
def test_strict_types_in_the_file(tmp_path, text, line, key):
    path = write(tmp_path, text)
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:{line}: {key}:"), problem


def test_strict_types_inside_lists(tmp_path):
    path = write(tmp_path, "[zones]\nteacher = [[0, 0], [true, 0], [1, 1]]\n")
    (problem,) = validate_file(path)
    assert f"{path}:2: zones.teacher.1.0:" in problem, problem


def test_loading_a_config_does_not_import_opencv():
    # Config validation runs on every command (and in `edge config validate` on an installer's
    # laptop): it must stay light. Zones geometry is pure NumPy.
    code = "import sys; import edge.config; print('cv2' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("value, message", [("0", "greater than 0"), ("61", "less than or equal"),
                                            ('"15"', "number")])
def test_station_fps_is_a_positive_rate(tmp_path, value, message):
    path = write(tmp_path, f"[pe]\nstation_fps = {value}\n")
    (problem,) = validate_file(path)
    assert problem.startswith(f"{path}:2: pe.station_fps:") and message in problem, problem
    assert EdgeConfig().pe.station_fps == 15.0
