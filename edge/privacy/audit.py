"""Privacy audit of a store (SPEC 3.5): find anything that could describe an individual.

Scans every table's schema and every value (JSON text is parsed and walked, so outbox records are
checked key by key) for: BLOB columns or binary values; image- or audio-like data (JPEG/PNG/RIFF
magic, data URIs, long base64 strings); column or key names of per-person data (track ids, faces,
embeddings, keypoints, boxes); per-person series (numeric arrays, nested arrays, lists of
per-person objects, objects keyed by ids or heart-rate band ids).

The same value checks guard :meth:`edge.store.Store.write_record` (:func:`scan_record`), so a
record carrying such data is refused before it reaches disk.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AuditError", "AuditReport", "Finding", "audit_database", "scan_record"]

# Name tokens (split on "_", "-", "." and camelCase) that only per-person data would use.
FORBIDDEN_TOKENS = frozenset({
    "track", "tracks", "trackid", "tracklet", "face", "faces", "embedding", "embeddings",
    "kp", "kps", "keypoint", "keypoints", "landmark", "landmarks", "skeleton", "skeletons",
    "bbox", "bboxes", "image", "images", "img", "jpeg", "jpg", "png", "thumbnail", "snapshot",
    "crop", "pcm", "waveform", "wav", "biometric", "identity",
})
# "<who>_id" / "<who>_name": an identifier of a person or of a person's device.
PERSON_WORDS = frozenset({"person", "people", "student", "pupil", "child", "user", "band"})
ID_WORDS = frozenset({"id", "ids", "name", "names", "uuid"})
# Event lists are allowed (SPEC 5 "alerts"): objects with a kind and a start, no identity.
EVENT_KEYS = frozenset({"kind", "start"})

_MAGIC = ("\xff\xd8\xff", "\x89PNG", "RIFF", "OggS", "fLaC", "GIF8", "ID3")
_B64_PREFIXES = ("/9j/", "iVBORw0KGgo", "UklGR", "R0lGOD", "data:image/", "data:audio/",
                 "data:video/")
_B64 = re.compile(r"[A-Za-z0-9+/=_-]+")
_BAND_KEY = re.compile(r"^(band|hrm?|polar|garmin)[-_:]?[0-9a-f]{2,}$|^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$",
                       re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
LONG_ENCODED = 128  # shorter strings cannot hold a useful image


class AuditError(Exception):
    """The database cannot be read (missing, not SQLite, corrupt)."""


@dataclass(frozen=True)
class Finding:
    """One forbidden thing: where (``table.column`` plus a JSON path) and why."""

    where: str
    reason: str
    rows: int = 1
    first_rowid: int | None = None

    def __str__(self) -> str:
        rows = "" if self.first_rowid is None else f" ({self.rows} rows, first rowid {self.first_rowid})"
        return f"{self.where}{rows}: {self.reason}"


@dataclass
class AuditReport:
    """Findings (empty = clean) and what was scanned."""

    findings: list[Finding] = field(default_factory=list)
    tables: int = 0
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def name_problem(name: str) -> str | None:
    """Why a column/key/table name suggests per-person data, or None."""
    if _BAND_KEY.match(name):
        return "keyed by a device (heart-rate band) id: per-band series"
    tokens = [t.lower() for t in re.split(r"[^A-Za-z0-9]+", _CAMEL.sub("_", name)) if t]
    bad = [t for t in tokens if t in FORBIDDEN_TOKENS]
    if bad:
        return f"name suggests per-person data ({bad[0]})"
    if any(t in PERSON_WORDS for t in tokens) and any(t in ID_WORDS for t in tokens):
        return "name suggests a person or device identifier"
    return None


def _string_problem(text: str) -> str | None:
    head = text[:16]
    if any(head.startswith(m) for m in _MAGIC) or "\xff\xd8\xff" in text[:4096]:
        return "binary media signature (image/audio) in text"
    if any(head.startswith(p) for p in _B64_PREFIXES):
        return "encoded image/audio (base64 or data URI)"
    # Low diversity excludes things like the S-T code string "TTSST..." (2 distinct letters).
    if len(text) >= LONG_ENCODED and _B64.fullmatch(text) and len(set(text)) >= 16:
        return f"long base64/hex-like string ({len(text)} chars): possible encoded image or audio"
    return None


def _walk(value: Any, path: str, n: int | None) -> Iterator[tuple[str, str]]:
    """(json path, reason) for every forbidden thing inside a decoded JSON value."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        yield path, f"binary value ({len(value)} bytes)"
    elif isinstance(value, str):
        problem = _string_problem(value)
        if problem:
            yield path, problem
        elif value[:1] in "{[" and len(value) > 1:
            try:
                decoded = json.loads(value)
            except ValueError:
                return
            yield from _walk(decoded, path, n)
    elif isinstance(value, dict):
        yield from _walk_object(value, path, n)
    elif isinstance(value, list):
        yield from _walk_array(value, path, n)


