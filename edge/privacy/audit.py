"""Privacy audit of a store (SPEC 3.5): everything in it must be named by the closed schema.

Not a search for suspicious things (that is at once too loose and too strict) but a check that
nothing else is there:

1. **Layout**: the tables, columns, indexes and triggers are exactly those this software's
   migrations create (compared with a freshly migrated in-memory store), and the schema version
   is this software's. An extra table or column is a finding, whatever its name.
2. **SQLite's own tables**: ``sqlite_sequence`` names only our AUTOINCREMENT tables with integer
   counters; ``sqlite_stat1`` (written by ``ANALYZE``) holds only statistics of our own indexes.
3. **Rows**: every column has its declared storage class (no BLOB anywhere); every window, lesson
   and outbox record validates against :mod:`edge.privacy.records` (JSON text parsed strictly:
   no NaN, no duplicate keys, an object, not a string holding one) and keeps the suppression
   rule ``n < min_group`` => ``suppressed`` with every rate null; ``meta`` holds only known keys
   with values of their declared shape (:data:`META_KEYS`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from edge.store.schema import SCHEMA_VERSION, migrate

from .records import RecordError, kind_of, validate_record

__all__ = ["META_KEYS", "AuditError", "AuditReport", "Finding", "audit_database"]

# meta key pattern -> value pattern. Add a key here when the software starts keeping one.
META_KEYS: dict[str, str] = {
    r"sync\.(session|published_high_water|rolled_up|dropped|pruned_sent)": r"-?[0-9]{1,19}",
    r"store\.epoch": r"[0-9a-f]{8,64}",
}
_STAT = re.compile(r"^[0-9]+( [0-9]+)*( unordered| noskipscan| sz=[0-9]+)*$")


class AuditError(Exception):
    """The database cannot be read (missing, not SQLite, corrupt)."""


@dataclass(frozen=True)
class Finding:
    """One thing the schema does not name: where (``table.column`` plus a JSON path) and why."""

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


def audit_database(path: str | Path, min_group: int = 5) -> AuditReport:
    """Audit the SQLite store at ``path`` (opened read-only; never written).

    :param min_group: ``privacy.min_group`` of the device that wrote it.
    :raises AuditError: when the file is missing or not a readable SQLite database.
    """
    db_path = Path(path)
    if not db_path.is_file():
        raise AuditError(f"{db_path}: no such database file")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _Audit(conn, min_group).run()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise AuditError(f"{db_path}: cannot read database: {exc}") from None


def expected_layout() -> dict[tuple[str, str], str | None]:
    """``{(type, name): sql}`` of every schema object a current store has (tables, indexes)."""
    conn = sqlite3.connect(":memory:")
    try:
        migrate(Database(conn))
        return _layout(conn)
    finally:
        conn.close()


def _layout(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    return {(t, n): sql for t, n, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' "
        "AND name <> 'sqlite_sequence'")}


class _Audit:
    def __init__(self, conn: sqlite3.Connection, min_group: int):
        self.conn = conn
        self.min_group = min_group
        self.report = AuditReport()
        self._grouped: dict[tuple[str, str], list[int]] = {}

    def run(self) -> AuditReport:
        actual = _layout(self.conn)
        if not any(t == "table" for t, _ in actual):
            # An empty file opens as an empty database; "ok" would hide a wrong path.
            raise sqlite3.DatabaseError("no tables: not a store")
        self._check_layout(actual, expected_layout())
        self._check_sqlite_tables()
        checks: dict[str, Callable[[int, dict[str, Any]], None]] = {
            "windows": lambda rowid, row: self._aggregate("windows", "window", rowid, row),
            "lessons": lambda rowid, row: self._aggregate("lessons", "lesson", rowid, row),
            "outbox": self._outbox,
            "meta": self._meta,
        }
        for table in sorted(n for t, n in actual if t == "table"):
            self.report.tables += 1
            for rowid, row in self._rows(table):
                self.report.rows += 1
                if table in checks:
                    checks[table](rowid, row)
        for (where, reason), rowids in self._grouped.items():
            self.report.findings.append(Finding(where, reason, len(rowids), rowids[0]))
        return self.report

    def _find(self, where: str, reason: str) -> None:
        self.report.findings.append(Finding(where, reason))

    def _row_finding(self, where: str, reason: str, rowid: int) -> None:
        # Indices are dropped so one planted field is one finding, not one per row.
        self._grouped.setdefault((re.sub(r"\[\d+\]", "[*]", where), reason), []).append(rowid)

    # -- layout --------------------------------------------------------------------------------

    def _check_layout(self, actual: dict, expected: dict) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            self._find("schema", f"store schema v{version}, this software audits v{SCHEMA_VERSION}")
        for (kind, name), sql in sorted(actual.items()):
            if (kind, name) not in expected:
                self._find(f"{kind} {name}", f"{kind} not in the store schema")
            elif _normal(sql) != _normal(expected[(kind, name)]):
                self._find(f"{kind} {name}",
                           f"{kind} differs from the store schema: {_normal(sql)[:160]}")
        for kind, name in sorted(expected.keys() - actual.keys()):
            self._find(f"{kind} {name}", f"{kind} of the store schema is missing")
        for table in sorted(n for t, n in actual if t == "table" and ("table", n) in expected):
            columns = [c[1] for c in self.conn.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                if column not in _expected_columns(table):
                    self._find(f"{table}.{column}", "column not in the store schema")

    def _check_sqlite_tables(self) -> None:
        tables = {n for t, n in _layout(self.conn) if t == "table"}
        indexes = {n for t, n in _layout(self.conn) if t == "index"}
        internal = [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%' OR name = 'sqlite_sequence'")]
        for name in internal:
            if name not in ("sqlite_sequence", "sqlite_stat1"):
                self._find(f"table {name}", "SQLite statistics table this software never creates")
        if "sqlite_sequence" in internal:
            for rowid, name, seq in self.conn.execute(
                    "SELECT rowid, name, seq FROM sqlite_sequence"):
                if name not in tables or not isinstance(seq, int) or isinstance(seq, bool):
                    self._row_finding("sqlite_sequence", f"not a counter of a store table: {name!r:.40}",
                                      rowid)
        if "sqlite_stat1" in internal:
            for rowid, tbl, idx, stat in self.conn.execute(
                    "SELECT rowid, tbl, idx, stat FROM sqlite_stat1"):
                ok = (tbl in tables and (idx is None or idx in indexes)
                      and isinstance(stat, str) and _STAT.fullmatch(stat))
                if not ok:
                    self._row_finding("sqlite_stat1", "not index statistics of the store", rowid)

    # -- rows ----------------------------------------------------------------------------------

    def _rows(self, table: str) -> Iterator[tuple[int, dict[str, Any]]]:
        names = [c[1] for c in self.conn.execute(f'PRAGMA table_info("{table}")')]
        quoted = ", ".join(f'"{c}"' for c in names)
        try:
            cursor = self.conn.execute(f'SELECT rowid, {quoted} FROM "{table}"')
        except sqlite3.OperationalError:  # WITHOUT ROWID (only a planted table can be one)
            cursor = self.conn.execute(f'SELECT NULL, {quoted} FROM "{table}"')
        for number, row in enumerate(cursor, start=1):
            values = dict(zip(names, row[1:]))
            for name, value in values.items():
                if isinstance(value, bytes):
                    self._row_finding(f"{table}.{name}", f"binary value ({len(value)} bytes)",
                                      number if row[0] is None else row[0])
            yield (number if row[0] is None else row[0]), values

    def _aggregate(self, table: str, record_type: str, rowid: int, row: dict[str, Any]) -> None:
        metrics = self._json(f"{table}.metrics", row.get("metrics"), rowid)
        if metrics is None:
            return
        suppressed = row.get("suppressed")
        record = {"type": record_type, "mode": row.get("mode"), "start": row.get("start"),
                  "end": row.get("end"), "n": row.get("n"),
                  "suppressed": bool(suppressed) if suppressed in (0, 1) else suppressed,
                  "metrics": metrics}
        try:
            validate_record(record, self.min_group)
        except RecordError as exc:
            # Name the column: "$.metrics.x" lives in the metrics column, "$.n" in n.
            head, _, rest = exc.path[2:].partition(".")
            where = f"{table}.metrics ${'.' + rest if rest else ''}" if head == "metrics" \
                else f"{table}.{head.split('[')[0] or 'row'}"
            self._row_finding(where, exc.reason, rowid)
        for column in ("created", "outbox_seq"):
            if not _is_number(row.get(column)):
                self._row_finding(f"{table}.{column}", "not a number", rowid)

    def _outbox(self, rowid: int, row: dict[str, Any]) -> None:
        record = self._json("outbox.record", row.get("record"), rowid)
        if record is None or not self._record("outbox.record", record, rowid):
            return
        mirrors = {"kind": kind_of(record), "window_start": record["start"],
                   "window_end": record["end"], "n": record["n"]}
        for column, value in mirrors.items():
            if row.get(column) != value:
                self._row_finding(f"outbox.{column}", "does not match its record", rowid)
        for column in ("created", "bytes", "historical"):
            if not _is_number(row.get(column)):
                self._row_finding(f"outbox.{column}", "not a number", rowid)
        if row.get("sent_at") is not None and not _is_number(row["sent_at"]):
            self._row_finding("outbox.sent_at", "not a time", rowid)

    def _meta(self, rowid: int, row: dict[str, Any]) -> None:
        key, value = row.get("key"), row.get("value")
        for key_pattern, value_pattern in META_KEYS.items():
            if isinstance(key, str) and re.fullmatch(key_pattern, key):
                if not (isinstance(value, str) and re.fullmatch(value_pattern, value)):
                    self._row_finding(f"meta.value [{key}]", "value not of the key's shape", rowid)
                return
        self._row_finding("meta.key", f"key not in the schema: {str(key)[:40]!r}", rowid)

    def _record(self, where: str, record: dict[str, Any], rowid: int) -> bool:
        try:
            validate_record(record, self.min_group)
        except RecordError as exc:
            self._row_finding(f"{where} {exc.path}", exc.reason, rowid)
            return False
        return True

    def _json(self, where: str, text: Any, rowid: int) -> dict[str, Any] | None:
        """The JSON object in ``text``, strictly parsed; None (with a finding) otherwise."""
        if not isinstance(text, str):
            self._row_finding(where, f"not JSON text ({type(text).__name__})", rowid)
            return None
        try:
            value = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
        except ValueError as exc:
            self._row_finding(where, f"not valid JSON: {exc}", rowid)
            return None
        if not isinstance(value, dict):
            self._row_finding(where, f"JSON {type(value).__name__}, not an object", rowid)
            return None
        return value


def _expected_columns(table: str) -> list[str]:
    conn = sqlite3.connect(":memory:")
    try:
        migrate(Database(conn))
        return [c[1] for c in conn.execute(f'PRAGMA table_info("{table}")')]
    finally:
        conn.close()


def _normal(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.split())


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)
