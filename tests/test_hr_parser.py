"""BLE Heart Rate Measurement (0x2A37) parsing: every flag combination, bad lengths, sources."""

from __future__ import annotations

import itertools
import struct

import pytest

from sensors.heart_rate import (
    BleakHeartRateSource,
    HeartRateMeasurement,
    MeasurementCounter,
    ParseError,
    SimulatedBand,
    SimulatedHeartRateSource,
    parse_measurement,
)

FLAG_COMBINATIONS = list(itertools.product([False, True], repeat=5))


def encode(
    uint16: bool,
    contact_detected: bool,
    contact_supported: bool,
    energy: bool,
    rr: bool,
    bpm: int = 142,
    energy_kj: int = 513,
    rr_ticks: tuple[int, ...] = (1024, 870),
) -> bytes:
    """A payload built field by field from the Bluetooth HRS 1.0 layout (not by the parser)."""
    flags = uint16 | contact_detected << 1 | contact_supported << 2 | energy << 3 | rr << 4
    out = bytes([flags]) + (struct.pack("<H", bpm) if uint16 else bytes([bpm]))
    if energy:
        out += struct.pack("<H", energy_kj)
    if rr:
        out += b"".join(struct.pack("<H", v) for v in rr_ticks)
    return out


@pytest.mark.parametrize("flags", FLAG_COMBINATIONS)
def test_every_flag_combination_decodes(flags):
    uint16, detected, supported, energy, rr = flags
    bpm = 260 if uint16 else 142  # uint16 carries values a byte cannot
    m = parse_measurement(encode(*flags, bpm=bpm))
    assert m.bpm == bpm
    assert m.contact == (detected if supported else None)
    assert m.energy_kj == (513 if energy else None)
    assert m.rr_s == ((1.0, 870 / 1024) if rr else ())
    assert m.usable_bpm == (None if supported and not detected else bpm)


@pytest.mark.parametrize("flags", FLAG_COMBINATIONS)
def test_every_truncation_is_rejected_unless_it_drops_whole_rr_intervals(flags):
    uint16, _, _, energy, rr = flags
    payload = encode(*flags)
    # the fixed part: flags, bpm, energy, and at least one RR interval when RR is flagged
    fixed = 1 + (2 if uint16 else 1) + (2 if energy else 0) + (2 if rr else 0)
    for length in range(len(payload)):
        valid = length == fixed or (rr and length > fixed and (length - fixed) % 2 == 0)
        if valid:
            assert len(parse_measurement(payload[:length]).rr_s) == 1
        else:
            with pytest.raises(ParseError):
                parse_measurement(payload[:length])


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00",
        b"\x01\x50",
        b"\x08\x50\x01",
        b"\x10\x50",
        b"\x10\x50\x00",
        b"\x10\x50\x00\x04\x00",
        b"\x00\x50\x00",
        b"\x19\x50\x00\x01\x00\x00",
    ],
)
def test_malformed_payloads_raise_parse_error(payload):
    with pytest.raises(ParseError):
        parse_measurement(payload)


def test_counter_counts_rejects_and_never_raises():
    counter = MeasurementCounter()
    results = [counter.parse(p) for p in (b"\x00\x48", b"", b"\x11\x48", b"\x16\x60\x00\x04")]
    assert [r.bpm if r else None for r in results] == [72, None, None, 96]
    assert (counter.received, counter.rejected) == (4, 2)


def test_bleak_source_handler_turns_notifications_into_samples():
    got = []
    source = BleakHeartRateSource(["AA:BB"], got.append, clock=lambda: 12.5)
    handle = source._handler("AA:BB")
    handle(None, bytearray(encode(False, True, True, False, False, bpm=131)))
    handle(None, bytearray(encode(False, False, True, False, False, bpm=0)))  # no skin contact
    handle(None, bytearray(b"\x01\x83"))  # malformed: counted, not raised
    assert [(s.t, s.bpm) for s in got] == [(12.5, {"AA:BB": 131}), (12.5, {"AA:BB": None})]
    assert source.counter.rejected == 1


def test_simulated_source_follows_activity_and_spikes():
    source = SimulatedHeartRateSource(
        bands=[
            SimulatedBand(
                "a", rest_bpm=90, active_bpm=160, spike=(200.0, 230.0, 205.0), noise_bpm=0
            ),
            SimulatedBand("b", rest_bpm=90, active_bpm=160, noise_bpm=0),
        ],
        activity=lambda t: 1.0 if t >= 60 else 0.0,
    )
    samples = list(source.samples(0.0, 240.0))
    at = {s.t: s.bpm for s in samples}
    assert len(samples) == 240
    assert at[59.0]["b"] == 90 and at[180.0]["b"] > 155  # rises toward the active level
    assert at[210.0]["a"] == 205 and at[210.0]["b"] < 165
    assert isinstance(parse_measurement(b"\x00\x48"), HeartRateMeasurement)
