"""Heart-rate bands: the BLE Heart Rate Measurement (0x2A37) parser and two sources.

* :func:`parse_measurement` decodes one 0x2A37 notification (Bluetooth Heart Rate Service 1.0,
  section 3.1) into a :class:`HeartRateMeasurement`; a malformed payload raises :class:`ParseError`.
* :class:`BleakHeartRateSource` subscribes to 0x2A37 on configured bands with ``bleak`` (real
  radios; a thin layer over the parser, so the parser tests cover its logic).
* :class:`SimulatedHeartRateSource` yields bands whose bpm follows an activity profile, with a
  scriptable spike, for the demo.

Bands are known only by an opaque id used for pairing (SPEC 3.4); every source yields
:class:`~sensors.samples.HeartRateSample` with ``None`` for a band whose contact is lost.
"""

from __future__ import annotations

import asyncio
import math
import random
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .samples import HeartRateSample

__all__ = [
    "HR_MEASUREMENT_UUID",
    "BleakHeartRateSource",
    "HeartRateMeasurement",
    "MeasurementCounter",
    "ParseError",
    "SimulatedBand",
    "SimulatedHeartRateSource",
    "parse_measurement",
]

HR_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"

_FLAG_UINT16 = 0x01
_FLAG_CONTACT_DETECTED = 0x02
_FLAG_CONTACT_SUPPORTED = 0x04
_FLAG_ENERGY = 0x08
_FLAG_RR = 0x10


class ParseError(ValueError):
    """A 0x2A37 payload whose length does not match its flags (or is empty)."""


@dataclass(frozen=True)
class HeartRateMeasurement:
    """One decoded notification.

    ``contact`` is True/False when the band reports sensor contact, None when it does not support
    contact detection. ``rr_s`` are beat-to-beat intervals in seconds (resolution 1/1024 s).
    """

    bpm: int
    contact: bool | None
    energy_kj: int | None
    rr_s: tuple[float, ...]

    @property
    def usable_bpm(self) -> int | None:
        """The bpm, or None when the band says its sensor has no skin contact."""
        return None if self.contact is False else self.bpm


