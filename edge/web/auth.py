"""Who may use the page: teacher and technician tokens, session cookies, LAN-only access.

There are no default credentials: tokens come from ``web.token`` / ``web.technician_token`` in
the config, else from ``<state_dir>/web_tokens.json`` (mode 0600), generated at first start.
A request proves its role with ``Authorization: Bearer <token>`` or with the session cookie the
page sets when opened as ``/?token=<token>``. The technician role includes the teacher's.

Session cookies are derived from the token, so ``edge web token --rotate`` (new tokens in the
token file, picked up by the running daemon at the next request) ends every session at once.
Wrong credentials are counted per client (:class:`edge.web.guard.LoginThrottle`): 429 past
the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from edge.config import EdgeConfig

__all__ = [
    "COOKIE",
    "TEACHER",
    "TECHNICIAN",
    "TokenError",
    "TokenSource",
    "Tokens",
    "check_throttle",
    "client_allowed",
    "current_tokens",
    "ensure_tokens",
    "require_teacher",
    "require_technician",
    "role_of",
    "rotate_tokens",
    "session_cookie",
    "tokens_path",
]

COOKIE = "edge_session"
TEACHER, TECHNICIAN = "teacher", "technician"
_RANK = {TEACHER: 1, TECHNICIAN: 2}
_CONFIG_KEY = {TEACHER: "token", TECHNICIAN: "technician_token"}  # web.<key> in the config
_bearer = HTTPBearer(auto_error=False, description="Teacher or technician token (`edge web token`).")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class TokenError(Exception):
    """The token file cannot be read or written."""


@dataclass(frozen=True)
class Tokens:
    """The two access tokens of this device."""

    teacher: str
    technician: str


def tokens_path(config: EdgeConfig) -> Path:
    """Where generated tokens are kept."""
    return Path(config.node.state_dir) / "web_tokens.json"


def ensure_tokens(config: EdgeConfig) -> Tokens:
    """The configured tokens; missing ones read from, or generated into, the token file.

    :raises TokenError: when the token file is unreadable, malformed or cannot be written.
    """
    path = tokens_path(config)
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TokenError(f"{path}: cannot read tokens: {exc}") from None
        if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
            raise TokenError(f"{path}: not a token file (expected teacher/technician strings)")
    configured = {role: getattr(config.web, key) for role, key in _CONFIG_KEY.items()}
    missing = [role for role, value in configured.items() if not value and not stored.get(role)]
    if missing:
        for role in missing:
            stored[role] = secrets.token_urlsafe(24)
        _write_private(path, json.dumps(stored, indent=2) + "\n")
    tokens = Tokens(*(configured[r] or stored[r] for r in (TEACHER, TECHNICIAN)))
    if tokens.teacher == tokens.technician:
        raise TokenError("web.token and web.technician_token must differ")
    return tokens


def rotate_tokens(config: EdgeConfig, roles: tuple[str, ...] = (TEACHER, TECHNICIAN)) -> Tokens:
    """New random tokens for ``roles`` in the token file: every session of those roles ends
    (cookies are derived from the token); the running daemon picks them up by itself.

    :raises TokenError: for a role whose token is set in the config (change it there), or when
        the token file cannot be written.
    """
    for role in roles:
        if getattr(config.web, _CONFIG_KEY[role]):
            raise TokenError(f"the {role} token is set in the config (web.{_CONFIG_KEY[role]}): "
                             "change it there")
    ensure_tokens(config)  # a valid file to start from
    path = tokens_path(config)
    stored = json.loads(path.read_text(encoding="utf-8"))
    for role in roles:
        stored[role] = secrets.token_urlsafe(24)
    _write_private(path, json.dumps(stored, indent=2) + "\n")
    return ensure_tokens(config)


class TokenSource:
    """The tokens in force: fixed ones, or the config's and token file's, re-read whenever the
    file changes (``edge web token --rotate`` while the daemon runs)."""

    def __init__(self, config: EdgeConfig | None = None, fixed: Tokens | None = None):
        if fixed is None and config is None:
            raise ValueError("TokenSource needs a config or fixed tokens")
        self._config, self._fixed = config, fixed
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._tokens = fixed if fixed is not None else ensure_tokens(config)  # type: ignore[arg-type]

    def current(self) -> Tokens:
        """The tokens now (one stat() per call; re-read only after a change)."""
        if self._fixed is not None or self._config is None:
            return self._tokens
        try:
            stamp = tokens_path(self._config).stat().st_mtime_ns
        except OSError:
            return self._tokens
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._tokens = ensure_tokens(self._config)
                    self._stamp = stamp
                except TokenError:
                    pass  # a file being replaced: keep the last good tokens, retry next call
            return self._tokens


def current_tokens(request: Request) -> Tokens:
    """The tokens in force for this app."""
    return request.app.state.token_source.current()


def check_throttle(request: Request) -> None:
    """429 while this client is throttled for wrong credentials."""
    host = (request.client and request.client.host) or ""
    retry = request.app.state.login_throttle.retry_after(host)
    if retry is not None:
        raise HTTPException(429, "too many wrong tokens from this address; try again later",
                            headers={"Retry-After": str(retry)})


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only, atomically (a crash leaves the old file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TokenError(f"{path}: cannot write tokens: {exc.strerror or exc}") from None


def session_cookie(tokens: Tokens, role: str) -> str:
    """The cookie value proving ``role``: derived from its token, so the token itself is not
    kept in the browser, and it stops working when the token changes."""
    secret = getattr(tokens, role).encode()
    return f"{role}.{hmac.new(secret, b'edge-session-v1', hashlib.sha256).hexdigest()}"


def role_of(tokens: Tokens, bearer: str | None, cookie: str | None) -> str | None:
    """The role a bearer token or a session cookie proves, or None."""
    for role in (TECHNICIAN, TEACHER):
        if bearer and hmac.compare_digest(bearer.encode(), getattr(tokens, role).encode()):
            return role
        if cookie and hmac.compare_digest(cookie.encode(), session_cookie(tokens, role).encode()):
            return role
    return None


def client_allowed(host: str | None) -> bool:
    """Whether a client address is on the LAN (private, loopback or link-local)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_private or address.is_loopback or address.is_link_local


def _role(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if request.app.state.lan_only and not client_allowed(request.client and request.client.host):
        raise HTTPException(403, "only clients on the local network may use this device")
    check_throttle(request)
    bearer, cookie = credentials.credentials if credentials else None, request.cookies.get(COOKIE)
    role = role_of(current_tokens(request), bearer, cookie)
    if role is None and (bearer or cookie):
        request.app.state.login_throttle.failed((request.client and request.client.host) or "")
    if role is None:
        raise HTTPException(401, "a valid token is needed (see `edge web token`)",
                            headers={"WWW-Authenticate": "Bearer"})
    return role


def require_teacher(
    request: Request, credentials: Credentials
) -> str:
    """Dependency: the teacher (or technician) role; 401 without a valid token."""
    return _role(request, credentials)


def require_technician(
    request: Request, credentials: Credentials
) -> str:
    """Dependency: the technician role; 401 without a token, 403 with the teacher's."""
    role = _role(request, credentials)
    if _RANK[role] < _RANK[TECHNICIAN]:
        raise HTTPException(403, "this needs the technician token")
    return role
