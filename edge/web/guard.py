"""Request-level defences of the web app (OWASP): same-origin state changes, bounded bodies,
throttled token guessing.

* **CSRF** (OWASP "verifying origin with standard headers"): a state-changing request (POST,
  PUT, PATCH, DELETE) that authenticates with the session cookie must carry an ``Origin`` (or,
  without one, a ``Referer``) equal to this server's own origin. ``SameSite=Strict`` alone does
  not help: a page on another *port* of the same host is same-site. Bearer-token requests are
  exempt: a browser never adds that header cross-origin on its own.
* **Bodies** are read at most :data:`MAX_BODY_BYTES` (declared or chunked): a 12 MB zones PUT
  reached 5.7 GB RSS in the JSON and pydantic layers before any limit applied.
* **Token guesses**: :class:`LoginThrottle` counts wrong credentials per client address;
  past :data:`MAX_FAILURES` in :data:`FAILURE_WINDOW_S` the client gets 429 until the window
  ends, right credentials included (so a lucky guess is not confirmed).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from .auth import COOKIE

__all__ = ["FAILURE_WINDOW_S", "MAX_BODY_BYTES", "MAX_FAILURES", "LoginThrottle", "RequestGuard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 256 * 1024  # the largest legal zones document is ~60 KB
MAX_FAILURES = 10
FAILURE_WINDOW_S = 300.0
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_TRACKED = 10_000  # addresses remembered by the throttle (memory bound)


class LoginThrottle:
    """Wrong-credential counter per client address (thread-safe)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[float, int]] = {}  # host -> (window start, count)

    def retry_after(self, host: str) -> int | None:
        """Seconds until ``host`` may try again, or None when it is not throttled."""
        with self._lock:
            entry = self._failures.get(host)
            if entry is None:
                return None
            left = entry[0] + self.window_s - self.clock()
            if left <= 0:
                del self._failures[host]
                return None
            return int(left) + 1 if entry[1] >= self.max_failures else None

    def failed(self, host: str) -> None:
        """Count one wrong token, cookie or login link from ``host``."""
        now = self.clock()
        with self._lock:
            start, count = self._failures.get(host, (now, 0))
            if now - start >= self.window_s:
                start, count = now, 0
            if len(self._failures) >= _MAX_TRACKED and host not in self._failures:
                self._prune(now)
            self._failures[host] = (start, count + 1)

    def _prune(self, now: float) -> None:
        self._failures = {h: e for h, e in self._failures.items() if now - e[0] < self.window_s}
        if len(self._failures) >= _MAX_TRACKED:  # all fresh: forget the oldest half
            keep = sorted(self._failures.items(), key=lambda item: item[1][0])[_MAX_TRACKED // 2:]
            self._failures = dict(keep)


class RequestGuard:
    """ASGI middleware: the CSRF origin check and the body bound (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = _cross_origin(scope, headers)
        if problem is not None:
            await _reply(send, 403, problem)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        if scope["method"] not in _UNSAFE:
            await self.app(scope, receive, send)  # GET bodies are never read by a route
            return
        body = bytearray()
        more = True
        while more:  # chunked bodies declare no length: count while reading
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await _reply(send, 413, f"request body over {self.max_body_bytes} bytes")
                return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that hands the app the body already read, then the real stream's events."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _cross_origin(scope: Scope, headers: dict[str, str]) -> str | None:
    """Why this request must be refused as cross-site, or None."""
    if scope["method"] not in _UNSAFE or "authorization" in headers:
        return None
    if f"{COOKIE}=" not in headers.get("cookie", ""):
        return None  # no session cookie: nothing to forge (the route answers 401)
    source = headers.get("origin") or headers.get("referer")
    if not source or source == "null":
        return "state-changing request without Origin or Referer refused (CSRF protection)"
    parts = urlsplit(source)
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    if f"{parts.scheme}://{parts.netloc}" != own:
        return f"cross-origin request from {source[:100]!r} refused (CSRF protection)"
    return None


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
