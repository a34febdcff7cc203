"""The pages and their files: teacher page, calibration page, static assets, offline API docs.

Opening a page as ``/?token=<token>`` sets the session cookie and moves to the clean URL with
``history.replaceState`` first, so the token does not stay in the address bar or the history.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from .auth import (
    COOKIE,
    TECHNICIAN,
    check_throttle,
    client_allowed,
    current_tokens,
    require_teacher,
    role_of,
    session_cookie,
)

__all__ = ["STATIC_DIR", "assets_router", "pages_router"]

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
COOKIE_MAX_AGE = 180 * 24 * 3600  # a school term: the page on the classroom PC stays logged in

pages_router = APIRouter(include_in_schema=False)
assets_router = APIRouter(include_in_schema=False, dependencies=[Depends(require_teacher)])

_LOGIN = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>classroom-edge</title>
<style>body{font:1.4rem/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:1rem}</style>
</head><body><h1>{status}</h1>
<p>请使用设备管理员提供的链接打开本页（<code>edge web token</code>）。</p>
<p>Open this page with the link from the device administrator (<code>edge web token</code>).</p>
</body></html>"""


_LEAVE_LOGIN = """<!doctype html><html><head><meta charset="utf-8"><title>classroom-edge</title>
<script>history.replaceState(null, "", {target}); location.replace({target});</script>
</head><body></body></html>"""


def _page(request: Request, token: str | None, name: str, role_needed: str | None) -> Response:
    """Serve ``name`` to a client holding the role, or log it in from ``?token=``."""
    state: Any = request.app.state
    if state.lan_only and not client_allowed(request.client and request.client.host):
        return HTMLResponse(_LOGIN.replace("{status}", "403"), status_code=403)
    try:
        check_throttle(request)
    except HTTPException as exc:
        return HTMLResponse(_LOGIN.replace("{status}", "429"), status_code=429,
                            headers=exc.headers)
    tokens = current_tokens(request)
    cookie = request.cookies.get(COOKIE)
    if token is not None:
        role = role_of(tokens, token, None)
        if role is None:
            state.login_throttle.failed((request.client and request.client.host) or "")
            return HTMLResponse(_LOGIN.replace("{status}", "401"), status_code=401)
        return _logged_in(request, session_cookie(tokens, role))
    role = role_of(tokens, None, cookie)
    if role is None:
        if cookie:  # a stale cookie (rotated token) or a forged one
            state.login_throttle.failed((request.client and request.client.host) or "")
        return HTMLResponse(_LOGIN.replace("{status}", "401"), status_code=401)
    if role_needed == TECHNICIAN and role != TECHNICIAN:
        return HTMLResponse(_LOGIN.replace("{status}", "403"), status_code=403)
    return FileResponse(STATIC_DIR / name, headers={"Cache-Control": "no-store"})


def _logged_in(request: Request, cookie: str) -> Response:
    """Set the session cookie and leave the login URL: a redirect alone keeps ``?token=`` in
    the browser's history, so the page first rewrites its own history entry to the clean URL
    (history.replaceState), then loads it. Not cached, never sent on as a Referer."""
    clean = request.url.remove_query_params("token")
    target = clean.path + (f"?{clean.query}" if clean.query else "")
    page = _LEAVE_LOGIN.replace("{target}", json.dumps(target).replace("<", "\\u003c"))
    response = HTMLResponse(page, headers={"Cache-Control": "no-store",
                                           "Referrer-Policy": "no-referrer"})
    response.set_cookie(COOKIE, cookie, max_age=COOKIE_MAX_AGE, httponly=True,
                        samesite="strict")
    return response


@pages_router.get("/")
def index(request: Request, token: str | None = None) -> Response:
    return _page(request, token, "index.html", None)


@pages_router.get("/calibration")
def calibration(request: Request, token: str | None = None) -> Response:
    return _page(request, token, "calibration.html", TECHNICIAN)


def _file_in(base: Path, name: str) -> FileResponse:
    """``base/name`` if it is a file inside ``base`` (no escaping with ``..``), else 404."""
    try:
        path = (base / name).resolve()
        found = path.is_relative_to(base.resolve()) and path.is_file()
    except (ValueError, OSError):  # a NUL byte (/static/x%00), a name too long...
        found = False
    if not found:
        raise HTTPException(404, "not found")
    return FileResponse(path)


@assets_router.get("/static/{name:path}")
def static_file(name: str) -> FileResponse:
    return _file_in(STATIC_DIR, name)


@assets_router.get("/docs/assets/{name}")
def swagger_asset(name: str) -> FileResponse:
    return _file_in(SWAGGER_DIR, name)


@assets_router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@assets_router.get("/docs")
def docs() -> HTMLResponse:
    """Swagger UI from the files vendored by the swagger-ui-bundle package (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="classroom-edge API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon-32x32.png",
    )
