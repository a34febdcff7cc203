"""Plane geometry on image points: zone polygons and the floor homography (pixels -> metres).

Pure NumPy/OpenCV and imports nothing of ours, so config validation, the classroom engine and
the PE engine all use the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = ["FloorMap", "floor_homography", "inside_polygon"]

Points = Sequence[Sequence[float]]


def inside_polygon(point: Sequence[float], polygon: Points) -> bool:
    """Whether ``point`` lies inside (or on the edge of) ``polygon`` (image pixels)."""
    contour = np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), False) >= 0


def floor_homography(image_pts: Points, world_m: Points) -> np.ndarray:
    """The 3x3 homography taking four image points onto their floor positions in metres.

    :raises ValueError: when the points do not span a plane (three of them on a line, repeats).
    """
    h = cv2.getPerspectiveTransform(
        np.asarray(image_pts, dtype=np.float32), np.asarray(world_m, dtype=np.float32)
    )
    if not np.isfinite(h).all() or abs(np.linalg.det(h)) < 1e-12:
        raise ValueError("the four floor points do not define a plane (three of them in a line?)")
    return h


class FloorMap:
    """Image pixels -> floor metres through a calibrated 4-point homography."""

    def __init__(self, image_pts: Points, world_m: Points):
        self.h = floor_homography(image_pts, world_m)

    def to_world(self, xy: Sequence[float]) -> np.ndarray:
        """(x, y) image point -> (x, y) metres on the floor."""
        p = self.h @ np.array([float(xy[0]), float(xy[1]), 1.0])
        return p[:2] / p[2]

    def metres_per_pixel(self, xy: Sequence[float]) -> float:
        """Floor distance covered by one pixel to the right of ``xy`` (the local scale)."""
        return float(np.hypot(*(self.to_world((xy[0] + 1.0, xy[1])) - self.to_world(xy))))
