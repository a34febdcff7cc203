"""Non-camera inputs: microphone, environment sensors, heart-rate bands; and the lesson timetable."""

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sensors.const import Quantity

from .base import StrictModel


__all__ = [
    "AudioConfig",
    "EnvironmentConfig",
    "FileSensorConfig",
    "HeartRateConfig",
    "LessonConfig",
    "MqttSensorConfig",
    "SerialCo2SensorConfig",
    "TimetableEntry",
    "ValidRange",
]


class AudioConfig(StrictModel):
    enabled: bool = False
    source: str = Field("default", description="ALSA device name, or a WAV file for replay.")
    teacher_channel: int | None = Field(None, ge=0, le=7, description="Channel of a lapel mic.")
    dba_offset: float = Field(
        120.0, ge=-60, le=160,
        description="dBFS -> dBA offset: dBA read on a sound level meter minus the dBFS `edge "
        "calibrate audio` shows for the same sound. The default is nominal for a MEMS mic "
        "(-26 dBFS at 94 dB SPL); calibrate each microphone.",
    )
    period_s: float = Field(
        0.5, ge=0.064, le=10, description="Audio features are summarised over spans this long."
    )
    vad_threshold: float = Field(
        0.5, gt=0, lt=1,
        description="VAD probability above which a 32 ms chunk counts as speech; a span's speech "
        "value is the share of such chunks (classroom.speech_threshold then classifies the span).",
    )


class SerialCo2SensorConfig(StrictModel):
    type: Literal["serial_mhz19", "serial_s8"] = Field(
        description="NDIR CO2 module: Winsen MH-Z19 UART or SenseAir S8 Modbus RTU."
    )
    name: str = Field("co2", min_length=1, description="Label in health output and errors.")
    port: str = Field(description="Serial device, e.g. /dev/ttyUSB0 or /dev/serial0.")
    interval_s: float = Field(10.0, ge=1, le=3600, description="Seconds between readings.")
    timeout_s: float = Field(1.0, gt=0, le=10, description="Wait this long for a reply.")


class MqttSensorConfig(StrictModel):
    type: Literal["mqtt"]
    name: str = Field("mqtt", min_length=1)
    host: str = Field("127.0.0.1", description="Broker the existing sensors publish to.")
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    topic: str = Field(min_length=1, description="e.g. zigbee2mqtt/room-101 or esphome/co2/state.")
    fields: dict[Quantity, str] = Field(
        min_length=1,
        description="Quantity -> dotted path into the JSON payload (e.g. co2_ppm = \"co2\", "
        "temp_c = \"sensors.temperature\"); an empty path means the payload is the number itself.",
    )


class FileSensorConfig(StrictModel):
    type: Literal["file"]
    name: str = Field("file", min_length=1)
    path: str = Field(description="CSV (header t,<quantity>...) or JSON Lines ({t, <quantity>...}).")


SensorConfig = Annotated[
    SerialCo2SensorConfig | MqttSensorConfig | FileSensorConfig, Field(discriminator="type")
]


class ValidRange(StrictModel):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "ValidRange":
        if self.low >= self.high:
            raise ValueError("range low must be below high")
        return self


def _default_ranges() -> dict[Quantity, ValidRange]:
    # Physically plausible readings for a classroom; outside them a sensor is faulty.
    limits: dict[Quantity, tuple[float, float]] = {"co2_ppm": (300, 10000), "temp_c": (-10, 50), "rh": (0, 100),
              "lux_desk": (0, 100000), "lux_board": (0, 100000), "noise_dba": (0, 130)}
    return {k: ValidRange(low=lo, high=hi) for k, (lo, hi) in limits.items()}


class EnvironmentConfig(StrictModel):
    co2_limit_ppm: int = Field(1500, ge=400, le=10000)
    desk_lux_min: float = Field(300.0, ge=0)
    board_lux_min: float = Field(500.0, ge=0)
    stale_after_s: float = Field(300.0, gt=0, description="A reading older than this is stale.")
    stuck_after_s: float | None = Field(
        3600.0, gt=0,
        description="The exact same value for this long marks a sensor stuck (null = never).",
    )
    ranges: dict[Quantity, ValidRange] = Field(
        default_factory=_default_ranges, description="Readings outside these are rejected."
    )
    sensors: list[SensorConfig] = Field(default_factory=list, description="Environment sensors.")

    @field_validator("ranges", mode="after")
    @classmethod
    def _keep_default_ranges(cls, ranges: dict[Quantity, ValidRange]) -> dict[Quantity, ValidRange]:
        # Overriding one quantity's range must not drop the checks on the others.
        return {**_default_ranges(), **ranges}


class HeartRateConfig(StrictModel):
    source: Literal["none", "ble", "simulated"] = Field(
        "none",
        description="Where `edge run` reads heart rate from: real BLE bands, simulated bands "
        "for the demo, or nowhere (a scene file may still carry `hr` records).",
    )
    bands: list[str] = Field(
        default_factory=list,
        description="Opaque band ids: the BLE addresses to pair with (source = ble), or the "
        "simulated bands' ids (source = simulated; empty = `simulated_bands` made-up ids).",
    )
    simulated_bands: int = Field(
        20, ge=1, le=60, description="How many bands to simulate when `bands` is empty."
    )


class TimetableEntry(StrictModel):
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM local time.")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], description="1 = Monday.")


class LessonConfig(StrictModel):
    timetable: list[TimetableEntry] = Field(
        default_factory=list, description="Automatic lessons; empty = start/end from the page."
    )
