"""Fault injection (issue 13): what each fault does to the records, as a table anyone can rerun.

Usage: sudo .venv/bin/python bench/faults.py [--only NAME ...]

In the style of SQLite's and Jepsen's reports: for each case the records the pipeline
**produced**, how many were **stored** (readable in the store afterwards), how many were **lost**
(produced and neither stored nor still waiting in memory), how many **spurious** ones appeared
(written but never produced, e.g. empty windows) and what the process did. Real parts only:
SQLite on a tmpfs filled to the last byte or mounted read-only, a real damaged page, the real
session and replay code. Cases that need mounts are skipped (with the reason) without root.

Adding a case (h13b: hostile input, h14: receipts and epochs): write a function returning a
:class:`Outcome` and decorate it with ``@case("name", "what it injects")``; it appears in the
table. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # fault helpers and scene generator shared with tests
sys.path.insert(0, str(ROOT))

from scenegen import classroom_scene  # noqa: E402
from store_faults import can_mount, fill_disk, read_only_file, small_tmpfs  # noqa: E402

from edge.config import EdgeConfig, StoreConfig  # noqa: E402
from edge.daemon.heartbeat import Heartbeats  # noqa: E402
from edge.daemon.store_writer import StoreWriter  # noqa: E402
from edge.lesson.live import LiveState  # noqa: E402
from edge.lesson.session import LessonSession  # noqa: E402
from edge.store import Store, StoreError, StoreLock  # noqa: E402
from edge.store.recovery import open_store_checked  # noqa: E402
from sensors.samples import EnvironmentSample  # noqa: E402


@dataclass
class Outcome:
    """What one fault did."""

    produced: int
    stored: int
    waiting: int = 0  # still in memory, retried (not lost)
    spurious: int = 0
    behaviour: str = ""

    @property
    def lost(self) -> int:
        return max(self.produced - self.stored - self.waiting, 0)


@dataclass(frozen=True)
class Case:
    name: str
    injects: str
    run: Callable[[Path], Outcome]
    needs_mount: bool


CASES: list[Case] = []


def case(name: str, injects: str, needs_mount: bool = False) -> Callable:
    """Register a fault case (see the module doc)."""
    def register(run: Callable[[Path], Outcome]) -> Callable[[Path], Outcome]:
        CASES.append(Case(name, injects, run, needs_mount))
        return run
    return register


def _window(i: int) -> dict:
    return {"type": "window", "mode": "classroom", "start": 30.0 * i, "end": 30.0 * (i + 1),
            "n": 12, "suppressed": False,
            "metrics": {"students_present": 12, "hand_raises": i % 3, "head_up_rate": 0.8}}


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


@case("corrupt store at start", "a damaged outbox page among sent rows; 45 rows unsent")
def corrupt_store(folder: Path) -> Outcome:
    db = folder / "edge.db"
    with Store(db) as store:
        for i in range(300):
            store.write_record(_window(i))
        store.db.execute("UPDATE outbox SET sent_at = 1 WHERE seq <= 255")
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with sqlite3.connect(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        leaf = conn.execute("SELECT pageno FROM dbstat WHERE name = 'outbox' AND "
                            "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET 1").fetchone()[0]
    with db.open("r+b") as f:
        f.seek((leaf - 1) * page_size)
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    store, recovery = open_store_checked(db)
    store.close()
    carried = recovery.carried_outbox if recovery else 0
    return Outcome(45, carried, behaviour="moved aside, unsent rows salvaged row by row")


@case("read-only store", "the store file on a read-only bind mount", needs_mount=True)
def read_only(folder: Path) -> Outcome:
    db = folder / "edge.db"
    Store(db).close()
    with read_only_file(db):
        try:
            with Store(db) as store:
                store.check_writable()
            behaviour = "started anyway"
        except StoreError as exc:
            behaviour = "start refused, never READY: " + str(exc).split(": ", 1)[-1][:60]
    return Outcome(0, 0, behaviour=behaviour)


@case("two daemons, one store", "a second `edge run` on the same store.path")
def two_daemons(folder: Path) -> Outcome:
    db = folder / "edge.db"
    with StoreLock(db):
        try:
            StoreLock(db).acquire()
            behaviour = "second one started: every window written twice"
        except StoreError as exc:
            behaviour = "second refused: " + str(exc).split(": ", 1)[-1][:48]
    return Outcome(0, 0, behaviour=behaviour)


@case("disk full, guard off", "tmpfs filled to the last byte while 400 windows arrive",
      needs_mount=True)
def disk_full(folder: Path) -> Outcome:
    mount = folder / "small"
    with small_tmpfs(mount, 8192):
        db = mount / "edge.db"
        Store(db).close()
        live = LiveState("classroom")
        writer = StoreWriter(StoreConfig(path=db, min_free_mb=0), live, Heartbeats())
        with fill_disk(mount):
            writer.start()
            writer.submit([_window(i) for i in range(400)])
            time.sleep(3.0)
            failing = writer.problem is not None
        writer.close(timeout=60)
        stored = _count(db, "SELECT count(*) FROM windows")
    return Outcome(400, stored, waiting=writer.pending,
                   behaviour=("health 503 while full, " if failing else "") + "retried from memory")


@case("clock jump +1e5 s", "a real class, then the same class 100,000 s later")
def clock_jump(folder: Path) -> Outcome:
    scene = classroom_scene("TTSS")
    jump = 1e5
    later = [s.__class__(**{**vars(s), "t": s.t + jump}) for s in scene.samples]
    env = [EnvironmentSample(t=t, values={"co2_ppm": 900.0}) for t in
           [*range(0, 120, 10), *(jump + t for t in range(0, 120, 10))]]
    session = LessonSession(EdgeConfig(), "classroom", scene.zones)
    samples = sorted([*scene.samples, *later, *env], key=lambda s: s.t)
    records = [r for s in samples for r in session.feed(s)] + session.finish()
    windows = [r for r in records if r["type"] == "window"]
    with_people = [w for w in windows if w["metrics"].get("students_present")]
    lessons = sum(r["type"] == "lesson" for r in records)
    return Outcome(8, len(with_people), spurious=len(windows) - len(with_people),
                   behaviour=f"{lessons} lessons (the jump ends one, starts the next)")


@case("clock jump to 1e308", "a scene line with t = 1e308")
def clock_inf(folder: Path) -> Outcome:
    scene = folder / "jump.jsonl"
    scene.write_text('{"format": "edge.scene/v1", "mode": "classroom", "size": [640, 480]}\n'
                     '{"t": 0.0, "env": {"co2_ppm": 900}}\n{"t": 1e308, "env": {"co2_ppm": 900}}\n')
    try:
        done = subprocess.run([sys.executable, "-m", "edge.cli.main", "replay", str(scene)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
        behaviour = f"exit {done.returncode}: " + done.stderr.strip().split(": ", 2)[-1][:50]
    except subprocess.TimeoutExpired:
        behaviour = "hung (killed after 60 s)"
    return Outcome(0, 0, behaviour=behaviour)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only the cases with these names")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the cases log their faults; the table says it
    load = os.getloadavg()
    print(f"machine load (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} cores")
    mount_problem = can_mount()
    header = f"{'case':26} {'produced':>8} {'stored':>7} {'waiting':>7} {'lost':>5} " \
             f"{'spurious':>8} {'cpu s':>6}  behaviour"
    print(header)
    print("-" * len(header))
    for fault in CASES:
        if args.only and fault.name not in args.only:
            continue
        if fault.needs_mount and mount_problem:
            print(f"{fault.name:26} skipped: {mount_problem}")
            continue
        cpu0 = time.process_time()
        with tempfile.TemporaryDirectory() as folder:
            outcome = fault.run(Path(folder))
        cpu = time.process_time() - cpu0
        print(f"{fault.name:26} {outcome.produced:8d} {outcome.stored:7d} {outcome.waiting:7d} "
              f"{outcome.lost:5d} {outcome.spurious:8d} {cpu:6.2f}  {outcome.behaviour}")
    print("\ninjected:")
    for fault in CASES:
        print(f"  {fault.name}: {fault.injects}")


if __name__ == "__main__":
    main()
