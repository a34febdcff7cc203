"""Helpers for the sync tests: a real edge store with outbox rows, a hub running in a thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlite_utils import Database

from edge.config import MqttConfig, NodeConfig
from edge.store import Store
from sync.hub import Hub, HubOptions
from sync.hub_store import PostgresHubStore, open_store

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
NODE = NodeConfig(district="d1", school="s1", room="r101", id="n1")
NODE_KEY = "d1/s1/r101/n1"


def mqtt_config(broker_url: str, **overrides) -> MqttConfig:
    """Test MQTT settings: small in-flight window, the given broker."""
    return MqttConfig(broker=broker_url, **{"max_inflight": 20, **overrides})


def window_record(i: int, kind: str = "classroom", length: float = 30.0) -> dict:
    """A SPEC 5 window record number ``i`` (consecutive windows of ``length`` seconds)."""
    return {"type": "lesson" if kind == "lesson" else "window",
            "mode": "pe" if kind == "pe" else "classroom",
            "start": i * length, "end": (i + 1) * length, "n": 30, "suppressed": False,
            "metrics": {"students_present": 30, "hand_raises": i % 3, "head_up_rate": 0.5 + (i % 5) / 10,
                        "teacher": {"zone_share": 0.8, "board_share": 0.1, "distance": 4.0}}}


def make_store(path: Path, rows: int = 0, kind: str = "classroom", created: float | None = None) -> Path:
    """A real edge store (``edge.store.Store``) with ``rows`` unsent outbox rows."""
    Store(path).close()
    add_rows(path, range(rows), kind, created)
    return path


def add_rows(path: Path, numbers, kind: str = "classroom", created: float | None = None) -> None:
    """Store window records ``numbers`` (or one lesson) through the store's own write path."""
    store = Store(path)
    # FULL fsync per record is what the daemon pays; tests only need the rows.
    store.db.execute("PRAGMA synchronous = OFF")
    try:
        for i in numbers:
            store.write_record(window_record(i, kind), now=created)
    finally:
        store.close()


def outbox_seqs(path: Path, unsent_only: bool = False) -> list[int]:
    db = Database(path)
    where = " WHERE sent_at IS NULL" if unsent_only else ""
    seqs = [r[0] for r in db.execute(f"SELECT seq FROM outbox{where} ORDER BY seq").fetchall()]
    db.conn.close()
    return seqs


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``condition`` until true; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class HubRunner:
    """`Hub.run` in a thread; :meth:`stop` leaves the persistent session at the broker."""

    def __init__(self, store_url: str, prefix: str, broker_url: str, **options):
        self.store_url, self.prefix, self.broker_url = store_url, prefix, broker_url
        self.options = options
        self.hub: Hub | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> HubRunner:
        store = open_store(self.store_url, self.prefix)
        opts = HubOptions(**{"client_id": f"hub-{self.prefix or 'x'}", "backoff_first_s": 0.1,
                             "backoff_cap_s": 0.5, **self.options})
        self.hub = Hub(store, mqtt_config(self.broker_url), self.broker_url, opts,
                       reopen_store=lambda: open_store(self.store_url, self.prefix))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.hub.run, args=(self._stop,), daemon=True)
        self._thread.start()
        wait_for(self.hub.connected.is_set, 10, "hub connected")
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        if self.hub:
            self.hub.store.close()

    def ids(self) -> list[str]:
        """msg_ids now in the hub store (read through a fresh connection)."""
        store = open_store(self.store_url, self.prefix)
        try:
            return sorted(store.aggregate_ids())
        finally:
            store.close()


def store_epoch_of(path: Path) -> str:
    """The epoch of the edge store at ``path`` (part of every msg_id it publishes)."""
    db = Database(path)
    try:
        return db.execute("SELECT value FROM meta WHERE key = 'store.epoch'").fetchone()[0]
    finally:
        db.conn.close()


def expected_ids(seqs, db: Path | None = None) -> list[str]:
    """Hub msg_ids of ``seqs`` from the store ``db`` (None: an epoch-less legacy sender)."""
    epoch = f"{store_epoch_of(db)}:" if db is not None else ""
    return sorted(f"{NODE_KEY}:{epoch}{s}" for s in seqs)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_store(request, tmp_path: Path):
    """(store URL, table prefix) for each backend; PostgreSQL tables are dropped afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    if request.param == "sqlite":
        yield str(tmp_path / "hub.db"), prefix
        return
    yield PG_URL, prefix
    store = PostgresHubStore(PG_URL, prefix)
    store.drop_tables()
    store.close()
