"""MQTT-fed environment sensors against a real mosquitto broker started by the test."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.config.sources import MqttSensorConfig
from edge.daemon.env_sensors import open_env_sensor
from sensors.env_mqtt import MqttEnvironmentSource, decode_payload, value_at
from tests.ports import free_port

MOSQUITTO = "/usr/sbin/mosquitto"




def start_broker(folder: Path, port: int) -> subprocess.Popen:
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"mosquitto did not start on port {port}")


@pytest.fixture
def broker(tmp_path):
    port = free_port()
    proc = start_broker(tmp_path, port)
    yield {"port": port, "folder": tmp_path, "proc": proc}
    proc.terminate()
    proc.wait(5)


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish(client: mqtt.Client, topic: str, payload: object) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    client.publish(topic, text, qos=1).wait_for_publish(5)


def test_field_paths():
    doc = {"co2": 812, "sensors": {"temperature": 21.5, "list": [1, {"lux": 320}]}, "flag": True}
    assert value_at(doc, "co2") == 812.0
    assert value_at(doc, "sensors.temperature") == 21.5
    assert value_at(doc, "sensors.list.1.lux") == 320.0
    assert value_at(doc, "sensors.missing") is None
    assert value_at(doc, "flag") is None  # a boolean is no reading
    assert value_at(21.5, "") == 21.5
    assert decode_payload(b'"23.4"', {"temp_c": ""}) == {"temp_c": 23.4}
    assert decode_payload(b"\xff\xfe", {"temp_c": ""}) == {}
    assert decode_payload(b'{"co2": "NaN"}', {"co2_ppm": "co2"}) == {}


def test_zigbee2mqtt_and_esphome_topics_through_a_real_broker(broker):
    port = broker["port"]
    z2m = MqttEnvironmentSource("127.0.0.1", port, "zigbee2mqtt/room-101",
                                {"co2_ppm": "co2", "temp_c": "temperature", "rh": "humidity"})
    esphome = MqttEnvironmentSource("127.0.0.1", port, "esphome/desk-lux/state", {"lux_desk": ""})
    with z2m, esphome:
        assert z2m.subscribed.wait(5) and esphome.subscribed.wait(5)
        pub = publisher(port)
        try:
            publish(pub, "zigbee2mqtt/room-101",
                    {"co2": 935, "temperature": 24.1, "humidity": 41, "linkquality": 120})
            publish(pub, "zigbee2mqtt/room-101", "not json at all")
            publish(pub, "zigbee2mqtt/room-101", {"battery": 90})  # no configured field
            publish(pub, "esphome/desk-lux/state", "412.5")
            first = z2m.read(5)
            lux = esphome.read(5)
        finally:
            pub.loop_stop()
            pub.disconnect()
        assert first.values == {"co2_ppm": 935.0, "temp_c": 24.1, "rh": 41.0}
        assert lux.values == {"lux_desk": 412.5}
        deadline = time.monotonic() + 5
        while z2m.counters.messages < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert z2m.counters.messages == 3 and z2m.counters.bad_payloads == 2
        assert z2m.read(0.2) is None  # the bad payloads produced no samples
        assert z2m.health()["connected"] is True


def test_broker_restart_is_survived(broker):
    port = broker["port"]
    cfg = MqttSensorConfig(type="mqtt", name="z2m", port=port, topic="sensors/co2",
                           fields={"co2_ppm": "value"})
    sensor = open_env_sensor(cfg)
    source = sensor.source
    try:
        assert source.subscribed.wait(5)
        broker["proc"].terminate()
        broker["proc"].wait(5)
        deadline = time.monotonic() + 5
        while source.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not sensor.health()["connected"] and source.counters.disconnects >= 1
        broker["proc"] = start_broker(broker["folder"], port)
        assert source.subscribed.wait(15), "did not reconnect and resubscribe"
        pub = publisher(port)
        try:
            publish(pub, "sensors/co2", {"value": 1210})
            sample = sensor.read_once(5)
        finally:
            pub.loop_stop()
            pub.disconnect()
        assert sample is not None and sample.values == {"co2_ppm": 1210.0}
        assert source.counters.connects >= 2
    finally:
        sensor.close()
