"""`edge hub --web HOST:PORT`: the district page and its JSON API (FastAPI, no CDN).

Roles: the **district** token sees every school; a **school** token sees its school only.
A request proves its role with ``Authorization: Bearer <token>``. The page polls the API every
second, so a new alert or a node going offline shows within ~1 s of the hub storing it.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from sync.hub_store import HubStore

from . import lessons, queries
from .queries import Scope

__all__ = ["DistrictTokens", "create_app", "load_tokens"]

STATIC = Path(__file__).resolve().parent / "static"
_bearer = HTTPBearer(auto_error=False, description="District or school token.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class DistrictTokens:
    """The district token and one token per school (school id -> token)."""

    district: str
    schools: dict[str, str] = field(default_factory=dict)

    def scope_of(self, token: str) -> Scope | None:
        """The scope a token grants (None: no access); constant-time comparisons."""
        if hmac.compare_digest(token.encode(), self.district.encode()):
            return Scope("district")
        for school, expected in self.schools.items():
            if hmac.compare_digest(token.encode(), expected.encode()):
                return Scope("school", school)
        return None


def load_tokens(path: str | Path) -> DistrictTokens:
    """Read ``{"district": T, "schools": {"s1": T1, ...}}``; every token >= 16 characters.

    :raises ValueError: with ``file: message`` when the file is unusable.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read tokens: {exc}") from None
    district = data.get("district") if isinstance(data, dict) else None
    schools = data.get("schools", {}) if isinstance(data, dict) else None
    every = [district, *(schools.values() if isinstance(schools, dict) else [None])]
    if not all(isinstance(tok, str) and len(tok) >= 16 for tok in every):
        raise ValueError(f"{path}: needs \"district\" and \"schools\" tokens of >= 16 "
                         "characters")
    return DistrictTokens(district, dict(schools))


def _scope(request: Request, creds: Credentials) -> Scope:
    found = request.app.state.tokens.scope_of(creds.credentials) if creds else None
    if found is None:
        raise HTTPException(401, "district or school token required",
                            headers={"WWW-Authenticate": "Bearer"})
    return found


Allowed = Annotated[Scope, Depends(_scope)]
Weeks = Annotated[int, Query(ge=1, le=lessons.MAX_WEEKS)]


class AckRequest(BaseModel):
    msg_id: str = Field(min_length=3, max_length=300)


def create_app(open_store: Callable[[], HubStore], tokens: DistrictTokens,
               keepalive_s: float) -> FastAPI:
    """The app over its own store connection (the hub's ingest keeps its own)."""
    app = FastAPI(title="classroom-edge district", docs_url=None, redoc_url=None)
    store = open_store()
    lock = threading.Lock()  # one connection, uvicorn's worker threads take turns
    app.state.tokens = tokens

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/district.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(STATIC / "district.js", media_type="text/javascript")

    @app.get("/api/me")
    def me(allowed: Allowed) -> dict[str, Any]:
        """The caller's role and school."""
        return {"role": allowed.role, "school": allowed.school}

    @app.get("/api/nodes")
    def nodes(allowed: Allowed) -> list[dict[str, Any]]:
        """Every node in scope: online, last seen, outbox backlog."""
        with lock:
            return queries.nodes(store, allowed, keepalive_s)

    @app.get("/api/alerts")
    def alerts(allowed: Allowed, since: float = 0.0) -> list[dict[str, Any]]:
        """Newest alert aggregates in scope, with acknowledgement."""
        with lock:
            return queries.alerts(store, allowed, since)

    @app.get("/api/lessons")
    def lessons_of_day(allowed: Allowed, day: dt.date | None = None) -> dict[str, Any]:
        """Lessons in scope that ended on ``day`` (YYYY-MM-DD, hub local time; default today)."""
        with lock:
            return lessons.lessons_on(store, allowed, day or dt.date.today())

    @app.get("/api/trends")
    def weekly_trends(allowed: Allowed, weeks: Weeks = 8,
                      until: dt.date | None = None) -> dict[str, Any]:
        """Per ISO week up to the one holding ``until`` (default today): per school, or per
        room for a school token."""
        with lock:
            return lessons.trends(store, allowed, weeks, until or dt.date.today())

    @app.post("/api/alerts/ack")
    def acknowledge(body: AckRequest, allowed: Allowed) -> dict[str, Any]:
        """Acknowledge one alert in scope (idempotent)."""
        node = body.msg_id.rsplit(":", 2)[0] if body.msg_id.count(":") >= 1 else ""
        if not node.count("/") == 3 or not allowed.allows(node):
            raise HTTPException(404, "no such alert in your scope")
        with lock:
            if store.stored_payload(body.msg_id) is None:
                raise HTTPException(404, "no such alert in your scope")
            new = store.acknowledge(body.msg_id, allowed.school or "district", time.time())
        return {"msg_id": body.msg_id, "acknowledged": True, "new": new}

    app.state.store = store
    return app
