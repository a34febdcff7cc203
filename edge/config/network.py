"""MQTT uplink and the local web page."""

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .base import StrictModel

__all__ = ["MqttConfig", "TlsConfig", "WebConfig"]


class TlsConfig(StrictModel):
    ca: Path | None = Field(None, description="CA certificate (PEM) to verify the broker.")
    cert: Path | None = Field(None, description="Client certificate (PEM).")
    key: Path | None = Field(None, description="Client private key (PEM).")

    @model_validator(mode="after")
    def _cert_and_key(self) -> "TlsConfig":
        if (self.cert is None) != (self.key is None):
            raise ValueError("tls.cert and tls.key must be given together")
        return self


class MqttConfig(StrictModel):
    enabled: bool = Field(True, description="Publish aggregates to the hub.")
    broker: str = Field("mqtt://127.0.0.1:1883", description="mqtt://host:port or mqtts://host:port.")
    username: str | None = None
    password: str | None = Field(None, description="Also read from $CREDENTIALS_DIRECTORY/mqtt_password.")
    tls: TlsConfig = Field(default_factory=TlsConfig)
    keepalive_s: int = Field(30, ge=5, le=600)
    max_inflight: int = Field(20, ge=1, le=1000, description="Unacknowledged QoS 1 publishes at once.")
    outbox_max_rows: int = Field(100_000, ge=100)
    outbox_max_mb: int = Field(64, ge=1)
    outbox_max_age_days: int = Field(60, ge=1)
    delivery: Literal["hub", "broker"] = Field(
        "hub", description='When an outbox row counts as delivered: "hub" = when a hub receipt '
        'covers it (end to end); "broker" = on the broker\'s PUBACK, for districts that consume '
        "with their own MQTT client and send no receipts.")
    receipt_timeout_s: float = Field(
        30.0, ge=1, le=3600, description="Re-publish a row the hub has not receipted within "
        "this time (doubling per attempt, up to 20x); delivery = \"hub\" only.")

    @model_validator(mode="after")
    def _password_needs_user(self) -> "MqttConfig":
        if self.password and not self.username:
            raise ValueError("mqtt.password is set but mqtt.username is not")
        return self


class WebConfig(StrictModel):
    host: str = Field("0.0.0.0", description="Bind address (LAN).")
    port: int = Field(8080, ge=1, le=65535)
    token: str | None = Field(
        None, min_length=16, description="Teacher token; generated at first start when unset."
    )
    technician_token: str | None = Field(
        None, min_length=16, description="Technician token; generated at first start when unset."
    )
    lan_only: bool = Field(
        True, description="Refuse clients whose address is not private, loopback or link-local."
    )
    primary_camera: str | None = Field(
        None, min_length=1,
        description="Camera id whose lesson the live page shows (each camera has its own "
        "sessions; the others are still stored and sent); default: the first enabled camera.",
    )
