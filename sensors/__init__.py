"""sensors layer: inputs (files, cameras, scene replays, audio, wearables) as timestamped samples."""

from sensors.dispatch import open_source
from sensors.errors import SourceError

__all__ = ["SourceError", "open_source"]
