"""The local web page (SPEC 8): FastAPI app for the teacher's live page and the technician's
calibration page. Build it with :func:`create_app`; the daemon serves it with uvicorn."""

from .app import create_app

__all__ = ["create_app"]
