"""Real-time alerts on the page: the teacher acknowledges one (the banner goes on every page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request

from .auth import require_teacher
from .schemas import AlertInfo, Problem

__all__ = ["alerts_router"]

alerts_router = APIRouter(tags=["alerts"], dependencies=[Depends(require_teacher)],
                          responses={401: {"model": Problem}, 403: {"model": Problem}})


@alerts_router.get("/api/alerts", response_model=list[AlertInfo])
def open_alerts(request: Request) -> list[dict[str, Any]]:
    """Alerts not yet acknowledged, oldest first."""
    return request.app.state.live.alerts()


@alerts_router.post("/api/alerts/{alert_id}/ack", status_code=204,
                    responses={404: {"model": Problem}})
def ack_alert(alert_id: str, request: Request) -> None:
    """Acknowledge one alert: it leaves every open page (an ``alert_ack`` event); 404 if unknown."""
    if not request.app.state.live.ack_alert(alert_id):
        raise HTTPException(404, "no such alert")
