"""Daemon-level real-time alerts: a camera lost (the engines raise the others, see edge.alerts).

A camera is *lost* when its state becomes ``stalled`` or ``unreachable``; one ``camera_lost``
alert per loss, re-armed once the camera streams again. The daemon's scheduler loop calls
:meth:`CameraLossWatch.check` every second, so the alert is on its way within a second of the
supervisor noticing; it goes through the store writer like every record (store, outbox, page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from edge.alerts import Alert, alert_record

__all__ = ["LOST_STATES", "CameraLossWatch"]

log = logging.getLogger(__name__)

LOST_STATES = frozenset({"stalled", "unreachable"})


class CameraLossWatch:
    """Turns camera state changes into ``camera_lost`` alert records.

    :param mode: the room's mode, stamped on the records.
    :param now: the records' clock (the daemon clock).
    :param emit: receives each list of alert records (the store writer's ``submit``).
    """

    def __init__(self, mode: str, now: Callable[[], float],
                 emit: Callable[[list[dict[str, Any]]], None]):
        self.mode = mode
        self.now = now
        self.emit = emit
        self._lost: set[str] = set()

    def check(self, states: dict[str, str]) -> None:
        """Compare camera id -> state with what was seen before; emit alerts for new losses."""
        records = []
        for camera, state in sorted(states.items()):
            if state in LOST_STATES and camera not in self._lost:
                self._lost.add(camera)
                log.warning("camera %s lost (%s): alert raised", camera, state)
                record = alert_record(Alert("camera_lost", self.now(), camera=camera), self.mode)
                record["camera"] = camera
                records.append(record)
            elif state == "streaming":
                self._lost.discard(camera)
        if records:
            self.emit(records)
