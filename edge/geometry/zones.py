"""Calibrated zones as geometry: point-in-polygon and the floor homography (pixels -> metres)."""

from __future__ import annotations

import numpy as np

from edge.config.zones import Polygon, ZonesConfig
from edge.geometry.plane import FloorMap, inside_polygon

__all__ = ["ZoneGeometry"]


class ZoneGeometry:
    """The teacher and board polygons and the optional floor calibration of one camera."""

    def __init__(self, zones: ZonesConfig | None) -> None:
        zones = zones or ZonesConfig()
        self.teacher = zones.teacher
        self.board = zones.board
        self.floor = FloorMap(zones.floor.image, zones.floor.world_m) if zones.floor else None

    def in_teacher(self, point: np.ndarray) -> bool | None:
        """Whether ``point`` is in the teacher zone; None when no teacher zone is set."""
        return _inside(self.teacher, point)

    def in_board(self, point: np.ndarray) -> bool | None:
        """Whether ``point`` is in the board zone; None when no board zone is set."""
        return _inside(self.board, point)

    def to_floor(self, point: np.ndarray) -> np.ndarray | None:
        """Floor position in metres of an image point, or None without a floor calibration."""
        if self.floor is None:
            return None
        return self.floor.to_world(point)


def _inside(polygon: Polygon | None, point: np.ndarray) -> bool | None:
    return None if polygon is None else inside_polygon(point, polygon)
