"""The alert record: what a real-time alert may say (a kind, a time, how many), never who.

An alert is raised once per episode, the moment it is detected, and leaves the device at once as
a record of type ``alert`` (store table ``alerts``, outbox kind ``alert``, MQTT ``agg/alert``),
not only inside the next window. Its shape follows the aggregate records so the store, the
outbox and the hub handle it like them::

    {"type": "alert", "mode": "pe", "start": t, "end": t, "n": 1, "suppressed": false,
     "metrics": {"alert": {"kind": "fall", "count": 1}}}

``n`` is the number of students involved (a fall is one student; a count is not an identity)
and an alert is never suppressed by the small-group rule: a teacher must hear about one
student's fall. ``value`` carries a reading where one applies (CO2 ppm) and ``camera`` the
configured camera id for ``camera_lost`` (a device, not a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["ALERT_KINDS", "Alert", "AlertSource", "alert_record"]

ALERT_KINDS = ("fall", "hr_high", "hr_contact_lost", "co2_high", "camera_lost")


@dataclass(frozen=True)
class Alert:
    """One real-time alert. :raises ValueError: for a kind outside :data:`ALERT_KINDS`."""

    kind: str
    t: float  # detection time, on the records' clock
    count: int | None = None  # students involved (None: not about students)
    value: float | None = None  # the reading that crossed the limit
    camera: str | None = None  # for camera_lost

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"alert kind must be one of {ALERT_KINDS}, got {self.kind!r}")

    def body(self) -> dict[str, Any]:
        """The ``metrics.alert`` object: the kind and whichever of count/value/camera apply."""
        body: dict[str, Any] = {"kind": self.kind}
        for key in ("count", "value", "camera"):
            if (v := getattr(self, key)) is not None:
                body[key] = v
        return body


def alert_record(alert: Alert, mode: str) -> dict[str, Any]:
    """The record of ``alert`` raised in a ``mode`` ("classroom"/"pe") room."""
    t = round(float(alert.t), 3)
    return {"type": "alert", "mode": mode, "start": t, "end": t, "n": alert.count,
            "suppressed": False, "metrics": {"alert": alert.body()}}


@runtime_checkable
class AlertSource(Protocol):
    """A metric engine that raises real-time alerts (polled after every sample it is fed)."""

    def take_alerts(self) -> list[Alert]:
        """Alerts raised since the previous call, each returned once."""
        ...
