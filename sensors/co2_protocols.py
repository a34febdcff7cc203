"""Wire formats of NDIR CO2 modules: Winsen MH-Z19 UART frames and SenseAir S8 Modbus RTU.

Pure functions over bytes, so they are tested without a serial port. Each protocol offers the
request to send and a parser that finds one valid reply in a receive buffer, skipping garbage
(bytes before a frame start, frames failing their checksum) and waiting for truncated frames.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- MH-Z19: 9-byte frames, 0xFF start byte, checksum = 0xFF - sum(bytes 1..7) + 1 (mod 256) ---
MHZ19_FRAME = 9
MHZ19_READ_CO2 = 0x86
MHZ19_ZERO_POINT = 0x87


def mhz19_checksum(frame: bytes) -> int:
    """Checksum byte of an MH-Z19 frame (over bytes 1..7)."""
    return (0xFF - (sum(frame[1:8]) & 0xFF) + 1) & 0xFF


def mhz19_command(command: int, data: bytes = b"") -> bytes:
    """A 9-byte command frame to sensor 0x01, e.g. ``mhz19_command(0x86)`` = read CO2."""
    body = bytes([0xFF, 0x01, command]) + data.ljust(5, b"\0")
    return body + bytes([mhz19_checksum(body + b"\0")])


def mhz19_reply(ppm: int) -> bytes:
    """The 9-byte reply an MH-Z19 sends for ``ppm`` (used by tests and the protocol docs)."""
    body = bytes([0xFF, MHZ19_READ_CO2, ppm >> 8, ppm & 0xFF, 0x40, 0, 0, 0])
    return body + bytes([mhz19_checksum(body + b"\0")])


# --- SenseAir S8: Modbus RTU, slave 0xFE (any sensor), read input registers IR1..IR4 -------------
S8_ADDRESS = 0xFE
S8_READ_INPUT = 0x04
S8_REGISTERS = 4  # IR1 meter status ... IR4 CO2 ppm
S8_REPLY = 3 + 2 * S8_REGISTERS + 2


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its Modbus CRC, low byte first."""
    return body + crc16_modbus(body).to_bytes(2, "little")


def s8_read_request() -> bytes:
    """Read input registers 0..3 (status, alarms, output status, CO2) of any S8."""
    return with_crc(bytes([S8_ADDRESS, S8_READ_INPUT, 0, 0, 0, S8_REGISTERS]))


def s8_reply(ppm: int, status: int = 0) -> bytes:
    """The reply an S8 sends for ``ppm`` and meter ``status`` (used by tests and docs)."""
    regs = [status, 0, 0, ppm]
    payload = b"".join(r.to_bytes(2, "big") for r in regs)
    return with_crc(bytes([S8_ADDRESS, S8_READ_INPUT, len(payload)]) + payload)


# --- parsing ----------------------------------------------------------------------------------
@dataclass
class ParseResult:
    """One parse step: a reading (or None), bytes consumed, and what was wrong on the way.

    ``fault`` is a device-reported error (S8 meter status bits) for a frame that was otherwise valid.
    """

    ppm: int | None = None
    consumed: int = 0
    garbage: int = 0
    checksum_errors: int = 0
    fault: int = 0


def parse_mhz19(buffer: bytes | bytearray) -> ParseResult:
    """Find the first valid CO2 reply in ``buffer``; ``consumed`` covers everything before it.

    A frame that is still incomplete stays unconsumed (wait for more bytes); a frame with a bad
    checksum costs one byte so the search resyncs on the next 0xFF inside it.
    """
    return _scan(buffer, bytes([0xFF, MHZ19_READ_CO2]), MHZ19_FRAME, _mhz19_frame)


def parse_s8(buffer: bytes | bytearray) -> ParseResult:
    """Find the first valid S8 read reply in ``buffer`` (same rules as :func:`parse_mhz19`)."""
    header = bytes([S8_ADDRESS, S8_READ_INPUT, 2 * S8_REGISTERS])
    return _scan(buffer, header, S8_REPLY, _s8_frame)


def _mhz19_frame(frame: bytes) -> tuple[bool, int, int]:
    ok = frame[8] == mhz19_checksum(frame)
    return ok, frame[2] << 8 | frame[3], 0


def _s8_frame(frame: bytes) -> tuple[bool, int, int]:
    ok = crc16_modbus(frame[:-2]) == int.from_bytes(frame[-2:], "little")
    status = int.from_bytes(frame[3:5], "big")
    return ok, int.from_bytes(frame[9:11], "big"), status


def _scan(buffer: bytes | bytearray, header: bytes, size: int, decode) -> ParseResult:
    result = ParseResult()
    pos = 0
    while True:
        start = bytes(buffer).find(header, pos)
        if start < 0:
            # Keep a possible partial header at the end; everything before it is garbage.
            keep = next((k for k in range(len(header) - 1, 0, -1)
                         if bytes(buffer[len(buffer) - k:]) == header[:k]), 0)
            result.garbage += len(buffer) - pos - keep
            result.consumed = len(buffer) - keep
            return result
        result.garbage += start - pos
        if start + size > len(buffer):  # truncated so far: wait for the rest
            result.consumed = start
            return result
        frame = bytes(buffer[start : start + size])
        ok, ppm, fault = decode(frame)
        if ok:
            result.ppm = None if fault else ppm
            result.fault = fault
            result.consumed = start + size
            return result
        result.checksum_errors += 1
        pos = start + 1
