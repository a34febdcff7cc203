"""A pytest plugin: after the run, ``edge privacy audit`` every store the tests left behind.

Issue 13's acceptance: the audit exits 0 on every store the test suite produces (and non-zero
on the planted ones, which ``test_privacy_audit.py`` checks itself). A store is any SQLite file
under pytest's temporary folder with an ``outbox`` table; skipped are the deliberately broken
ones: planted personal data, stores moved aside as corrupt, and fixtures that corrupt pages.
"""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import pytest

from edge.privacy.audit import AuditError, audit_database

# Files the tests make broken on purpose (name patterns).
DELIBERATE = ("planted.db", "newer.db", "*.corrupt-*", "x.db")


def _is_store(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox' AND "
                                "type = 'table'").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def stores_under(folder: Path) -> list[Path]:
    """Edge stores under ``folder`` that were not broken on purpose."""
    found = []
    for path in sorted(folder.rglob("*.db")):
        if any(path.match(p) for p in DELIBERATE) or not path.is_file():
            continue
        if _is_store(path):
            found.append(path)
    return found


def _min_group(store: Path) -> int:
    """``privacy.min_group`` of the daemon that wrote ``store``: from the ``edge.toml`` beside its
    ``state/`` folder (tests/daemon_process.py writes it there), else the default 5."""
    config = store.parent.parent / "edge.toml"
    try:
        return int(tomllib.loads(config.read_text())["privacy"]["min_group"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError):
        return 5


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or session.config.option.collectonly:
        return
    base = factory.getbasetemp()
    problems = []
    stores = stores_under(base)
    for path in stores:
        try:
            report = audit_database(path, _min_group(path))
        except AuditError as exc:
            if "malformed" in str(exc):  # a test that damaged pages on purpose
                continue
            problems.append(f"{path}: {exc}")
            continue
        problems += [f"{path.relative_to(base)}: {finding}" for finding in report.findings]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and stores:
        reporter.write_line(f"privacy audit of {len(stores)} stores left by the tests: "
                            + ("ok" if not problems else f"{len(problems)} findings"))
        for line in problems[:20]:
            reporter.write_line("  " + line)
    if problems and exitstatus == 0:
        session.exitstatus = 1
