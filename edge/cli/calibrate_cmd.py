"""`edge calibrate VERB`: technician tools, one module per verb.

Each verb lives in its own module exposing ``register_verb(verbs)`` (add a parser to the
``calibrate`` sub-parsers and ``set_defaults(func=handler)``). To add a verb (camera, zones,
field), write the module and add one line to :data:`VERBS`; nothing else changes.
"""

from __future__ import annotations

import argparse
import importlib

VERBS: dict[str, str] = {
    "audio": "edge.cli.calibrate_audio",
    "camera": "edge.cli.calibrate_camera",
    "field": "edge.cli.calibrate_field",
    "sensors": "edge.cli.calibrate_sensors",
    "zones": "edge.cli.calibrate_zones",
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge calibrate` with every verb in :data:`VERBS`."""
    parser = sub.add_parser("calibrate", help="technician tools: check and calibrate inputs")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for module in VERBS.values():
        importlib.import_module(module).register_verb(verbs)
