"""Classroom metrics (SPEC 4.1): per-frame pose features, event state machines, the engine."""

from edge.metrics.classroom.engine import ClassroomEngine

__all__ = ["ClassroomEngine"]
