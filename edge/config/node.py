"""Who this device is: MQTT identity, operating mode, state directory."""

from pathlib import Path
from typing import Literal

from pydantic import Field

from .base import StrictModel

__all__ = ["NodeConfig", "PrivacyConfig"]

_ID = r"^[A-Za-z0-9_.-]{1,64}$"


class NodeConfig(StrictModel):
    district: str = Field("district", pattern=_ID, description="District id, first MQTT topic level.")
    school: str = Field("school", pattern=_ID, description="School id.")
    room: str = Field("room", pattern=_ID, description="Classroom or sports-field id.")
    id: str = Field("edge-1", pattern=_ID, description="This device's node id (unique in the room).")
    mode: Literal["classroom", "pe"] = Field("classroom", description="What the room is used for.")
    age: int = Field(12, ge=5, le=20, description="Typical student age (HRmax = 208 - 0.7 x age).")
    demo: bool = Field(False, description="Mark every record as demo data.")
    state_dir: Path = Field(
        Path("/var/lib/classroom-edge"), description="Writable directory for the store and tokens."
    )


class PrivacyConfig(StrictModel):
    min_group: int = Field(
        5, ge=1, le=100, description="Records summarising fewer people have rates suppressed."
    )
