"""Open the store at start-up after SQLite's ``PRAGMA integrity_check``; recover when it fails.

Recovery (SPEC 9), when the file is damaged (power loss on a bad SD card, a full disk mid-write
on a filesystem that lies about fsync) or is not a database at all:

1. The file and its ``-wal``/``-shm`` companions are **moved aside**, not deleted:
   ``edge.db`` -> ``edge.db.corrupt-20250301T081500`` (same folder), for a technician to inspect.
2. A **fresh** store is created at the original path, so the daemon runs again at once.
3. Whatever can still be read of the old **unsent outbox** is salvaged row by row, one
   statement per row so a damaged page costs only its own rows, and carried over (each
   becomes a record in the new store with a new outbox row, so the hub still gets it); rows
   that cannot be read or parsed are counted as lost. The outbox sequence of the new store
   continues after the old one's (or, when that is unreadable, starts at the current time in
   milliseconds), and the fresh store has a new epoch, so ``msg_id = <node>:<epoch>:<seq>``
   never repeats an id the hub has already seen. Readable ``meta`` keys (e.g. the MQTT
   session counter) are carried over too, except the epoch.
   Already-sent aggregates are not copied: the hub has them.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from edge.store import Store, StoreError
from .schema import EPOCH_KEY

__all__ = ["Recovery", "integrity_problem", "open_store_checked"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    """What happened when a damaged store was replaced."""

    problem: str
    moved_to: Path
    carried_outbox: int
    lost_outbox: int  # unreadable rows or sequence numbers (a damaged page hides whether sent)


def integrity_problem(path: str | Path) -> str | None:
    """None when ``path`` passes ``PRAGMA integrity_check`` (or does not exist), else why not."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(str(path))
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows[:5])


def open_store_checked(path: str | Path) -> tuple[Store, Recovery | None]:
    """Check, recover if needed (module doc), and open the store at ``path``.

    :raises StoreError: when even a fresh store cannot be created (disk full, read-only).
    """
    path = Path(path)
    problem = integrity_problem(path)
    if problem is None:
        try:
            return Store(path), None
        except StoreError as exc:  # readable pages but not a store we can use
            if "newer than this software" in str(exc):
                raise  # a downgrade: never throw away a newer store
            problem = str(exc)
    moved = _move_aside(path)
    log.error("store %s failed its integrity check (%s); moved to %s, starting fresh",
              path, problem, moved)
    store = Store(path)
    carried, lost = _carry_over(moved, store)
    if carried or lost:
        log.warning("carried %d unsent outbox rows into the fresh store; %d unreadable "
                    "(sent or not: a damaged page does not say)", carried, lost)
    return store, Recovery(problem, moved, carried, lost)


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    path.rename(target)
    return target


def _carry_over(old_path: Path, store: Store) -> tuple[int, int]:
    """Copy unsent outbox rows (and meta) of the damaged file into ``store``: (carried, lost)."""
    try:
        old = sqlite3.connect(str(old_path))
    except sqlite3.Error:
        _continue_sequence(store, None)
        return 0, 0
    try:
        # sqlite_sequence remembers the highest seq ever issued, even after sent rows were pruned.
        issued = [_scalar(old, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
                  _scalar(old, "SELECT max(seq) FROM outbox NOT INDEXED")]
        known = [v for v in issued if v is not None]
        _continue_sequence(store, max(known) if known else None)
        _copy_meta(old, store)
        records, lost = _unsent_records(old)
    finally:
        old.close()
    carried = 0
    for record, historical in records:
        try:
            store.write_record(record, historical=historical)
            carried += 1
        except StoreError as exc:
            log.warning("outbox row not carried over: %s", exc)
            lost += 1
    return carried, lost


def _unsent_records(old: sqlite3.Connection) -> tuple[list[tuple[dict, bool]], int]:
    """Salvage the unsent outbox rows of a damaged file, row by row: ([(record, historical)], lost).

    A damaged page makes any statement that crosses it fail, so one scan of the table (or a
    sort of it) loses every row. Instead the rows are walked in ``seq`` order, one statement
    per row; where that fails, the next ``seq`` is looked up on its own, so the walk always
    moves on and a damaged page costs only its own rows. ``lost`` counts the sequence numbers
    that could not be read (and rows whose record is not JSON); it may count numbers that
    never held a row.
    """
    bounds = [_scalar(old, f"SELECT {f}(seq) FROM outbox") for f in ("min", "max")]
    if None in bounds:  # the table's first or last page is gone: fall back to the counter
        bounds = [1, _scalar(old, "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")]
    low, high = bounds
    if high is None:
        return [], 0
    records: list[tuple[dict, bool]] = []
    lost, seq = 0, int(low) - 1
    while seq < high:
        try:
            row = old.execute(f"{_ROW} WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)).fetchone()
        except sqlite3.Error:
            seq += 1
            try:
                row = old.execute(f"{_ROW} WHERE seq = ?", (seq,)).fetchone()
            except sqlite3.Error:
                lost += 1
                continue
            if row is None:
                continue
        if row is None:
            break
        seq, text, historical, sent_at = row
        if sent_at is not None:
            continue
        try:
            records.append((json.loads(text), bool(historical)))
        except (TypeError, ValueError):
            lost += 1
    if lost:
        log.warning("old outbox only partly readable: %d sequence numbers unreadable", lost)
    return records, lost


# NOT INDEXED: a damaged index must not hide rows (rowid lookups are still used).
_ROW = "SELECT seq, record, historical, sent_at FROM outbox NOT INDEXED"


def _copy_meta(old: sqlite3.Connection, store: Store) -> None:
    try:
        # Not the epoch: the fresh store has its own, so no msg_id can repeat (SPEC 7).
        rows = old.execute("SELECT key, value FROM meta NOT INDEXED WHERE key != ?",
                           (EPOCH_KEY,)).fetchall()
    except sqlite3.Error:
        return
    with store.db.atomic():
        store.db.conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)


def _continue_sequence(store: Store, old_max: int | None) -> None:
    """Make the next outbox seq follow the old store's (or the clock, when that is unknown)."""
    start = int(old_max) if old_max is not None else int(time.time() * 1000)
    with store.db.atomic():
        store.db.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox'")
        store.db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (start,))


def _scalar(conn: sqlite3.Connection, sql: str) -> int | None:
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None or row[0] is None else int(row[0])
