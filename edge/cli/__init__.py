"""The `edge` command line: a thin shell whose sub-commands are discovered as plugins."""

from .common import CliError, config_from_args

__all__ = ["CliError", "config_from_args"]
