"""Configured environment sensors behind one small interface: read once, health, close.

The daemon polls them through :meth:`EnvSensor.samples`; ``edge calibrate sensors`` reads each
once. Sensor modules in sensors/ take plain parameters; this is where config meets them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from sensors.co2_serial import SerialCo2Sensor
from sensors.env_file import EnvironmentFileSource
from sensors.env_mqtt import MqttEnvironmentSource
from sensors.samples import EnvironmentSample

from edge.config.sources import FileSensorConfig, MqttSensorConfig, SensorConfig, SerialCo2SensorConfig

__all__ = ["EnvSensor", "open_env_sensor"]


class EnvSensor(Protocol):
    """What the daemon and the calibration tool need from any environment sensor."""

    name: str
    kind: str

    def read_once(self, timeout_s: float) -> EnvironmentSample | None: ...

    def samples(self, stop: threading.Event) -> Iterator[EnvironmentSample]: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class SerialSensor:
    """An MH-Z19 or S8 polled every ``interval_s``."""

    def __init__(self, cfg: SerialCo2SensorConfig):
        self.name, self.kind, self.interval_s = cfg.name, cfg.type, cfg.interval_s
        self.device = SerialCo2Sensor(cfg.port, cfg.type, cfg.timeout_s, name=cfg.name)

    def read_once(self, timeout_s: float) -> EnvironmentSample | None:
        ppm = self.device.read()
        return None if ppm is None else EnvironmentSample(t=time.monotonic(), values={"co2_ppm": ppm})

    def samples(self, stop: threading.Event) -> Iterator[EnvironmentSample]:
        return self.device.samples(self.interval_s, stop)

    def health(self) -> dict[str, Any]:
        return self.device.health()

    def close(self) -> None:
        self.device.close()


class MqttSensor:
    """A topic of an existing sensor network; connects on creation."""

    def __init__(self, cfg: MqttSensorConfig):
        self.name, self.kind = cfg.name, cfg.type
        self.source = MqttEnvironmentSource(
            cfg.host, cfg.port, cfg.topic, {str(q): p for q, p in cfg.fields.items()}, name=cfg.name,
            username=cfg.username, password=cfg.password,
        ).start()

    def read_once(self, timeout_s: float) -> EnvironmentSample | None:
        return self.source.read(timeout_s)

    def samples(self, stop: threading.Event) -> Iterator[EnvironmentSample]:
        return self.source.samples(stop)

    def health(self) -> dict[str, Any]:
        return self.source.health()

    def close(self) -> None:
        self.source.stop()


class FileSensor:
    """A CSV / JSON Lines file of readings (replays its samples with their own ``t``)."""

    def __init__(self, cfg: FileSensorConfig):
        self.name, self.kind = cfg.name, cfg.type
        self.source = EnvironmentFileSource(cfg.path)
        self.read_count = 0

    def read_once(self, timeout_s: float) -> EnvironmentSample | None:
        sample = next(iter(self.source), None)
        self.read_count += sample is not None
        return sample

    def samples(self, stop: threading.Event) -> Iterator[EnvironmentSample]:
        for sample in self.source:
            if stop.is_set():
                return
            self.read_count += 1
            yield sample

    def health(self) -> dict[str, Any]:
        return {"file": str(self.source.path), "readings": self.read_count}

    def close(self) -> None:
        self.source.close()


_KINDS = {"serial_mhz19": SerialSensor, "serial_s8": SerialSensor, "mqtt": MqttSensor,
          "file": FileSensor}


def open_env_sensor(cfg: SensorConfig) -> EnvSensor:
    """The sensor a config entry describes (serial ports and brokers are opened lazily/async).

    :raises sensors.errors.SourceError: for a file sensor whose file is missing.
    """
    return _KINDS[cfg.type](cfg)
