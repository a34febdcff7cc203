"""Health, the live lesson (snapshot and SSE stream) and the start/end buttons."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from edge.lesson.live import LessonConflict, LiveState

from .auth import require_teacher
from .schemas import Health, LessonInfo, Live, Problem

__all__ = ["KEEPALIVE_S", "health_router", "live_router"]

KEEPALIVE_S = 10.0  # a status event this often keeps proxies from closing an idle stream

health_router = APIRouter(tags=["health"])
live_router = APIRouter(tags=["live"], dependencies=[Depends(require_teacher)],
                        responses={401: {"model": Problem}, 403: {"model": Problem}})


@health_router.get("/api/health", response_model=Health, responses={503: {"model": Health}})
def health(request: Request, response: Response) -> Health:
    """Open to anyone: that the daemon is whole (503 when a part stopped), and each camera's
    state (no other data)."""
    live = request.app.state.live
    problems = live.problems()
    if problems:
        response.status_code = 503
    return Health(status="failing" if problems else "ok", problems=problems,
                  cameras=live.camera_states())


@live_router.get("/api/live", response_model=Live)
def live_snapshot(request: Request) -> dict[str, Any]:
    """The current lesson: mode, lesson, latest metrics and every window so far."""
    return request.app.state.live.snapshot()


@live_router.post("/api/lesson/start", response_model=LessonInfo,
                  responses={409: {"model": Problem}, 503: {"model": Problem}})
def start_lesson(request: Request) -> dict[str, Any]:
    """Start a lesson now (409 when one is running)."""
    return _act(request, "start_lesson")


@live_router.post("/api/lesson/end", response_model=LessonInfo,
                  responses={409: {"model": Problem}, 503: {"model": Problem}})
def end_lesson(request: Request) -> dict[str, Any]:
    """End the running lesson now; its last window and lesson record are stored (409 when none)."""
    return _act(request, "end_lesson")


def _act(request: Request, verb: str) -> dict[str, Any]:
    """Call the daemon's ``start_lesson``/``end_lesson``; its LessonConflict becomes 409."""
    control = request.app.state.control
    if control is None:
        raise HTTPException(503, "lessons cannot be started or ended here (no pipeline running)")
    try:
        getattr(control, verb)()
    except LessonConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return _lesson(request)


def _lesson(request: Request) -> dict[str, Any]:
    lesson = request.app.state.live.snapshot()["lesson"]
    if lesson is None:
        raise HTTPException(409, "no lesson")
    return lesson


@live_router.get("/api/events", response_class=StreamingResponse,
                 responses={200: {"content": {"text/event-stream": {}},
                                  "description": "Server-sent events: `live` (the whole state, "
                                  "first), then `window`, `lesson`, `mode` and periodic `status`."}})
async def events(request: Request) -> StreamingResponse:
    """Live updates as server-sent events; a closed window is pushed the moment it is stored."""
    live: LiveState = request.app.state.live
    queue = live.subscribe()
    return StreamingResponse(_stream(live, queue), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _stream(live: LiveState, queue: asyncio.Queue) -> AsyncIterator[str]:
    try:
        snapshot = live.snapshot()
        yield _sse("live", snapshot, snapshot["version"])
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                yield _sse("status", live.status())
                continue
            if event is None:  # fell behind or the daemon is stopping: the page reconnects
                return
            yield _sse(event.kind, event.data, event.version)
    finally:
        live.unsubscribe(queue)


def _sse(kind: str, data: dict[str, Any], version: int | None = None) -> str:
    head = f"event: {kind}\n" + (f"id: {version}\n" if version is not None else "")
    return head + f"data: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n"
