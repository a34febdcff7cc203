"""Which config file, TOML loading with line-accurate errors, EDGE__SECTION__KEY overrides.

Every command finds its file the same way (:func:`resolve_config`): ``--config``, else
``$EDGE_CONFIG``, else the installed ``/etc/classroom-edge/edge.toml`` when it exists, else the
built-in defaults; and says which it used.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .base import Mistyped

if TYPE_CHECKING:
    from . import EdgeConfig

ENV_PREFIX = "EDGE__"
CONFIG_ENV = "EDGE_CONFIG"
INSTALLED_CONFIG = Path("/etc/classroom-edge/edge.toml")


@dataclass(frozen=True)
class ConfigSource:
    """The config file a command uses (None = built-in defaults) and how it was chosen."""

    path: Path | None
    origin: str  # "--config", "$EDGE_CONFIG", "installed" or "defaults"

    def describe(self) -> str:
        """E.g. ``/etc/classroom-edge/edge.toml (installed)`` or ``built-in defaults (...)``."""
        if self.path is None:
            return (f"built-in defaults (no --config, no ${CONFIG_ENV}, "
                    f"no {INSTALLED_CONFIG})")
        return f"{self.path} ({self.origin})"


def resolve_config(explicit: str | Path | None, env: Mapping[str, str] | None = None,
                   installed: Path = INSTALLED_CONFIG) -> ConfigSource:
    """The config every command uses: ``explicit`` (``--config``), else ``$EDGE_CONFIG``, else
    ``installed`` when that file exists, else the built-in defaults.

    A named file that does not exist is still returned: loading it then fails with one clear
    line, rather than silently falling back to defaults.
    """
    env = os.environ if env is None else env
    if explicit:
        return ConfigSource(Path(explicit), "--config")
    if env.get(CONFIG_ENV):
        return ConfigSource(Path(env[CONFIG_ENV]), f"${CONFIG_ENV}")
    if installed.is_file():
        return ConfigSource(installed, "installed")
    return ConfigSource(None, "defaults")


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` holds one ``file:line: message`` per error."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> "EdgeConfig":
    """Read ``path`` (defaults only when None), apply ``EDGE__...`` overrides, validate.

    :raises ConfigError: with every problem found, each located as ``file:line: message``.
    """
    from . import EdgeConfig

    env = os.environ if env is None else env
    text, raw = ("", {}) if path is None else _read_toml(Path(path))
    origins: dict[tuple[str, ...], str] = {}
    raw = apply_env_overrides(raw, env, origins)
    try:
        return EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_locate(exc, str(path or "<defaults>"), text, origins)) from None


def validate_file(path: str | Path, env: Mapping[str, str] | None = None) -> list[str]:
    """Problems in a config file as ``file:line: message`` strings (empty when valid)."""
    try:
        load_config(path, env=env if env is not None else {})
    except ConfigError as exc:
        return exc.problems
    return []


def apply_env_overrides(
    raw: dict[str, Any], env: Mapping[str, str], origins: dict[tuple[str, ...], str] | None = None
) -> dict[str, Any]:
    """Return ``raw`` with ``EDGE__A__B=value`` set at ``raw[a][b]`` (value parsed as JSON if it can be)."""
    merged = json.loads(json.dumps(raw))
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        keys = tuple(k.lower() for k in name[len(ENV_PREFIX):].split("__"))
        node = merged
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[keys[-1]] = _parse_env_value(env[name])
            if origins is not None:
                origins[keys] = name
    return merged


def _parse_env_value(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}:0: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}:0: not UTF-8 text"]) from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "0"
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError([f"{path}:{line}: TOML syntax: {message}"]) from None


def _locate(
    exc: ValidationError, filename: str, text: str, origins: dict[tuple[str, ...], str]
) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"] if not isinstance(p, int))
        where = _env_origin(loc, origins)
        if where is None:
            where = f"{filename}:{find_line(text, loc)}"
        dotted = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not in the schema; see `edge config schema`)"
        elif isinstance(err.get("input"), Mistyped):
            msg += f", got {err['input']!r}"  # e.g. "got true (a boolean)": never read as 1
        problems.append(f"{where}: {dotted}: {msg}")
    return problems


def _env_origin(loc: tuple[str, ...], origins: dict[tuple[str, ...], str]) -> str | None:
    for n in range(len(loc), 0, -1):
        if loc[:n] in origins:
            return f"env:{origins[loc[:n]]}"
    return None


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")


def find_line(text: str, loc: tuple[str, ...]) -> int:
    """Best line number for a key path in TOML text: the key's own line, else its table header.

    Handles ``[a.b]`` tables, dotted keys (``a.b = 1``) and keys inside tables. Returns 0 when the
    path is not in the file (a missing required key is reported against the file as a whole).
    """
    best = (0, 0)  # (matched depth, line)
    table: tuple[str, ...] = ()
    for lineno, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            full = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = table + _split_key(key.group(1))
        depth = _common_prefix(full, loc)
        if depth > best[0] and (depth == len(full) or depth == len(loc)):
            best = (depth, lineno)
    return best[1]


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key))


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
