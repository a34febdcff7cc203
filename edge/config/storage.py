"""SQLite store and retention."""

from pathlib import Path

from pydantic import Field

from .base import StrictModel

__all__ = ["StoreConfig"]


class StoreConfig(StrictModel):
    path: Path = Field(Path("/var/lib/classroom-edge/edge.db"), description="SQLite database file.")
    retention_days: int = Field(400, ge=1, le=3650, description="Drop windows older than this.")
    max_mb: int = Field(512, ge=8, description="Roll up / drop windows beyond this store size.")
    min_free_mb: int = Field(200, ge=0, description="Stop writing fine windows below this free space.")
    rollup_after_days: float = Field(
        7.0, ge=0.05, le=3650, description="Merge windows older than this into hourly ones."
    )