def parse_measurement(data: bytes | bytearray) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement value.

    Flags (byte 0): bit 0 = bpm is uint16 (else uint8); bit 2 = contact detection supported and
    bit 1 = contact detected; bit 3 = energy expended (uint16 kJ) present; bit 4 = RR intervals
    (uint16 each, 1/1024 s) fill the rest. All fields little endian.

    :raises ParseError: when the payload is shorter than its flags require or the RR tail has an
        odd number of bytes.
    """
    data = bytes(data)
    if not data:
        raise ParseError("empty heart-rate measurement")
    flags = data[0]
    pos = 1
    bpm_size = 2 if flags & _FLAG_UINT16 else 1
    if len(data) < pos + bpm_size:
        raise ParseError(f"heart-rate measurement of {len(data)} bytes lacks its bpm field")
    bpm = struct.unpack_from("<H" if bpm_size == 2 else "<B", data, pos)[0]
    pos += bpm_size
    contact = bool(flags & _FLAG_CONTACT_DETECTED) if flags & _FLAG_CONTACT_SUPPORTED else None
    energy = None
    if flags & _FLAG_ENERGY:
        if len(data) < pos + 2:
            raise ParseError(f"heart-rate measurement of {len(data)} bytes lacks its energy field")
        energy = struct.unpack_from("<H", data, pos)[0]
        pos += 2
    rr: tuple[float, ...] = ()
    if flags & _FLAG_RR:
        tail = len(data) - pos
        if tail == 0 or tail % 2:
            raise ParseError(
                f"heart-rate measurement has {tail} RR bytes (need a positive even number)"
            )
        rr = tuple(v / 1024.0 for v in struct.unpack_from(f"<{tail // 2}H", data, pos))
    elif len(data) != pos:
        raise ParseError(f"heart-rate measurement has {len(data) - pos} unexpected trailing bytes")
    return HeartRateMeasurement(bpm=bpm, contact=contact, energy_kj=energy, rr_s=rr)


@dataclass
class MeasurementCounter:
    """Parses notifications for a source and counts the ones it had to reject (never raises)."""

    received: int = 0
    rejected: int = 0

    def parse(self, data: bytes | bytearray) -> HeartRateMeasurement | None:
        """The measurement, or None (counted) when ``data`` is malformed."""
        self.received += 1
        try:
            return parse_measurement(data)
        except ParseError:
            self.rejected += 1
            return None


class BleakHeartRateSource:
    """Real bands over Bluetooth LE (``bleak``): one notification subscription per band address.

    ``on_sample`` receives a :class:`HeartRateSample` for each valid notification. Needs a radio,
    so it is not exercised by tests; all decoding goes through :class:`MeasurementCounter`.
    """

    def __init__(
        self,
        addresses: Sequence[str],
        on_sample: Callable[[HeartRateSample], None],
        clock: Callable[[], float],
    ) -> None:
        self.addresses = list(addresses)
        self.on_sample = on_sample
        self.clock = clock
        self.counter = MeasurementCounter()

    def _handler(self, band: str) -> Callable[[object, bytearray], None]:
        def handle(_characteristic: object, data: bytearray) -> None:
            m = self.counter.parse(data)
            if m is not None:
                self.on_sample(HeartRateSample(t=self.clock(), bpm={band: m.usable_bpm}))

        return handle

    async def run(self, stop: asyncio.Event) -> None:
        """Connect to every band, subscribe to 0x2A37 and keep going until ``stop`` is set.

        A band that cannot be reached is listed in ``unreachable`` (with the reason) and the
        others keep working: one flat battery must not silence the class.
        """
        from bleak import BleakClient  # lazy: only real deployments with a radio need it
        from bleak.exc import BleakError

        self.unreachable: dict[str, str] = {}
        clients = []
        for address in self.addresses:
            client = BleakClient(address)
            try:
                await client.connect()
                await client.start_notify(HR_MEASUREMENT_UUID, self._handler(address))
            except (BleakError, TimeoutError, OSError) as exc:
                self.unreachable[address] = str(exc) or type(exc).__name__
                continue
            clients.append(client)
        try:
            await stop.wait()
        finally:
            for client in clients:
                if client.is_connected:
                    await client.disconnect()


@dataclass
class SimulatedBand:
    """One simulated band: resting/active bpm, and an optional spike (start, end, bpm)."""

    band: str
    rest_bpm: float = 90.0
    active_bpm: float = 150.0
    spike: tuple[float, float, float] | None = None
    noise_bpm: float = 2.0


@dataclass
class SimulatedHeartRateSource:
    """Bands whose bpm follows ``activity(t)`` in 0..1 (0 rest, 1 full effort), for the demo.

    The bpm relaxes toward ``rest + activity * (active - rest)`` with a 20 s time constant, as a
    real heart does; during a band's spike it is held at the spike value.
    """

    bands: list[SimulatedBand]
    activity: Callable[[float], float]
    period_s: float = 1.0
    seed: int = 0
    _state: dict[str, float] = field(default_factory=dict, init=False)

    def samples(self, start: float, end: float) -> Iterator[HeartRateSample]:
        """One sample every ``period_s`` from ``start`` to ``end`` (exclusive)."""
        rng = random.Random(self.seed)
        steps = math.ceil((end - start) / self.period_s)
        alpha = 1.0 - math.exp(-self.period_s / 20.0)
        for i in range(steps):
            t = start + i * self.period_s
            bpm: dict[str, float | None] = {}
            for b in self.bands:
                target = b.rest_bpm + self.activity(t) * (b.active_bpm - b.rest_bpm)
                level = self._state.get(b.band, b.rest_bpm)
                level += alpha * (target - level)
                self._state[b.band] = level
                value = level
                if b.spike is not None and b.spike[0] <= t < b.spike[1]:
                    value = b.spike[2]
                bpm[b.band] = round(value + rng.gauss(0.0, b.noise_bpm))
            yield HeartRateSample(t=t, bpm=bpm)