def _walk_object(obj: dict, path: str, n: int | None) -> Iterator[tuple[str, str]]:
    if isinstance(obj.get("n"), int):
        n = obj["n"]
    keys = [str(k) for k in obj]
    if len(keys) >= 2 and all(k.lstrip("-").isdigit() for k in keys):
        yield path, "object keyed by numeric ids: per-person series"
    for key, item in obj.items():
        child = f"{path}.{key}"
        problem = name_problem(str(key))
        if problem:
            yield child, problem
        yield from _walk(item, child, n)


def _walk_array(items: list, path: str, n: int | None) -> Iterator[tuple[str, str]]:
    numbers = [x for x in items if isinstance(x, (int, float)) and not isinstance(x, bool)]
    objects = [x for x in items if isinstance(x, dict)]
    if any(isinstance(x, list) for x in items):
        yield path, "nested array: keypoints, polygons or a per-person series"
    elif numbers and (len(numbers) >= 3 or (n is not None and n >= 2 and len(numbers) == n)):
        yield path, f"numeric series of {len(numbers)} values: possible per-person series"
    elif len(objects) >= 2 and not all(EVENT_KEYS <= o.keys() for o in objects):
        yield path, f"list of {len(objects)} objects that are not events: possible per-person list"
    for i, item in enumerate(items):
        yield from _walk(item, f"{path}[{i}]", n)


def scan_record(record: Any) -> list[str]:
    """Problems in one record (``"$.path: reason"``), deduplicated; empty when it is clean."""
    seen: dict[str, None] = {}
    for path, reason in _walk(record, "$", None):
        seen.setdefault(f"{path}: {reason}", None)
    return list(seen)


def audit_database(path: str | Path) -> AuditReport:
    """Scan every table of the SQLite file at ``path``; never writes to it.

    :raises AuditError: when the file is missing or not a readable SQLite database.
    """
    db_path = Path(path)
    if not db_path.is_file():
        raise AuditError(f"{db_path}: no such database file")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _audit(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise AuditError(f"{db_path}: cannot read database: {exc}") from None


def _audit(conn: sqlite3.Connection) -> AuditReport:
    report = AuditReport()
    grouped: dict[tuple[str, str], list[int]] = {}
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    if not tables:
        # An empty file opens as an empty database; "ok" would hide a wrong path.
        raise sqlite3.DatabaseError("no tables: not a store")
    for table in tables:
        report.tables += 1
        problem = name_problem(table)
        if problem:
            report.findings.append(Finding(f"table {table}", problem))
        columns = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        names = [c[1] for c in columns]
        for _cid, name, decl, *_ in columns:
            problem = name_problem(name)
            if problem:
                report.findings.append(Finding(f"{table}.{name}", problem))
            if "BLOB" in (decl or "").upper():
                report.findings.append(Finding(f"{table}.{name}", f"BLOB column ({decl})"))
        for rowid, values in _rows(conn, table, names):
            report.rows += 1
            n = values.get("n") if isinstance(values.get("n"), int) else None
            for name, value in values.items():
                for where, reason in _walk(value, "$", n):
                    # Indices are dropped so one planted field is one finding, not one per row.
                    inner = "" if where == "$" else " " + re.sub(r"\[\d+\]", "[*]", where)
                    grouped.setdefault((f"{table}.{name}{inner}", reason), []).append(rowid)
    for (where, reason), rowids in grouped.items():
        report.findings.append(Finding(where, reason, rows=len(rowids), first_rowid=rowids[0]))
    return report


def _rows(conn: sqlite3.Connection, table: str, names: list[str]) -> Iterator[tuple[int, dict]]:
    """(rowid, {column: value}) for every row; row numbers for WITHOUT ROWID tables."""
    quoted = ", ".join(f'"{c}"' for c in names)
    try:
        cursor = conn.execute(f'SELECT rowid, {quoted} FROM "{table}"')
    except sqlite3.OperationalError:
        cursor = conn.execute(f'SELECT NULL, {quoted} FROM "{table}"')
    for number, row in enumerate(cursor, start=1):
        yield (number if row[0] is None else row[0]), dict(zip(names, row[1:]))
