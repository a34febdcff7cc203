"""Calibrated zones as geometry: point-in-polygon and the floor homography (pixels -> metres)."""

from __future__ import annotations

import cv2
import numpy as np

from .config.zones import Polygon, ZonesConfig

__all__ = ["ZoneGeometry"]


class ZoneGeometry:
    """The teacher and board polygons and the optional floor calibration of one camera."""

    def __init__(self, zones: ZonesConfig | None) -> None:
        zones = zones or ZonesConfig()
        self.teacher = _contour(zones.teacher)
        self.board = _contour(zones.board)
        self.floor = None
        if zones.floor is not None:
            self.floor = cv2.getPerspectiveTransform(
                np.asarray(zones.floor.image, dtype=np.float32),
                np.asarray(zones.floor.world_m, dtype=np.float32),
            )

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
        src = np.asarray(point, dtype=np.float64).reshape(1, 1, 2)
        return cv2.perspectiveTransform(src, self.floor).reshape(2)


def _contour(polygon: Polygon | None) -> np.ndarray | None:
    return None if polygon is None else np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)


def _inside(contour: np.ndarray | None, point: np.ndarray) -> bool | None:
    if contour is None:
        return None
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0
