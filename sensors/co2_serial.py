"""NDIR CO2 modules on a serial port (MH-Z19 UART, SenseAir S8 Modbus) that survive bad links.

:class:`SerialCo2Sensor` polls the module, validates every reply (checksum / CRC), resyncs on
garbage, waits out truncated frames, and on a disconnect closes the port and reopens it with
exponential backoff. Nothing raises out of :meth:`SerialCo2Sensor.read`: every failure is counted
in :class:`SerialCounters` and the reading is None, so a flaky cable never stops the daemon.
"""

from __future__ import annotations

import logging
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Self

import serial

from .backoff import Backoff
from .co2_protocols import (
    MHZ19_ZERO_POINT,
    ParseResult,
    mhz19_command,
    parse_mhz19,
    parse_s8,
    s8_read_request,
)
from .samples import EnvironmentSample

log = logging.getLogger(__name__)

# What a vanished device raises: pyserial wraps most errors, but tcflush leaks termios.error.
_LINK_ERRORS = (OSError, serial.SerialException, termios.error)
# Both modules talk 9600 8N1.
BAUD = 9600
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0


@dataclass(frozen=True)
class Co2Protocol:
    """How to ask one kind of module for CO2 and how to parse its reply."""

    name: str
    request: bytes
    parse: Callable[[bytes | bytearray], ParseResult]
    zero_point: bytes | None = None


PROTOCOLS: dict[str, Co2Protocol] = {
    "serial_mhz19": Co2Protocol(
        "MH-Z19", mhz19_command(0x86), parse_mhz19, zero_point=mhz19_command(MHZ19_ZERO_POINT)
    ),
    "serial_s8": Co2Protocol("SenseAir S8", s8_read_request(), parse_s8),
}


@dataclass
class SerialCounters:
    """Health of one serial sensor since start; exported by ``edge calibrate sensors`` and health."""

    requests: int = 0
    readings: int = 0
    timeouts: int = 0
    checksum_errors: int = 0
    garbage_bytes: int = 0
    device_faults: int = 0
    disconnects: int = 0
    open_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class SerialCo2Sensor:
    """One CO2 module on ``port``; ``kind`` is ``serial_mhz19`` or ``serial_s8``.

    ``clock`` is injectable so tests can drive the reopen backoff without sleeping.
    """

    def __init__(
        self, port: str, kind: str, timeout_s: float = 1.0, name: str = "co2",
        clock: Callable[[], float] = time.monotonic,
    ):
        if kind not in PROTOCOLS:
            raise ValueError(f"unknown CO2 sensor type {kind!r}; known: {', '.join(PROTOCOLS)}")
        self.port, self.name, self.timeout_s = port, name, timeout_s
        self.protocol = PROTOCOLS[kind]
        self.counters = SerialCounters()
        self.last_error: str | None = None
        self._clock = clock
        self._serial: serial.Serial | None = None
        # No jitter: one device per port, nothing to spread out.
        self._backoff = Backoff(initial_s=BACKOFF_START_S, cap_s=BACKOFF_MAX_S, jitter=0.0)
        self._next_open = 0.0

    @property
    def connected(self) -> bool:
        return self._serial is not None

    def close(self) -> None:
        """Close the port (reopened on the next read)."""
        if self._serial is not None:
            try:
                self._serial.close()
            except _LINK_ERRORS:
                pass
            self._serial = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> bool:
        if self._serial is not None:
            return True
        if self._clock() < self._next_open:
            return False
        try:
            self._serial = serial.Serial(self.port, BAUD, timeout=0.05, write_timeout=self.timeout_s)
        except _LINK_ERRORS as exc:
            self.counters.open_failures += 1
            self._fail(f"cannot open {self.port}: {exc}")
            return False
        self._backoff.reset()
        return True

    def _fail(self, message: str) -> None:
        # Exponential backoff between reopen attempts so a missing device costs nothing.
        self.last_error = message
        delay = self._backoff.next_delay()
        self._next_open = self._clock() + delay
        log.debug("%s: %s (retry in %.0f s)", self.name, message, delay)

    def _disconnect(self, exc: Exception) -> None:
        self.counters.disconnects += 1
        self.close()
        self._fail(f"{self.port} disconnected: {exc}")

    def read(self) -> float | None:
        """One CO2 reading in ppm, or None (the reason is counted and kept in ``last_error``)."""
        if not self._open():
            return None
        try:
            ppm = self._exchange()
        except _LINK_ERRORS as exc:
            self._disconnect(exc)
            return None
        if ppm is not None:
            self.counters.readings += 1
            self.last_error = None
        return None if ppm is None else float(ppm)

    def _exchange(self) -> int | None:
        """Send the request and collect bytes until a reply parses or the timeout passes."""
        assert self._serial is not None
        self._serial.reset_input_buffer()  # stale bytes belong to an older request
        self._serial.write(self.protocol.request)
        self.counters.requests += 1
        buffer = bytearray()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            data = self._serial.read(64)
            if not data:
                continue
            buffer += data
            result = self.protocol.parse(buffer)
            self.counters.garbage_bytes += result.garbage
            self.counters.checksum_errors += result.checksum_errors
            del buffer[: result.consumed]
            if result.fault:
                self.counters.device_faults += 1
                self.last_error = f"module reports status 0x{result.fault:04x}"
                return None
            if result.ppm is not None:
                return result.ppm
        self.counters.timeouts += 1
        self.last_error = f"no valid reply within {self.timeout_s:g} s"
        return None

    def zero_point(self) -> None:
        """Send the zero-point (400 ppm) calibration command; only after 20 min in fresh air.

        :raises ValueError: when the module has no zero-point command in this driver.
        :raises serial.SerialException: when the port cannot be opened or written.
        """
        if self.protocol.zero_point is None:
            raise ValueError(f"{self.protocol.name} zero-point calibration is not supported here")
        with serial.Serial(self.port, BAUD, timeout=self.timeout_s) as port:
            port.write(self.protocol.zero_point)

    def health(self) -> dict[str, Any]:
        """Connection state, counters and the last error, for health output."""
        return {"connected": self.connected, "last_error": self.last_error, **self.counters.as_dict()}

    def samples(self, interval_s: float, stop: threading.Event) -> Iterator[EnvironmentSample]:
        """Poll every ``interval_s`` until ``stop`` is set; yields valid readings (t = monotonic)."""
        while not stop.is_set():
            started = time.monotonic()
            ppm = self.read()
            if ppm is not None:
                yield EnvironmentSample(t=started, values={"co2_ppm": ppm})
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
