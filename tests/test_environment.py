"""Environment validation (range, stuck, stale), compliance per SPEC 4.3, and the file source."""

from __future__ import annotations

import pytest

from edge.config import EdgeConfig
from edge.config.sources import EnvironmentConfig, ValidRange
from edge.metrics.environment import EnvironmentEngine, ReadingValidator
from sensors.env_file import EnvironmentFileSource
from sensors.errors import SourceError
from sensors.samples import AudioFeatures, EnvironmentSample


def env(t: float, **values: float) -> EnvironmentSample:
    return EnvironmentSample(t=t, values=values)


def kinds(result) -> set[tuple[str, str]]:
    return {(a["kind"], a.get("quantity", "")) for a in result.metrics["env"]["alerts"]}


def test_out_of_range_readings_are_rejected_and_counted():
    engine = EnvironmentEngine(EnvironmentConfig())
    for t, ppm in [(0, 800), (10, 50000), (20, 820), (25, -5)]:
        engine.on_environment(env(t, co2_ppm=ppm))
    block = engine.close_window(0, 30).metrics["env"]
    assert block["co2_ppm"] == 810.0
    assert engine.health()["co2_ppm"] == {"accepted": 2, "out_of_range": 2}
    assert {"kind": "out_of_range", "quantity": "co2_ppm", "count": 2} in block["alerts"]


def test_overriding_one_range_keeps_the_others():
    cfg = EnvironmentConfig(ranges={"co2_ppm": ValidRange(low=350, high=5000)})
    assert cfg.ranges["co2_ppm"].high == 5000 and cfg.ranges["rh"].high == 100
    with pytest.raises(ValueError):
        ValidRange(low=10, high=5)


def test_stuck_sensor_is_flagged_until_the_value_moves():
    validator = ReadingValidator(EnvironmentConfig(stuck_after_s=600))
    assert [validator.check("temp_c", t, 22.0) for t in (0, 300, 599)] == ["accepted"] * 3
    assert validator.check("temp_c", 600, 22.0) == "stuck"
    assert validator.check("temp_c", 900, 22.0) == "stuck"
    assert validator.check("temp_c", 960, 22.1) == "accepted"
    assert validator.counters["temp_c"] == {"accepted": 4, "stuck": 2}
    never = ReadingValidator(EnvironmentConfig(stuck_after_s=None))
    assert {never.check("rh", t, 40.0) for t in range(0, 10000, 500)} == {"accepted"}


def test_stale_readings_are_carried_while_fresh_then_null_with_an_alert():
    engine = EnvironmentEngine(EnvironmentConfig(stale_after_s=90))
    engine.on_environment(env(5, co2_ppm=700, lux_desk=350))
    assert engine.close_window(0, 30).metrics["env"]["co2_ppm"] == 700.0
    carried = engine.close_window(30, 60).metrics["env"]  # no reading: last one still fresh
    assert carried["co2_ppm"] == 700.0 and carried["compliance"]["lux_desk"] is True
    stale = engine.close_window(90, 120)
    assert stale.metrics["env"]["co2_ppm"] is None
    assert stale.metrics["env"]["compliance"]["co2"] is None
    assert ("sensor_stale", "co2_ppm") in kinds(stale)


def test_compliance_thresholds_and_alerts():
    engine = EnvironmentEngine(EdgeConfig().environment)
    engine.on_environment(env(1, co2_ppm=1400, lux_desk=320, lux_board=480, temp_c=24.0, rh=45))
    engine.on_environment(env(20, co2_ppm=1700, lux_desk=290, lux_board=470))
    result = engine.close_window(0, 30)
    block = result.metrics["env"]
    assert result.n is None and not result.rate_keys
    assert block["co2_ppm"] == 1550.0 and block["lux_desk"] == 305.0
    assert block["compliance"] == {"co2": False, "lux_desk": True, "lux_board": False}
    assert kinds(result) == {("co2_high", "co2_ppm"), ("lux_board_low", "lux_board")}
    engine.on_environment(env(40, co2_ppm=900, lux_desk=500, lux_board=600))
    assert engine.close_window(30, 60).metrics["env"]["compliance"] == {
        "co2": True, "lux_desk": True, "lux_board": True}
    lesson = engine.close_lesson(0, 60).metrics["env"]
    assert lesson["compliance_share"] == {"co2": 0.5, "lux_desk": 1.0, "lux_board": 0.5}
    assert {"kind": "co2_high", "windows": 1} in lesson["alerts"]
    assert lesson["co2_ppm"] == pytest.approx((1400 + 1700 + 900) / 3, abs=0.1)


def test_noise_is_an_energy_mean_from_a_sensor_or_else_the_microphone():
    engine = EnvironmentEngine(EnvironmentConfig())
    engine.on_environment(env(0, co2_ppm=600))
    for t, dba in [(0, 50.0), (0.5, 60.0)]:
        engine.on_audio(AudioFeatures(t=t, speech=0.0, dba=dba))
    assert engine.close_window(0, 30).metrics["env"]["noise_dba"] == pytest.approx(57.4, abs=0.05)
    engine.on_environment(env(31, noise_dba=45.0))
    engine.on_audio(AudioFeatures(t=31, speech=0.0, dba=70.0))
    assert engine.close_window(30, 60).metrics["env"]["noise_dba"] == 45.0


def test_no_environment_source_means_no_block():
    engine = EnvironmentEngine(EnvironmentConfig())
    engine.on_audio(AudioFeatures(t=0, speech=1.0, dba=60.0))
    assert engine.close_window(0, 30) is None
    assert engine.close_lesson(0, 30) is None


def test_file_sources_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "log.csv"
    csv_path.write_text("t,co2_ppm,temp_c,battery\n0,650,22.5,90\n60,,22.7,90\n120,700,,89\n")
    samples = list(EnvironmentFileSource(csv_path))
    assert [s.values for s in samples] == [
        {"co2_ppm": 650.0, "temp_c": 22.5}, {"temp_c": 22.7}, {"co2_ppm": 700.0}]
    jsonl = tmp_path / "scene.jsonl"
    jsonl.write_text('{"format": "edge.scene/v1", "mode": "classroom"}\n'
                     '{"t": 1.0, "env": {"co2_ppm": 900, "lux_desk": 420}}\n'
                     '{"t": 1.5, "people": []}\n{"t": 2.0, "rh": 44}\n')
    assert [(s.t, s.values) for s in EnvironmentFileSource(jsonl)] == [
        (1.0, {"co2_ppm": 900.0, "lux_desk": 420.0}), (2.0, {"rh": 44.0})]


@pytest.mark.parametrize("text, problem", [
    ('{"t": 1, "co2_ppm": "high"}\n', "co2_ppm is not a number"),
    ('{"co2_ppm": 5}\n', "missing t"),
    ('{"t": 5, "rh": 40}\n{"t": 4, "rh": 41}\n', "t goes backwards"),
    ("{nope\n", "malformed JSON"),
])
def test_file_source_errors_name_the_line(tmp_path, text, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(SourceError, match=problem) as info:
        list(EnvironmentFileSource(path))
    assert str(info.value).startswith(f"{path}:")
