"""Plug-in services started with the daemon (e.g. the MQTT publisher from sync/).

edge/ must not import sync/ (data flows one way), so services register under the entry-point
group ``classroom_edge.services`` as ``name = "pkg.module:start"`` with
``start(config, store_path, stop_event, live) -> threading.Thread | None`` (None: the service
is configured off). A service that fails to load or start is logged as an error, loudly, and
the daemon keeps running without it: aggregates still reach the store and its outbox.
"""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points
from pathlib import Path

from edge.config import EdgeConfig
from edge.lesson.live import LiveState

from .heartbeat import Heartbeats

__all__ = ["SERVICE_GROUP", "start_services", "watch_services"]

log = logging.getLogger(__name__)

SERVICE_GROUP = "classroom_edge.services"


def start_services(config: EdgeConfig, store_path: Path, stop: threading.Event,
                   live: LiveState) -> dict[str, threading.Thread]:
    """Start every installed service; returns the threads of those that run."""
    threads: dict[str, threading.Thread] = {}
    for ep in sorted(entry_points(group=SERVICE_GROUP), key=lambda e: e.name):
        try:
            thread = ep.load()(config, store_path, stop, live)
        except Exception as exc:  # noqa: BLE001 - any plug-in failure is reported, not fatal
            log.error("service %s (%s) FAILED to start: %s: %s; running without it",
                      ep.name, ep.value, type(exc).__name__, exc)
            continue
        if thread is None:
            log.info("service %s: off by configuration", ep.name)
            continue
        threads[ep.name] = thread
        log.info("service %s started", ep.name)
    return threads


def watch_services(threads: dict[str, threading.Thread], heartbeats: Heartbeats,
                   live: LiveState) -> None:
    """Beat ``service <name>`` for each running service; report the ones whose thread died.

    Called once per scheduler pass while the daemon runs (services stop only with it), so a
    dead thread is a failure: health answers 503 and its heartbeat goes stale, which stops
    the systemd watchdog pings (systemd then restarts the daemon).
    """
    for name, thread in threads.items():
        component = f"service {name}"
        if thread.is_alive():
            heartbeats.beat(component)
        else:
            heartbeats.dead(component)
            if live.set_problem(component, "stopped"):
                log.error("service %s stopped unexpectedly; the daemon is unhealthy", name)
