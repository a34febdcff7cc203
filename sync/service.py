"""The publisher as a daemon service (entry point ``classroom_edge.services: publisher``).

`edge run` loads this without importing sync/ (edge/ never imports upward): it calls
:func:`start`, which drains the store's outbox to the broker on its own thread until the
daemon's stop event is set, and reports the outbox depth to the live page's counters.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from edge.config import EdgeConfig
from edge.lesson.live import LiveState

from edge.store import outbox
from .publisher import OutboxPublisher

__all__ = ["camera_status", "start"]

log = logging.getLogger(__name__)

DEPTH_EVERY_S = 5.0


def start(config: EdgeConfig, store_path: Path, stop: threading.Event,
          live: LiveState) -> threading.Thread | None:
    """Start publishing; None when ``mqtt.enabled`` is false.

    :raises edge.store.outbox.OutboxError: the store has no outbox (the daemon logs it loudly).
    """
    if not config.mqtt.enabled:
        return None
    publisher = OutboxPublisher(store_path, config.mqtt, config.node,
                                sources=sorted(config.cameras),
                                camera_status=lambda: camera_status(live))
    thread = threading.Thread(target=_publish, args=(publisher, stop), name="publisher",
                              daemon=True)
    thread.start()
    threading.Thread(target=_report_depth, args=(store_path, stop, live), name="outbox-depth",
                     daemon=True).start()
    return thread


def camera_status(live: LiveState) -> dict[str, dict[str, int | str]]:
    """Camera id -> the state machine's state and counters, as published on cam/<id>/status."""
    return {camera: {"state": c.state, "frames": c.frames, "reconnects": c.reconnects,
                     "failures": c.failures}
            for camera, c in live.counters()["cameras"].items()}


def _publish(publisher: OutboxPublisher, stop: threading.Event) -> None:
    try:
        publisher.run(stop)
    except Exception:
        log.exception("publisher stopped by an error; aggregates wait in the outbox")
    finally:
        publisher.close()


def _report_depth(store_path: Path, stop: threading.Event, live: LiveState) -> None:
    """Outbox depth for /metrics, read on its own connection (the publisher's is its own)."""
    db = outbox.open_outbox(store_path)
    try:
        while not stop.wait(DEPTH_EVERY_S):
            live.set_outbox_depth(outbox.stats(db).unsent)
    finally:
        db.close()
