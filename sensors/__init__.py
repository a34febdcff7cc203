"""sensors layer: inputs (files, cameras, scene replays, audio, wearables) as timestamped samples."""

from typing import Any

from sensors.errors import SourceError

__all__ = ["SourceError", "open_source"]


def __getattr__(name: str) -> Any:
    # open_source pulls in OpenCV; loaded on first use so that light importers (the config
    # model reading sensors.const) do not pay for it.
    if name == "open_source":
        from sensors.dispatch import open_source

        return open_source
    raise AttributeError(f"module 'sensors' has no attribute {name!r}")
