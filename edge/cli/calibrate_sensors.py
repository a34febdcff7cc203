"""`edge calibrate sensors [--timeout S] [--zero-co2 [NAME]] [--json]`.

Reads every configured environment sensor once and shows its values and health (counters, last
error). ``--zero-co2`` sends the zero-point (400 ppm) command to MH-Z19 modules: only after the
module has been in fresh outdoor air for 20 minutes, or every later reading will be wrong.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)


def register_verb(verbs: argparse._SubParsersAction) -> None:
    """Add `edge calibrate sensors`."""
    parser = verbs.add_parser(
        "sensors", help="read each environment sensor once; CO2 zero-point calibration",
        description="Reads each sensor in environment.sensors once and prints values and health. "
        "Exit 1 when a sensor gives no valid reading.",
    )
    add_config_argument(parser)
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="seconds to wait for an MQTT sensor's next message (default 5)")
    parser.add_argument("--zero-co2", nargs="?", const="*", metavar="NAME",
                        help="send the zero-point command to MH-Z19 sensors (all, or NAME); "
                        "only in fresh outdoor air after 20 minutes of warm-up")
    parser.add_argument("--json", action="store_true", help="one JSON object per sensor")
    parser.set_defaults(func=_calibrate_sensors)


def _zero_point(cfg: Any, wanted: str) -> None:
    from sensors.co2_serial import PROTOCOLS, SerialCo2Sensor

    targets = [s for s in cfg.sensors if s.type.startswith("serial_")
               and (wanted == "*" or s.name == wanted)]
    if not targets:
        raise CliError(f"--zero-co2: no serial CO2 sensor named {wanted!r} configured", EXIT_USAGE)
    for sensor_cfg in targets:
        if PROTOCOLS[sensor_cfg.type].zero_point is None:
            raise CliError(f"{sensor_cfg.name}: {PROTOCOLS[sensor_cfg.type].name} zero-point "
                           "calibration is not supported (use the module's bCAL pin)", EXIT_USAGE)
        try:
            SerialCo2Sensor(sensor_cfg.port, sensor_cfg.type, sensor_cfg.timeout_s).zero_point()
        except OSError as exc:  # serial.SerialException is an OSError
            raise CliError(f"{sensor_cfg.name}: zero-point command not sent: {exc}", EXIT_FAILURE) from None
        print(f"{sensor_cfg.name}: zero-point (400 ppm) command sent to {sensor_cfg.port}")


def _read_all(cfg: Any, timeout_s: float) -> list[dict[str, Any]]:
    from edge.daemon.env_sensors import open_env_sensor
    from sensors.errors import SourceError

    results = []
    for sensor_cfg in cfg.sensors:
        row: dict[str, Any] = {"name": sensor_cfg.name, "type": sensor_cfg.type}
        try:
            sensor = open_env_sensor(sensor_cfg)
        except SourceError as exc:
            results.append({**row, "values": None, "health": {"last_error": str(exc)}})
            continue
        try:
            sample = sensor.read_once(timeout_s)
            row["values"] = None if sample is None else sample.values
            row["health"] = sensor.health()
        finally:
            sensor.close()
        results.append(row)
    return results


def _calibrate_sensors(args: argparse.Namespace) -> int:
    cfg = config_from_args(args).environment
    if not cfg.sensors:
        raise CliError("no environment sensors configured (environment.sensors is empty)", EXIT_USAGE)
    if args.timeout <= 0:
        raise CliError(f"--timeout must be > 0, got {args.timeout:g}", EXIT_USAGE)
    if args.zero_co2:
        _zero_point(cfg, args.zero_co2)
    results = _read_all(cfg, args.timeout)
    for row in results:
        if args.json:
            print(json.dumps(row))
            continue
        values = ", ".join(f"{k} {v:g}" for k, v in (row["values"] or {}).items()) or "no reading"
        print(f"{row['name']} ({row['type']}): {values}")
        health = row["health"]
        if health.get("last_error"):
            print(f"  last error: {health['last_error']}")
        counters = {k: v for k, v in health.items() if k != "last_error"}
        if counters:
            print("  " + ", ".join(f"{k} {v}" for k, v in counters.items()))
    return EXIT_OK if all(row["values"] for row in results) else EXIT_FAILURE
