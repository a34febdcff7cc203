"""Calibrated zones in image pixels: teacher area, board, PE stations, floor homography."""

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from sensors.const import Exercise

from edge.geometry.plane import floor_homography
from .base import Name, StrictModel

__all__ = [
    "MAX_POLYGON_POINTS",
    "MAX_STATIONS",
    "FloorConfig",
    "Point",
    "Polygon",
    "StationConfig",
    "ZonesConfig",
]

# Bounds that no real calibration comes near, so a hostile or broken file (or PUT) cannot make
# every frame test a million-point polygon. Coordinates are finite (StrictModel refuses NaN/inf:
# a NaN teacher area silently counted the teacher as a student).
MAX_POLYGON_POINTS = 64
MAX_STATIONS = 32
_COORD_LIMIT = 100_000.0  # pixels or metres
Coordinate = Annotated[float, Field(ge=-_COORD_LIMIT, le=_COORD_LIMIT)]
Point = tuple[Coordinate, Coordinate]
Polygon = Annotated[list[Point], Field(max_length=MAX_POLYGON_POINTS)]


def _check_polygon(p: Polygon | None) -> Polygon | None:
    if p is not None and len(p) < 3:
        raise ValueError(f"a polygon needs at least 3 points (got {len(p)})")
    return p


class StationConfig(StrictModel):
    exercise: Exercise
    polygon: Polygon

    _poly = field_validator("polygon")(_check_polygon)


class FloorConfig(StrictModel):
    image: list[Point] = Field(description="Four floor points in image pixels.")
    world_m: list[Point] = Field(description="The same four points on the floor, in metres.")

    @model_validator(mode="after")
    def _four_points(self) -> "FloorConfig":
        if len(self.image) != 4 or len(self.world_m) != 4:
            raise ValueError("floor calibration needs exactly 4 image points and 4 world points")
        floor_homography(self.image, self.world_m)  # ValueError when the points span no plane
        return self


class ZonesConfig(StrictModel):
    teacher: Polygon | None = Field(None, description="Teacher area (front of the room).")
    board: Polygon | None = Field(None, description="Area in front of the board.")
    stations: dict[Name, StationConfig] = Field(default_factory=dict, max_length=MAX_STATIONS,
                                                description="PE stations.")
    floor: FloorConfig | None = Field(None, description="Floor calibration for metric distances.")

    _poly = field_validator("teacher", "board")(_check_polygon)
