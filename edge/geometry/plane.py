"""Plane geometry on image points: zone polygons and the floor homography (pixels -> metres).

Pure NumPy and imports nothing of ours, so config validation (which must stay light: no OpenCV
import to check a config file), the classroom engine and the PE engine all use the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["FloorMap", "floor_homography", "inside_polygon"]

Points = Sequence[Sequence[float]]


def inside_polygon(point: Sequence[float], polygon: Points) -> bool:
    """Whether ``point`` lies inside (or on the edge of) ``polygon`` (image pixels)."""
    x, y = float(point[0]), float(point[1])
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    a, b = poly, np.roll(poly, -1, axis=0)
    edge = b - a
    rel = np.array([x, y]) - a
    # On an edge: collinear with it and between its ends.
    cross = edge[:, 0] * rel[:, 1] - edge[:, 1] * rel[:, 0]
    dot = (rel * edge).sum(axis=1)
    if np.any((np.abs(cross) <= 1e-9 * (1.0 + np.abs(edge).sum(axis=1)))
              & (dot >= 0) & (dot <= (edge * edge).sum(axis=1))):
        return True
    # Even-odd ray casting to the right.
    straddles = (a[:, 1] > y) != (b[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[:, 0] + (y - a[:, 1]) * edge[:, 0] / edge[:, 1]
    return bool(np.count_nonzero(straddles & (x < x_cross)) % 2)


def floor_homography(image_pts: Points, world_m: Points) -> np.ndarray:
    """The 3x3 homography taking four image points onto their floor positions in metres.

    :raises ValueError: when the points do not span a plane (three of them on a line, repeats).
    """
    src = np.asarray(image_pts, dtype=np.float64).reshape(4, 2)
    dst = np.asarray(world_m, dtype=np.float64).reshape(4, 2)
    # The eight equations of the direct linear transform with h33 = 1.
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    try:
        h = np.append(np.linalg.solve(np.array(rows), np.array(rhs)), 1.0).reshape(3, 3)
    except np.linalg.LinAlgError:
        h = np.full((3, 3), np.nan)
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
