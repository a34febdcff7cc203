"""`edge calibrate field [--config F] [--set FLOOR.json]`: the floor calibration (pixels -> metres).

The JSON is ``{"image": [[x, y] x 4], "world_m": [[x, y] x 4]}``: four floor points in camera
pixels and the same points measured on the floor in metres (e.g. the corners of a court or of
a taped rectangle). It is validated (four points each, spanning a plane), shown as the local
scale it implies, and saved as ``[zones.floor]`` with the rest of the config kept.
"""

from __future__ import annotations

import argparse

from edge.config import ConfigError, FloorConfig
from edge.geometry.plane import FloorMap

from .calibrate_zones import read_json_model
from .common import EXIT_OK, EXIT_USAGE, CliError, add_config_argument, config_from_args


def register_verb(verbs: argparse._SubParsersAction) -> None:
    """Add `edge calibrate field`."""
    parser = verbs.add_parser(
        "field", help="show or set the floor calibration (four points, pixels -> metres)",
        description="Without --set: print the floor calibration in force and the scale it gives. "
        "With --set: validate FLOOR.json and save it as [zones.floor] into the --config file.",
    )
    add_config_argument(parser)
    parser.add_argument("--set", metavar="FLOOR.json", dest="floor_file",
                        help='{"image": [[x, y] x 4], "world_m": [[x, y] x 4]}')
    parser.set_defaults(func=_calibrate_field)


def describe_floor(floor: FloorConfig) -> list[str]:
    """Readable lines: each point with its metres, and the scale at the points' centre."""
    floor_map = FloorMap(floor.image, floor.world_m)
    lines = [f"  image ({x:.0f}, {y:.0f}) px -> floor ({wx:.2f}, {wy:.2f}) m"
             for (x, y), (wx, wy) in zip(floor.image, floor.world_m)]
    cx = sum(p[0] for p in floor.image) / 4
    cy = sum(p[1] for p in floor.image) / 4
    lines.append(f"  scale at ({cx:.0f}, {cy:.0f}): {100 * floor_map.metres_per_pixel((cx, cy)):.2f} "
                 "cm per pixel")
    return lines


def _calibrate_field(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.floor_file is None:
        if config.zones.floor is None:
            print("no floor calibration: distances are in body-scale units. Set one with "
                  "`edge calibrate field --config F --set FLOOR.json`.")
        else:
            print("floor calibration:\n" + "\n".join(describe_floor(config.zones.floor)))
        return EXIT_OK
    if not args.config:
        raise CliError("--set needs --config FILE: the floor is saved into that file", EXIT_USAGE)
    floor = read_json_model(args.floor_file, FloorConfig)
    from edge.config.zones_file import save_zones

    try:
        save_zones(args.config, config.zones.model_copy(update={"floor": floor}))
    except ConfigError as exc:
        raise CliError("; ".join(exc.problems), EXIT_USAGE) from None
    print(f"{args.config}: floor saved; restart `edge run` to use it\n" + "\n".join(describe_floor(floor)))
    return EXIT_OK
