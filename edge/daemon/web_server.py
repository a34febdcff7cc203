"""uvicorn serving the web app in a thread, with a heartbeat from its event loop."""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from fastapi import FastAPI

from edge.web.connections import LimitedH11Protocol

from .heartbeat import Heartbeats

__all__ = ["HEARTBEAT_NAME", "WebServer"]

log = logging.getLogger(__name__)

HEARTBEAT_NAME = "web"
MAX_CONNECTIONS = 1024  # uvicorn answers 503 beyond this; LimitNOFILE in the unit is 16384


class _BeatingServer(uvicorn.Server):
    """uvicorn calls ``on_tick`` about ten times a second from its loop: beat there, so a wedged
    event loop (not just a dead thread) stops the heartbeat."""

    def __init__(self, config: uvicorn.Config, heartbeats: Heartbeats):
        super().__init__(config)
        self.heartbeats = heartbeats

    async def on_tick(self, counter: int) -> bool:
        self.heartbeats.beat(HEARTBEAT_NAME)
        return await super().on_tick(counter)


class WebServer:
    """Serves ``app`` on ``host:port`` until :meth:`stop`."""

    def __init__(self, app: FastAPI, host: str, port: int, heartbeats: Heartbeats):
        # Connection limits per client and overall (edge/web/connections.py): idle sockets
        # must not exhaust the file descriptors and take the page down for everyone.
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=1,
                                lifespan="off", http=LimitedH11Protocol,
                                limit_concurrency=MAX_CONNECTIONS)
        self.server = _BeatingServer(config, heartbeats)
        self.heartbeats = heartbeats
        self._thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; returns once the socket listens.

        :raises OSError: when the port cannot be bound (in use, no permission).
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"web server could not listen on {self.server.config.host}:"
                              f"{self.server.config.port} (port in use or not permitted)")
            if time.monotonic() > deadline:
                raise OSError("web server did not start in time")
            time.sleep(0.02)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, close connections (live streams included) and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(1.0)
        self.heartbeats.forget(HEARTBEAT_NAME)
