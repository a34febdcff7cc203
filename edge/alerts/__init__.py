"""Real-time alerts: one typed record, raised the moment a condition is detected (SPEC 7 `agg/alert`)."""

from .record import ALERT_KINDS, Alert, AlertSource, alert_record

__all__ = ["ALERT_KINDS", "Alert", "AlertSource", "alert_record"]
