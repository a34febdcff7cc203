"""`systemctl reload edge` (SIGHUP): read the config file again and apply what can change live.

Zones apply to the running lesson from its next frame (a calibration saved with `edge calibrate
zones` or by hand takes effect without a restart); thresholds, windows and PE stations from the
next lesson; the microphone, environment and heart-rate feeds are restarted when their sections
changed. The lesson and the store are kept. What is bound at start (identity, cameras, models,
store, broker, web port) needs a restart: a change there is logged and left for it. An invalid
new file keeps the running config, and the log says why.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge.config import ConfigError, EdgeConfig, load_config

__all__ = ["FEED_SECTIONS", "RESTART_SECTIONS", "ReloadPlan", "plan_reload"]

log = logging.getLogger(__name__)

# Sections read once at start: changes wait for a restart.
RESTART_SECTIONS = ("node", "cameras", "pose", "runtime", "store", "mqtt", "web")
# Sections of the sensor feeds: a change restarts the feeds.
FEED_SECTIONS = ("audio", "environment", "heart_rate")


class ReloadPlan:
    """What a reload does: the config to run with, whether feeds restart, what waits."""

    def __init__(self, running: EdgeConfig, loaded: EdgeConfig):
        self.waiting = [s for s in RESTART_SECTIONS if getattr(loaded, s) != getattr(running, s)]
        self.config = loaded.model_copy(update={s: getattr(running, s) for s in RESTART_SECTIONS})
        self.restart_feeds = any(getattr(loaded, s) != getattr(running, s) for s in FEED_SECTIONS)


def plan_reload(path: str | Path | None, running: EdgeConfig) -> ReloadPlan | None:
    """The plan for reloading ``path``; None (logged) when there is no file or it is invalid."""
    if path is None:
        log.warning("reload: running on built-in defaults, there is no config file to read")
        return None
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        log.error("reload: %s is invalid, keeping the running config: %s", path,
                  "; ".join(exc.problems))
        return None
    plan = ReloadPlan(running, loaded)
    if plan.waiting:
        log.warning("reload: changes to [%s] take effect after a restart", ", ".join(plan.waiting))
    return plan
