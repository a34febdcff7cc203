"""Stored lessons: the list and one lesson with its windows."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from edge.store import Store

from .auth import require_teacher
from .schemas import LessonDetail, Problem, Record

__all__ = ["StoreReader", "lessons_router"]

lessons_router = APIRouter(tags=["lessons"], dependencies=[Depends(require_teacher)],
                           responses={401: {"model": Problem}, 403: {"model": Problem},
                                      503: {"model": Problem}})


class StoreReader:
    """One read connection per server thread on the daemon's store file (a SQLite connection
    belongs to the thread that opened it; WAL lets these read while the pipeline writes)."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.path)
        return store


def _store(request: Request) -> Store:
    reader: StoreReader | None = request.app.state.store_reader
    if reader is None:
        raise HTTPException(503, "no store configured")
    return reader.get()


@lessons_router.get("/api/lessons", response_model=list[Record])
def list_lessons(request: Request, limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Stored lesson records, newest first."""
    return _store(request).lessons(limit=limit)[::-1]


@lessons_router.get("/api/lessons/{lesson_id}", response_model=LessonDetail,
                    responses={404: {"model": Problem}})
def get_lesson(request: Request, lesson_id: int) -> dict[str, Any]:
    """One stored lesson record and the windows it covers."""
    store = _store(request)
    if not -2**63 <= lesson_id < 2**63:  # beyond SQLite integers: no such lesson
        raise HTTPException(404, f"no lesson {lesson_id}")
    lesson = store.lesson(lesson_id)
    if lesson is None:
        raise HTTPException(404, f"no lesson {lesson_id}")
    windows = [w for w in store.windows(since=lesson["start"], mode=lesson["mode"])
               if w["end"] <= lesson["end"] + 1e-6]
    return {"lesson": lesson, "windows": windows}
