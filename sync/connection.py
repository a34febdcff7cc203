"""Everything about reaching the broker: URL parsing, the paho client factory, backoff.

TLS verifies the broker against the configured CA (or the system store) and may present a
client certificate; ``tls_insecure_set`` is never called. The password comes from the config
or, under systemd ``LoadCredential=``, from ``$CREDENTIALS_DIRECTORY/mqtt_password``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from edge.config import MqttConfig
from sensors.backoff import Backoff

__all__ = [
    "reconnect_backoff",
    "BrokerAddress",
    "ConfigurationError",
    "make_client",
    "parse_broker",
    "read_password",
]

PASSWORD_CREDENTIAL = "mqtt_password"


class ConfigurationError(ValueError):
    """A broker URL or credential setting that cannot work."""


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is and whether TLS is used."""

    host: str
    port: int
    tls: bool


def parse_broker(url: str) -> BrokerAddress:
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` (a bare ``host:port`` means mqtt).

    :raises ConfigurationError: on another scheme or a missing host.
    """
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ConfigurationError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
    tls = parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigurationError(f"broker URL {url!r}: bad port") from None
    if not parts.hostname:
        raise ConfigurationError(f"broker URL {url!r}: no host")
    return BrokerAddress(parts.hostname, port, tls)


def read_password(mqtt_config: MqttConfig) -> str | None:
    """The configured password, else the systemd credential file, else None."""
    if mqtt_config.password:
        return mqtt_config.password
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if directory:
        path = Path(directory) / PASSWORD_CREDENTIAL
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    return None


def make_client(mqtt_config: MqttConfig, client_id: str,
                broker: str | None = None) -> tuple[mqtt.Client, BrokerAddress]:
    """A paho MQTT 5 client (callback API v2) with credentials and TLS from the config.

    ``broker`` overrides ``mqtt_config.broker``. The caller sets callbacks and connects.

    :raises ConfigurationError: on an unusable broker URL or TLS file.
    """
    address = parse_broker(broker or mqtt_config.broker)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    password = read_password(mqtt_config)
    if mqtt_config.username:
        client.username_pw_set(mqtt_config.username, password)
    tls = mqtt_config.tls
    if address.tls or tls.ca is not None:
        for path in (tls.ca, tls.cert, tls.key):
            if path is not None and not Path(path).is_file():
                raise ConfigurationError(f"mqtt.tls: {path} does not exist")
        client.tls_set(
            ca_certs=str(tls.ca) if tls.ca else None,
            certfile=str(tls.cert) if tls.cert else None,
            keyfile=str(tls.key) if tls.key else None,
        )
    return client, address


def reconnect_backoff(first_s: float, cap_s: float) -> Backoff:
    """Doubling from ``first_s`` to ``cap_s``, each wait drawn from its upper half, so a school's
    nodes do not reconnect in step after a broker restart."""
    return Backoff(initial_s=first_s, cap_s=cap_s, jitter=0.5)
