"""Supervised feeds of the running daemon, one small module per kind of source.

Cameras have their own capture and analysis loops (``edge/daemon/capture.py``); every other
source is a :class:`~.supervised.SupervisedFeed`: microphone or WAV (:mod:`.audio`), environment
sensors (:mod:`.environment`), heart-rate bands (:mod:`.heart_rate`) and scene files standing in
for a camera (:mod:`.scene`). :func:`sensor_feeds` builds the ones a config asks for.
"""

from edge.config import EdgeConfig

from .audio import AudioFeed, audio_feed
from .environment import EnvironmentFeed, environment_feeds
from .heart_rate import HeartRateFeed, heart_rate_feed
from .scene import SceneFeed
from .supervised import FeedContext, SupervisedFeed

__all__ = ["AudioFeed", "EnvironmentFeed", "FeedContext", "HeartRateFeed", "SceneFeed",
           "SupervisedFeed", "audio_feed", "environment_feeds", "heart_rate_feed",
           "sensor_feeds"]


def sensor_feeds(config: EdgeConfig, ctx: FeedContext) -> list[SupervisedFeed]:
    """The microphone, environment and heart-rate feeds ``config`` asks for."""
    feeds: list[SupervisedFeed] = []
    if audio := audio_feed(config.audio, ctx):
        feeds.append(audio)
    feeds += environment_feeds(config.environment.sensors, ctx)
    if hr := heart_rate_feed(config.heart_rate, ctx):
        feeds.append(hr)
    return feeds
