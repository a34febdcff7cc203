"""Names every layer shares: room modes, environment quantities, exercises, camera states.

Defined once, at the bottom of the import graph (``sensors -> models -> edge -> sync``), so the
scene reader, the config model, the metric engines, the store and the MQTT contract all agree.
Each ``Literal`` type is the source; its tuple of values is derived from it.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal, get_args

__all__ = [
    "CAMERA_STATES",
    "EXERCISES",
    "MODES",
    "QUANTITIES",
    "CameraState",
    "Exercise",
    "Mode",
    "Quantity",
]

Mode = Literal["classroom", "pe"]
MODES: tuple[str, ...] = get_args(Mode)

# Environment quantities (SPEC 4.3) as scene files, sensor configs and records name them.
Quantity = Literal["co2_ppm", "temp_c", "rh", "lux_desk", "lux_board", "noise_dba"]
QUANTITIES: tuple[str, ...] = get_args(Quantity)

# Station exercises with a repetition counter (SPEC 4.2).
Exercise = Literal["situp", "rope_skip", "jumping_jack", "squat", "pullup"]
EXERCISES: tuple[str, ...] = get_args(Exercise)


class CameraState(str, Enum):
    """Where a camera is in its life; the value is what health and MQTT show."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    STALLED = "stalled"
    UNREACHABLE = "unreachable"
    STOPPED = "stopped"  # the daemon stopped capturing


CAMERA_STATES: tuple[str, ...] = tuple(state.value for state in CameraState)
