"""Real-time feed of a scene file (``edge.scene/v1``) standing in for a camera and sensors.

Samples are released when their time comes (relative to the file's first sample), restamped on
the daemon clock, and fed to the lesson; with ``loop`` the file starts over at its end. This is
how the demo shows a live class with audio, heart rate and environment without hardware. A file
edited or removed under the feed is retried on the backoff ladder.
"""

from __future__ import annotations

import time
from pathlib import Path

from sensors.scene import SceneSource

from .supervised import FeedContext, SupervisedFeed

__all__ = ["SceneFeed"]


class SceneFeed(SupervisedFeed):
    """Feeds the scene at ``path`` as the context's stream until stopped."""

    def __init__(self, path: str | Path, loop: bool, ctx: FeedContext):
        super().__init__(ctx)
        self.path = Path(path)
        self.once = not loop
        self.name = f"scene:{ctx.stream}"

    def play(self) -> None:
        started, first_t = time.monotonic(), None
        with SceneSource(self.path) as source:
            for sample in source:
                first_t = sample.t if first_t is None else first_t
                if not self.sleep(started + (sample.t - first_t) - time.monotonic()):
                    return
                self.deliver(sample)
