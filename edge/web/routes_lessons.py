"""Stored lessons: the list, one lesson with its windows, and its CSV/JSON export."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

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
    return _lesson_detail(_store(request), lesson_id)


def _lesson_detail(store: Store, lesson_id: int) -> dict[str, Any]:
    if not -2**63 <= lesson_id < 2**63:  # beyond SQLite integers: no such lesson
        raise HTTPException(404, f"no lesson {lesson_id}")
    lesson = store.lesson(lesson_id)
    if lesson is None:
        raise HTTPException(404, f"no lesson {lesson_id}")
    windows = [w for w in store.windows(since=lesson["start"], mode=lesson["mode"])
               if w["end"] <= lesson["end"] + 1e-6]
    return {"lesson": lesson, "windows": windows}


@lessons_router.get("/api/lessons/{lesson_id}/export", response_class=Response,
                    responses={200: {"content": {"text/csv": {}, "application/json": {}},
                                     "description": "The lesson and its windows as a file."},
                               404: {"model": Problem}})
def export_lesson(request: Request, lesson_id: int,
                  format: Literal["csv", "json"] = "csv") -> Response:  # noqa: A002 (query name)
    """Download one lesson: JSON as ``/api/lessons/<id>``, or CSV with one row per window and a
    last row for the whole lesson (nested metrics as dotted columns, lists as JSON)."""
    detail = _lesson_detail(_store(request), lesson_id)
    name = f"lesson-{lesson_id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if format == "json":  # the same fields as /api/lessons/<id>
        body = json.dumps(LessonDetail.model_validate(detail).model_dump(mode="json"),
                          ensure_ascii=False, indent=1)
        return Response(body, media_type="application/json", headers=headers)
    return Response(_csv([*detail["windows"], detail["lesson"]]), media_type="text/csv; charset=utf-8",
                    headers=headers)


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        out[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        out[prefix] = value


def _csv(records: list[dict[str, Any]]) -> str:
    """Records as CSV: fixed columns first, then every metric column any record has."""
    fixed = ["type", "id", "mode", "start", "end", "n", "suppressed"]
    rows = []
    for record in records:
        row = {k: record.get(k) for k in fixed}
        _flat("", record.get("metrics", {}), row)
        rows.append(row)
    columns = fixed + sorted({k for row in rows for k in row} - set(fixed))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()  # a BOM: Excel on a school PC then reads the Chinese right
