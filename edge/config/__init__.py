"""The one typed configuration of classroom-edge.

Find the file with :func:`resolve_config`, load it with :func:`load_config`; errors come back as :class:`ConfigError` whose
``problems`` are ``file:line: message`` strings. The JSON Schema is generated from
:class:`EdgeConfig` (``edge config schema``), never written by hand.
"""

from pydantic import Field

from .base import Name, StrictModel
from .loader import (
    CONFIG_ENV,
    INSTALLED_CONFIG,
    ConfigError,
    ConfigSource,
    apply_env_overrides,
    load_config,
    resolve_config,
    validate_file,
)
from .metrics import ClassroomConfig, PEConfig, WindowConfig
from .network import MqttConfig, TlsConfig, WebConfig
from .node import NodeConfig, PrivacyConfig
from .perception import CameraConfig, PoseConfig, RuntimeConfig
from .sources import AudioConfig, EnvironmentConfig, HeartRateConfig, LessonConfig
from .storage import StoreConfig
from .zones import FloorConfig, StationConfig, ZonesConfig

__all__ = [
    "EdgeConfig", "ConfigError", "load_config", "validate_file", "apply_env_overrides",
    "ConfigSource", "resolve_config", "CONFIG_ENV", "INSTALLED_CONFIG",
    "NodeConfig", "PrivacyConfig", "CameraConfig", "PoseConfig", "RuntimeConfig",
    "WindowConfig", "ClassroomConfig", "PEConfig", "ZonesConfig", "StationConfig", "FloorConfig",
    "AudioConfig", "EnvironmentConfig", "HeartRateConfig", "LessonConfig",
    "StoreConfig", "MqttConfig", "TlsConfig", "WebConfig",
]


class EdgeConfig(StrictModel):
    """Root of the configuration; every section has defaults that work."""

    node: NodeConfig = Field(default_factory=NodeConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    cameras: dict[Name, CameraConfig] = Field(default_factory=dict, description="Keyed by camera id.")
    pose: PoseConfig = Field(default_factory=PoseConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    classroom: ClassroomConfig = Field(default_factory=ClassroomConfig)
    pe: PEConfig = Field(default_factory=PEConfig)
    zones: ZonesConfig = Field(default_factory=ZonesConfig)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    environment: EnvironmentConfig = Field(default_factory=EnvironmentConfig)
    heart_rate: HeartRateConfig = Field(default_factory=HeartRateConfig)
    lessons: LessonConfig = Field(default_factory=LessonConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    web: WebConfig = Field(default_factory=WebConfig)
