"""Environment readings from a file: CSV with a header, or JSON Lines.

CSV: a ``t`` column (seconds) and one column per quantity (``co2_ppm,temp_c,rh,lux_desk,
lux_board,noise_dba``); empty cells are missing readings. JSON Lines: ``{"t": 12.0, "co2_ppm":
820}`` or the scene form ``{"t": 12.0, "env": {...}}``. Unknown columns are ignored, so exports
from data loggers with extra fields work. Malformed lines raise :class:`SourceError` with the line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .const import QUANTITIES
from .errors import SourceError
from .samples import EnvironmentSample
from .source import Source
from .untrusted_json import UntrustedJson, loads_bounded

MAX_LINE_BYTES = 64 * 1024  # one reading per line: a few hundred bytes


def _number(value: Any, path: Path, line: int, key: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise SourceError(path, f"{key} is not a number: {value!r}", line)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SourceError(path, f"{key} is not a number: {value!r}", line) from None
    if not math.isfinite(number):
        raise SourceError(path, f"{key} is not a finite number: {value!r}", line)
    return number


def _sample(record: dict[str, Any], path: Path, line: int) -> EnvironmentSample | None:
    if "t" not in record:
        raise SourceError(path, "missing t (seconds)", line)
    t = _number(record["t"], path, line, "t")
    if t is None:
        raise SourceError(path, "missing t (seconds)", line)
    fields = record.get("env", record)
    if not isinstance(fields, dict):
        raise SourceError(path, "env must be an object", line)
    values = {}
    for quantity in QUANTITIES:
        number = _number(fields.get(quantity), path, line, quantity)
        if number is not None:
            values[quantity] = number
    return EnvironmentSample(t=t, values=values) if values else None


class EnvironmentFileSource(Source[EnvironmentSample]):
    """Readings of a CSV or JSON Lines file in file order; ``t`` must not decrease.

    :raises SourceError: on a missing file, a malformed line or time going backwards.
    """

    kind = "env_file"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(self.path, "no such file")

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            if self.path.suffix.lower() == ".csv":
                # Line 1 is the header; rows are assumed one line each (no quoted newlines).
                yield from enumerate(csv.DictReader(handle), start=2)
                return
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = loads_bounded(text, max_bytes=MAX_LINE_BYTES, object_only=False)
                except UntrustedJson as exc:  # malformed, too deep or too long
                    raise SourceError(self.path, str(exc), number) from None
                if not isinstance(record, dict):
                    raise SourceError(self.path, "each line must be a JSON object", number)
                if number == 1 and "format" in record:
                    continue  # a scene file's header line
                yield number, record

    def __iter__(self) -> Iterator[EnvironmentSample]:
        last = float("-inf")
        for line, record in self._records():
            sample = _sample(record, self.path, line)
            if sample is None:
                continue
            if sample.t < last:
                raise SourceError(self.path, f"t goes backwards ({sample.t} after {last})", line)
            last = sample.t
            yield sample

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "source": str(self.path)}
