"""edge/geometry/plane.py in pure NumPy, checked against OpenCV's own routines."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from edge.geometry.plane import FloorMap, floor_homography, inside_polygon

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]


@pytest.mark.parametrize(("point", "inside"), [
    ((5, 5), True), ((0, 5), True), ((10, 10), True), ((10.01, 5), False), ((-1, -1), False),
])
def test_inside_polygon_counts_the_edge_as_inside(point, inside):
    assert inside_polygon(point, SQUARE) is inside


def test_inside_polygon_agrees_with_opencv_on_random_polygons():
    rng = random.Random(3)
    for _ in range(500):
        polygon = [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(rng.randint(3, 8))]
        point = (rng.uniform(-10, 110), rng.uniform(-10, 110))
        contour = np.asarray(polygon, np.float32).reshape(-1, 1, 2)
        assert inside_polygon(point, polygon) == (cv2.pointPolygonTest(contour, point, False) >= 0)


def test_floor_homography_matches_opencv_and_maps_the_points():
    image = np.float32([[100, 500], [900, 520], [800, 200], [200, 210]])
    world = np.float32([[0, 0], [8, 0], [8, 10], [0, 10]])
    assert np.allclose(floor_homography(image, world), cv2.getPerspectiveTransform(image, world))
    floor = FloorMap(image, world)
    assert np.allclose(floor.to_world(image[2]), world[2], atol=1e-6)


def test_points_on_a_line_are_refused():
    with pytest.raises(ValueError, match="do not define a plane"):
        floor_homography([[0, 0], [1, 1], [2, 2], [3, 3]], [[0, 0], [1, 0], [1, 1], [0, 1]])
