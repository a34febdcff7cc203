"""`edge calibrate zones [--config F] [--set ZONES.json]`: print the zones, or set them from JSON.

The JSON has the shape of the ``[zones]`` section (SPEC 5): ``teacher``, ``board`` (polygons),
``stations`` ({name: {exercise, polygon}}) and ``floor`` ({image, world_m}, four points each),
in pixels of the camera image. It is validated as a whole, then written into the config file
with the rest of the file kept (the same writer the calibration page uses).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from edge.config import ConfigError, ZonesConfig

from .common import EXIT_OK, EXIT_USAGE, CliError, add_config_argument, config_from_args

ModelT = TypeVar("ModelT", bound=BaseModel)


def register_verb(verbs: argparse._SubParsersAction) -> None:
    """Add `edge calibrate zones`."""
    parser = verbs.add_parser(
        "zones", help="print the calibrated zones, or set them from a JSON file",
        description="Without --set: print the zones in force as JSON. With --set: validate the "
        "JSON file and save it as [zones] into the --config file (other settings are kept).",
    )
    add_config_argument(parser)
    parser.add_argument("--set", metavar="ZONES.json", dest="zones_file",
                        help="zones to validate and save into the config file")
    parser.set_defaults(func=_calibrate_zones)


def read_json_model(path: str | Path, model: type[ModelT]) -> ModelT:
    """A config section from a JSON file, or a usage CliError with every problem on one line."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path}: no such file", EXIT_USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read: {exc}", EXIT_USAGE) from None
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})", EXIT_USAGE) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                             for e in exc.errors())
        raise CliError(f"{path}: {problems}", EXIT_USAGE) from None


def _calibrate_zones(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.zones_file is None:
        # One line per zone: polygons stay readable, and the output is still valid JSON.
        data = config.zones.model_dump(mode="json", exclude_none=True)
        lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in data.items()]
        print("{\n" + ",\n".join(lines) + "\n}")
        return EXIT_OK
    if not args.config:
        raise CliError("--set needs --config FILE: the zones are saved into that file", EXIT_USAGE)
    zones = read_json_model(args.zones_file, ZonesConfig)
    from edge.config.zones_file import save_zones

    try:
        save_zones(args.config, zones)
    except ConfigError as exc:
        raise CliError("; ".join(exc.problems), EXIT_USAGE) from None
    print(f"{args.config}: zones saved ({', '.join(_names(zones)) or 'none'}); "
          "restart `edge run` to use them")
    return EXIT_OK


def _names(zones: ZonesConfig) -> list[str]:
    data = zones.model_dump(exclude_none=True)
    return [k for k in ("teacher", "board", "floor") if k in data] + \
        [f"station {name}" for name in data.get("stations", {})]
