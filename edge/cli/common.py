"""What every sub-command shares: the error type that maps to an exit code, config loading."""

from __future__ import annotations

import argparse
import sys

from edge.config import (
    CONFIG_ENV,
    INSTALLED_CONFIG,
    ConfigError,
    EdgeConfig,
    load_config,
    resolve_config,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
CONFIG_HELP = (f"TOML config file (default: ${CONFIG_ENV}, else {INSTALLED_CONFIG} when it exists, "
               "else built-in defaults)")


class CliError(Exception):
    """One clear line for the user, and the exit code (2 usage/config, 1 runtime failure)."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """Add the standard ``--config F`` option."""
    parser.add_argument("--config", metavar="F", help=CONFIG_HELP)



def config_from_args(args: argparse.Namespace, *, writes_state: bool = False) -> EdgeConfig:
    """Load the config every command resolves the same way (:func:`edge.config.resolve_config`),
    plus EDGE__ overrides. A file found without ``--config`` (``$EDGE_CONFIG``, the installed
    one) is named on stderr, and so are the built-in defaults for a command that ``writes_state``
    (tokens under the default state directory must never be a surprise); otherwise nothing is
    said, so an error stays one line. ``args.config`` is set to that file (None for defaults),
    so commands that save into the config (zones) save where they read, and
    ``args.config_source`` to the :class:`~edge.config.ConfigSource`.

    :raises CliError: (usage) when the config is invalid.
    """
    source = resolve_config(getattr(args, "config", None))
    args.config = None if source.path is None else str(source.path)
    args.config_source = source
    if source.origin not in ("--config", "defaults") or (source.origin == "defaults" and writes_state):
        print(f"config: {source.describe()}", file=sys.stderr)
    try:
        return load_config(source.path)
    except ConfigError as exc:
        raise CliError("\n".join(exc.problems), EXIT_USAGE) from None
