"""Write calibrated zones into a config TOML file, keeping the rest of the file as it was.

Used by the calibration page (``PUT /api/calibration/zones``) and ``edge calibrate zones``. The
new file is written beside the old one, validated as a whole config, and only then moved into
place, so a failed save never leaves a broken or half-written config.
"""

from __future__ import annotations

import os
from pathlib import Path

import tomlkit

from .loader import ConfigError, load_config
from .zones import ZonesConfig

__all__ = ["save_zones", "zones_table"]


def zones_table(zones: ZonesConfig) -> tomlkit.items.Table:
    """``zones`` as a TOML table; unset zones are left out."""
    data = zones.model_dump(mode="json", exclude_none=True)
    table = tomlkit.table()
    for key in ("teacher", "board"):
        if key in data:
            table.add(key, _points(data[key]))
    if data.get("stations"):
        stations = tomlkit.table(is_super_table=True)
        for name, station in data["stations"].items():
            entry = tomlkit.table()
            entry.add("exercise", station["exercise"])
            entry.add("polygon", _points(station["polygon"]))
            stations.add(name, entry)
        table.add("stations", stations)
    if "floor" in data:
        floor = tomlkit.table()
        floor.add("image", _points(data["floor"]["image"]))
        floor.add("world_m", _points(data["floor"]["world_m"]))
        table.add("floor", floor)
    return table


def _points(points: list[list[float]]) -> tomlkit.items.Array:
    # Two decimals: sub-pixel / centimetre precision is all calibration can offer.
    return tomlkit.array([[round(float(x), 2), round(float(y), 2)] for x, y in points])


def save_zones(path: str | Path, zones: ZonesConfig) -> None:
    """Replace the ``[zones]`` of the config file at ``path`` (created when missing).

    Comments and every other section are kept. The result must load with
    :func:`edge.config.load_config`, else nothing is changed.

    :raises ConfigError: when the existing file is not valid TOML, the result does not validate,
        or the file cannot be written.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}:0: cannot read: {exc}"]) from None
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError([f"{path}:{exc.line}: TOML syntax: {exc}"]) from None
    if "zones" in document:
        del document["zones"]
    table = zones_table(zones)
    if table:
        document.add("zones", table)
    _replace_validated(path, tomlkit.dumps(document))


def _replace_validated(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp, env={})  # the whole config, so a save cannot break what the daemon loads
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except ConfigError as exc:
        raise ConfigError([p.replace(str(tmp), str(path)) for p in exc.problems]) from None
    except OSError as exc:
        raise ConfigError([f"{path}:0: cannot write: {exc.strerror or exc}"]) from None
    finally:
        tmp.unlink(missing_ok=True)
