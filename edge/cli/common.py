"""What every sub-command shares: the error type that maps to an exit code, config loading."""

from __future__ import annotations

import argparse

from edge.config import ConfigError, EdgeConfig, load_config

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """One clear line for the user, and the exit code (2 usage/config, 1 runtime failure)."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add the standard ``--config F`` option."""
    parser.add_argument("--config", metavar="F", help="TOML config file (default: built-in defaults)")


def config_from_args(args: argparse.Namespace) -> EdgeConfig:
    """Load the config named by ``--config`` (plus EDGE__ overrides), or raise a usage CliError."""
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError("\n".join(exc.problems), EXIT_USAGE) from None
