"""The daemon behind `edge run`: capture, analysis, lessons, store, web and plug-in services.

Each job runs in its own small loop (thread) that reports a heartbeat to :class:`Heartbeats`,
so a supervisor (the systemd watchdog) can tell a wedged loop from a busy one. Frames never
leave memory; only gated aggregate records reach the store, the page and the publisher.
"""

from .daemon import Daemon
from .heartbeat import Heartbeats

__all__ = ["Daemon", "Heartbeats"]
