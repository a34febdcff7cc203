"""Assemble the web app from its routers; every dependency is passed in explicitly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from edge import __version__
from edge.config import EdgeConfig, ZonesConfig
from edge.lesson.live import LessonControl, LiveState
from edge.store import Store

from .auth import Tokens, TokenSource
from .guard import LoginThrottle, RequestGuard
from .prom import metrics_registry, metrics_router
from .routes_alerts import alerts_router
from .routes_calibration import SnapshotPose, SnapshotProvider, calibration_router
from .routes_lessons import StoreReader, lessons_router
from .routes_live import health_router, live_router
from .routes_pages import assets_router, pages_router

__all__ = ["create_app"]


def create_app(
    config: EdgeConfig,
    live: LiveState,
    store: Store | None,
    control: LessonControl | None,
    *,
    snapshot_provider: SnapshotProvider | None = None,
    snapshot_pose: SnapshotPose | None = None,
    config_path: str | Path | None = None,
    on_zones_saved: Callable[[ZonesConfig], None] | None = None,
    tokens: Tokens | None = None,
) -> FastAPI:
    """The teacher's and technician's web app (SPEC 8).

    :param config: device configuration (web section: tokens, LAN-only; cameras; zones).
    :param live: the current lesson, updated by the daemon.
    :param store: the aggregate store; the app opens its own read connections on its file.
    :param control: starts/ends lessons for the page's buttons (None: those answer 503).
    :param snapshot_provider: camera id -> current BGR frame, for the calibration snapshot.
    :param snapshot_pose: the pipeline's pose model, lent to the snapshot's privacy step (None:
        the snapshot loads one of its own on first use).
    :param config_path: the TOML file calibrated zones are saved into.
    :param on_zones_saved: called with the new zones after they were saved.
    :param tokens: fixed access tokens; default: the config's, or the token file's in the
        state directory (generated at first start, re-read after `edge web token --rotate`).
    :raises edge.web.auth.TokenError: when tokens are neither configured nor storable.
    """
    app = FastAPI(title="classroom-edge", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="Live classroom and PE aggregates of this device (no images, no "
                  "identities). Authenticate with `Authorization: Bearer <token>`.")
    state = app.state
    state.config = config
    state.live = live
    state.store_reader = StoreReader(store.path) if store is not None else None
    state.control = control
    state.snapshot_provider = snapshot_provider
    state.snapshot_pose = snapshot_pose
    state.config_path = Path(config_path) if config_path is not None else None
    state.on_zones_saved = on_zones_saved
    state.token_source = TokenSource(config, fixed=tokens)
    state.login_throttle = LoginThrottle()
    state.lan_only = config.web.lan_only
    state.metrics_registry = metrics_registry(live)
    for router in (health_router, live_router, alerts_router, lessons_router, calibration_router,
                   metrics_router, assets_router, pages_router):
        app.include_router(router)
    app.add_middleware(RequestGuard)  # CSRF origin check and body bound, before any route
    return app
