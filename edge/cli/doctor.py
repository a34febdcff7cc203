"""`edge doctor`: is this device set up right? One line per check: OK, WARN, FAIL or SKIP.

Checks: config, models (sha256), each enabled camera (open + one frame), environment sensors,
checks contributed by plug-ins (entry-point group ``classroom_edge.doctor``: sync/ adds the
broker's connect + publish/subscribe round trip, edge must not import sync), store (integrity,
size, free space), clock (NTP sync), systemd (service state). Only FAIL counts as a problem (exit 1): WARN is for what cannot
be known here (no systemd, no timedatectl) or what merely deserves a look. Everything is read
only: the store is opened ``mode=ro``, so running doctor as root next to the service never
leaves root-owned files in the state directory.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from edge.config import EdgeConfig
from edge.store.outbox import stats as outbox_stats
from models.catalog import verify
from models.runtime import ModelError, resolve_model
from sensors import SourceError, open_source
from sensors.camera import CameraSource, is_camera_spec
from sensors.scene import SCENE_SUFFIXES, SceneSource

__all__ = ["DOCTOR_GROUP", "FAIL", "OK", "SKIP", "WARN", "Check", "PluginCheck", "format_report",
           "run_checks"]

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
MB = 1024 * 1024
NAME_WIDTH = 14  # fixed, so lines printed one at a time still line up
DOCTOR_GROUP = "classroom_edge.doctor"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: str
    detail: str


def run_checks(config: EdgeConfig, *, timeout_s: float = 5.0, unit: str = "edge"
               ) -> Iterator[Check]:
    """Every check in report order (the config itself was loaded, so it is valid)."""
    yield _models(config)
    yield _pose_model(config)
    for camera_id, camera in config.cameras.items():
        if camera.enabled:
            yield _guard(f"camera:{camera_id}", lambda c=camera: _camera(c.source, timeout_s))
    for sensor in config.environment.sensors:
        yield _guard(f"sensor:{sensor.name}", lambda s=sensor: _sensor(s, timeout_s))
    for name, check in _plugin_checks():
        yield _guard(name, lambda c=check: c(config, timeout_s))
    yield _guard("store", lambda: _store(config))
    yield _clock()
    yield _systemd(unit)


# A plug-in check: (config, timeout_s) -> (status, detail), registered as "name = pkg.mod:fn".
PluginCheck = Callable[[EdgeConfig, float], tuple[str, str]]


def _plugin_checks() -> list[tuple[str, PluginCheck]]:
    """Installed plug-in checks by name; one that fails to load is its own FAIL line."""
    checks: list[tuple[str, PluginCheck]] = []
    for ep in sorted(entry_points(group=DOCTOR_GROUP), key=lambda e: e.name):
        try:
            checks.append((ep.name, ep.load()))
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, not fatal
            checks.append((ep.name, lambda _c, _t, e=exc: (FAIL, f"plug-in failed to load: {e}")))
    return checks


def format_report(checks: list[Check]) -> str:
    """Aligned lines: ``FAIL  camera:front  cannot open ...``."""
    width = max([NAME_WIDTH, *(len(c.name) for c in checks)])
    return "\n".join(f"{c.status:<4}  {c.name:<{width}}  {c.detail}" for c in checks)


def _guard(name: str, check: Callable[[], tuple[str, str]]) -> Check:
    """Run one check; an unexpected exception is that check's FAIL, not the report's end."""
    try:
        status, detail = check()
    except Exception as exc:  # noqa: BLE001 - doctor must report every check
        status, detail = FAIL, f"{type(exc).__name__}: {exc}"
    return Check(name, status, detail.replace("\n", " "))


def _models(config: EdgeConfig) -> Check:
    verdicts = verify(config.runtime.models_dir)
    bad = [f"{v.name} {v.status} ({v.path})" for v in verdicts if v.status != "ok"]
    if bad:
        return Check("models", FAIL, "; ".join(bad))
    return Check("models", OK, f"{len(verdicts)} files, sha256 as in the manifest")


def _pose_model(config: EdgeConfig) -> Check:
    """The configured pose model (a manifest name or a path) exists: the manifest check above
    does not see a path, and without the model no camera frame is ever analysed."""
    try:
        path = resolve_model(config.pose.model, config.runtime.models_dir)
    except ModelError as exc:
        return Check("pose model", FAIL, f"pose.model {config.pose.model!r}: {exc}")
    return Check("pose model", OK, str(path))


def _camera(spec: str, timeout_s: float) -> tuple[str, str]:
    if Path(spec).suffix.lower() in SCENE_SUFFIXES:
        with SceneSource(spec) as scene:
            first = next(iter(scene), None)
        if first is None:
            return FAIL, f"{spec}: scene has no samples"
        return OK, f"scene {spec}: {scene.header.mode} mode"
    if is_camera_spec(spec):
        source = CameraSource(spec, open_timeout=timeout_s, read_timeout=timeout_s)
        source.open()
    else:
        source = open_source(spec)
    with source:
        frame = next(iter(source), None)
    name = getattr(source, "name", spec)  # camera names have passwords redacted
    if frame is None:
        return FAIL, f"{name}: opened, but no frame within {timeout_s:g} s"
    width, height = frame.size
    return OK, f"{name}: {width}x{height} frame read"


def _sensor(sensor_cfg, timeout_s: float) -> tuple[str, str]:
    from edge.daemon.env_sensors import open_env_sensor  # pulls in serial/MQTT only when configured

    try:
        sensor = open_env_sensor(sensor_cfg)
    except SourceError as exc:
        return FAIL, str(exc)
    try:
        sample = sensor.read_once(timeout_s)
    finally:
        sensor.close()
    if sample is None:
        return FAIL, f"{sensor_cfg.type}: no reading within {timeout_s:g} s"
    values = ", ".join(f"{k}={v:g}" for k, v in sample.values.items())
    return OK, f"{sensor_cfg.type}: {values}"


def _store(config: EdgeConfig) -> tuple[str, str]:
    path = Path(config.store.path)
    folder = path.parent if path.parent.exists() else Path(config.node.state_dir)
    free = shutil.disk_usage(folder if folder.exists() else Path("/")).free
    min_free = config.store.min_free_mb * MB
    space = f"{free // MB} MB free (limit {config.store.min_free_mb} MB)"
    if not path.exists():
        return WARN, f"{path}: not created yet (the service creates it); {space}"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)").fetchall()]
        unsent = outbox_stats(conn).unsent
    except sqlite3.Error as exc:
        return FAIL, f"{path}: unreadable ({exc})"
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    detail = f"{path}: {size / MB:.1f} MB, {unsent} unsent, {space}"
    if rows != ["ok"]:
        return FAIL, f"{path}: integrity check failed: {'; '.join(rows)}"
    if free < min_free:
        return FAIL, f"{detail}: below the limit, fine windows are paused"
    if free < 2 * min_free or size > config.store.max_mb * MB:
        return WARN, f"{detail}: little headroom"
    return OK, detail


def _run(cmd: list[str]) -> str | None:
    """stdout of a system tool, or None when it is missing or fails."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.stdout.strip() else None


def _clock() -> Check:
    synced = _run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if synced == "yes":
        return Check("clock", OK, "NTP synchronised")
    if synced == "no":
        return Check("clock", WARN, "not NTP synchronised: window times may be off")
    return Check("clock", WARN, "unknown (timedatectl gave no answer)")


def _systemd(unit: str) -> Check:
    if not Path("/run/systemd/system").is_dir():
        return Check("systemd", WARN, "unknown (systemd is not running here)")
    state = _run(["systemctl", "is-active", unit]) or "unknown"
    if state == "active":
        return Check("systemd", OK, f"{unit}.service active")
    if state == "failed":
        return Check("systemd", FAIL, f"{unit}.service failed: journalctl -u {unit}")
    return Check("systemd", WARN, f"{unit}.service {state}")
