"""Plane geometry on image points: polygons, zones and the floor homography."""
