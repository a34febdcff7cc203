"""`edge config validate F` and `edge config schema`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from edge.config import EdgeConfig, validate_file

from .common import EXIT_OK, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="validate a config file or print the JSON Schema")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    validate = verbs.add_parser("validate", help="check a TOML config; exit 2 with file:line errors")
    validate.add_argument("file")
    validate.set_defaults(func=_validate)
    schema = verbs.add_parser("schema", help="print the JSON Schema generated from the config model")
    schema.set_defaults(func=_schema)


def _validate(args: argparse.Namespace) -> int:
    # What `edge run` would load: the file plus EDGE__... overrides from this environment.
    problems = validate_file(args.file, env=os.environ)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print(f"{args.file}: ok")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(config_schema(), indent=2))
    return EXIT_OK


def config_schema() -> dict:
    """The JSON Schema of the configuration, generated from the pydantic model."""
    schema = EdgeConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "classroom-edge configuration"
    return schema
