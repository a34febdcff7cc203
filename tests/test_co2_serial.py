"""CO2 modules over a real pseudo-terminal: a scripted fake MH-Z19 / S8 answers on the master side.

The sensor opens the slave through a symlink (like /dev/serial/by-id/...), so unplugging (closing
the master) and replugging (a new pty behind the same link) exercise the real reopen path.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections import deque
from pathlib import Path

import pytest

from sensors.co2_protocols import (
    crc16_modbus,
    mhz19_command,
    mhz19_reply,
    parse_mhz19,
    s8_read_request,
    s8_reply,
)
from sensors.co2_serial import SerialCo2Sensor


class FakeModule:
    """A CO2 module on a pty: each request it receives is answered with the next scripted item.

    An item is bytes (written, possibly in pieces separated by ``0.05`` s when given as a list)
    or None (no answer).
    """

    def __init__(self, link: Path, request: bytes):
        self.link, self.request = link, request
        self.script: deque = deque()
        self.requests = 0
        self.received = b""  # every byte the sensor sent, for commands other than reads
        self._stop = threading.Event()
        self._master = -1
        self.plug()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def plug(self) -> None:
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # the sensor opens the slave by name
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        tmp.replace(self.link)
        self._master = master

    def unplug(self) -> None:
        master, self._master = self._master, -1
        os.close(master)

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            master = self._master
            if master < 0:
                time.sleep(0.01)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                if not ready:
                    continue
                data = os.read(master, 64)
                pending += data
                self.received += data
            except OSError:  # unplugged while waiting, or no slave open yet
                time.sleep(0.01)
                continue
            while self.request in pending:
                pending = pending.split(self.request, 1)[1]
                self.requests += 1
                item = self.script.popleft() if self.script else None
                pieces = item if isinstance(item, list) else [item]
                for piece in pieces:
                    if piece is not None:
                        os.write(master, piece)
                        time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self._master >= 0:
            os.close(self._master)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mhz19(tmp_path):
    fake = FakeModule(tmp_path / "ttyCO2", mhz19_command(0x86))
    clock = ManualClock()
    sensor = SerialCo2Sensor(str(fake.link), "serial_mhz19", timeout_s=0.8, clock=clock)
    yield fake, sensor, clock
    sensor.close()
    fake.close()


def test_mhz19_wire_format_matches_the_datasheet():
    assert mhz19_command(0x86).hex() == "ff0186000000000079"
    assert mhz19_command(0x87).hex() == "ff0187000000000078"
    assert parse_mhz19(mhz19_reply(812)).ppm == 812
    assert s8_read_request().hex() == "fe0400000004e5c6"
    assert crc16_modbus(b"123456789") == 0x4B37  # CRC-16/MODBUS check value


def test_valid_frames_give_the_values(mhz19):
    fake, sensor, _ = mhz19
    fake.script.extend([mhz19_reply(412), mhz19_reply(1650)])
    assert sensor.read() == 412.0
    assert sensor.read() == 1650.0
    assert sensor.counters.readings == 2 and sensor.counters.checksum_errors == 0


def test_bad_checksum_is_rejected_and_counted(mhz19):
    fake, sensor, _ = mhz19
    bad = bytearray(mhz19_reply(999))
    bad[8] ^= 0x5A
    fake.script.extend([bytes(bad), mhz19_reply(700)])
    assert sensor.read() is None
    assert sensor.counters.checksum_errors == 1 and sensor.counters.timeouts == 1
    assert sensor.read() == 700.0


def test_garbage_before_and_inside_a_reply_resyncs(mhz19):
    fake, sensor, _ = mhz19
    fake_header = bytes([0xFF, 0x86, 0x01, 0x02, 0x03])  # looks like a frame start, fails checksum
    fake.script.append(b"\x00\x13\xfe" + fake_header + mhz19_reply(845))
    assert sensor.read() == 845.0
    assert sensor.counters.garbage_bytes >= 3
    assert sensor.counters.checksum_errors == 1


def test_truncated_frames_time_out_and_split_frames_join(mhz19):
    fake, sensor, _ = mhz19
    reply = mhz19_reply(530)
    fake.script.extend([reply[:5], [reply[:4], reply[4:]]])
    assert sensor.read() is None
    assert sensor.counters.timeouts == 1
    assert sensor.read() == 530.0  # the leftover half frame of the first reply was flushed


def test_unplugged_device_is_counted_and_the_source_recovers(mhz19):
    fake, sensor, clock = mhz19
    fake.script.append(mhz19_reply(600))
    assert sensor.read() == 600.0
    fake.unplug()
    assert sensor.read() is None
    assert sensor.counters.disconnects == 1 and not sensor.connected
    attempts = sensor.counters.open_failures
    assert sensor.read() is None  # inside the backoff: no reopen attempt at all
    assert sensor.counters.open_failures == attempts
    clock.now += 1.5
    assert sensor.read() is None  # link is dangling: open fails, backoff doubles
    assert sensor.counters.open_failures == attempts + 1
    fake.plug()
    fake.script.append(mhz19_reply(640))
    clock.now += 60
    assert sensor.read() == 640.0
    assert sensor.connected and sensor.last_error is None


def test_missing_port_never_raises(tmp_path):
    sensor = SerialCo2Sensor(str(tmp_path / "nothing"), "serial_s8", timeout_s=0.1)
    assert sensor.read() is None
    assert sensor.counters.open_failures == 1
    assert "cannot open" in sensor.health()["last_error"]


def test_s8_modbus_values_crc_and_faults(tmp_path):
    fake = FakeModule(tmp_path / "ttyS8", s8_read_request())
    sensor = SerialCo2Sensor(str(fake.link), "serial_s8", timeout_s=0.8)
    try:
        bad = bytearray(s8_reply(1000))
        bad[-1] ^= 0xFF
        fake.script.extend([s8_reply(1234), bytes(bad), b"\x55" + s8_reply(987),
                            s8_reply(400, status=0x0020)])
        assert sensor.read() == 1234.0
        assert sensor.read() is None and sensor.counters.checksum_errors == 1
        garbage = sensor.counters.garbage_bytes
        assert sensor.read() == 987.0 and sensor.counters.garbage_bytes == garbage + 1
        assert sensor.read() is None and sensor.counters.device_faults == 1
        assert "0x0020" in sensor.last_error
        assert fake.requests == 4
    finally:
        sensor.close()
        fake.close()


def test_poll_loop_yields_samples_and_stops(mhz19):
    fake, sensor, _ = mhz19
    fake.script.extend([mhz19_reply(500), None, mhz19_reply(510)])
    stop = threading.Event()
    values = []
    for sample in sensor.samples(interval_s=0.0, stop=stop):
        values.append(sample.values["co2_ppm"])
        if len(values) == 2:
            stop.set()
    assert values == [500.0, 510.0]
    assert sensor.counters.timeouts == 1


def test_calibrate_sensors_reads_each_sensor_and_zeroes_the_mhz19(mhz19, tmp_path, capsys):
    from edge.cli.main import main
    from sensors.co2_protocols import mhz19_command as command

    fake, _, _ = mhz19
    readings = tmp_path / "lux.csv"
    readings.write_text("t,lux_desk,lux_board\n0,350,520\n")
    config = tmp_path / "edge.toml"
    config.write_text(f"""
[[environment.sensors]]
type = "serial_mhz19"
name = "co2-front"
port = "{fake.link}"
timeout_s = 0.8

[[environment.sensors]]
type = "file"
name = "lux-logger"
path = "{readings}"

[[environment.sensors]]
type = "serial_s8"
name = "co2-back"
port = "{tmp_path / 'unplugged'}"
timeout_s = 0.1
""")
    fake.script.append(mhz19_reply(777))
    code = main(["calibrate", "sensors", "--config", str(config), "--zero-co2", "co2-front"])
    out = capsys.readouterr().out
    assert code == 1  # the unplugged S8 gave no reading
    assert "co2-front: zero-point (400 ppm) command sent" in out
    assert command(0x87) in fake.received
    assert "co2-front (serial_mhz19): co2_ppm 777" in out
    assert "lux-logger (file): lux_desk 350, lux_board 520" in out
    assert "co2-back (serial_s8): no reading" in out and "cannot open" in out
    assert main(["calibrate", "sensors", "--config", str(config), "--zero-co2", "co2-back"]) == 2
    assert "not supported" in capsys.readouterr().err
