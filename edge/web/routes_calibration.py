"""Technician calibration: face-blurred camera snapshots and the zones saved into the config.

The snapshot is the one image SPEC 3.1 lets leave the pipeline: made in memory per request with
every face BlazeFace finds and every head the pose model finds (run on the snapshot itself, plus
the heads the pipeline saw last; the model is the pipeline's own when the daemon lends it, see
edge/daemon/pose_model.py) pixelated, checked again by the face model (a face still found
refuses the snapshot), sent with ``Cache-Control: no-store``, and never written anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import cv2
import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from edge.config import ConfigError, ZonesConfig
from edge.config.zones_file import save_zones
from edge.perception.options import pose_options
from models.pose import PoseOptions
from models.runtime import ModelError, SessionOptions
from models.snapshot_blur import UnblurredFace, blur_snapshot
from sensors.samples import Person

from .auth import require_technician
from .schemas import Problem

__all__ = ["SnapshotPose", "SnapshotProvider", "blurred_jpeg", "calibration_router"]

# camera id -> the camera's current frame (BGR), or (frame, people keypoints (17, 3) each);
# raises KeyError for an unknown camera, returns None when the camera has no frame yet.
SnapshotProvider = Callable[[str], "np.ndarray | tuple[np.ndarray, list[np.ndarray]] | None"]

# One thread: a snapshot is a rare technician request and must not compete with the pipeline.
_FACE_OPTIONS = SessionOptions(intra_op_threads=1, inter_op_threads=1)
# And one snapshot at a time: requests run on the web thread pool, and each concurrent one held
# its own full-frame copies and face-model buffers (resident memory grew by tens of MB).
_ONE_AT_A_TIME = threading.Lock()

calibration_router = APIRouter(tags=["calibration"], dependencies=[Depends(require_technician)],
                               responses={401: {"model": Problem}, 403: {"model": Problem}})


class SnapshotPose(Protocol):
    """The pipeline's pose model lent to the snapshot (edge.daemon.pose_model.SharedPose)."""

    def borrow(self) -> AbstractContextManager[Callable[[np.ndarray], list[Person]]]:
        """Hold the model for one whole snapshot; yields its image -> people function."""
        ...


def blurred_jpeg(image_bgr: np.ndarray, people_kp: list[np.ndarray] | None = None,
                 pose: PoseOptions = PoseOptions(), quality: int = 85,
                 pose_model: SnapshotPose | None = None) -> bytes:
    """JPEG bytes of ``image_bgr`` with every face and head pixelated (in memory); HTTP 503
    when a face survives the blurring or a model is missing: no snapshot rather than a face.

    :param pose_model: the pipeline's pose model to use; None: one of the snapshot's own with
        ``pose`` options."""
    try:
        with _ONE_AT_A_TIME:
            if pose_model is None:
                blurred = blur_snapshot(image_bgr, people_kp, pose, _FACE_OPTIONS)
            else:
                with pose_model.borrow() as find_people:
                    blurred = blur_snapshot(image_bgr, people_kp, pose, _FACE_OPTIONS,
                                            find_people)
    except UnblurredFace as exc:
        raise HTTPException(503, f"snapshot refused: {exc}") from None
    except ModelError as exc:
        raise HTTPException(503, f"snapshot refused: no model to blur faces ({exc})") from None
    ok, encoded = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise HTTPException(500, "the snapshot could not be encoded")
    return encoded.tobytes()


@calibration_router.get("/api/calibration/cameras", response_model=list[str])
def cameras(request: Request) -> list[str]:
    """Ids of the configured cameras."""
    return list(request.app.state.config.cameras)


@calibration_router.get(
    "/api/calibration/snapshot", response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "Face-blurred JPEG."},
               404: {"model": Problem}, 503: {"model": Problem}},
)
def snapshot(request: Request, camera: str = Query(min_length=1, max_length=64)) -> Response:
    """The camera's current frame as JPEG with every face blurred; never stored."""
    provider: SnapshotProvider | None = request.app.state.snapshot_provider
    if provider is None:
        raise HTTPException(503, "no camera frames available here (is `edge run` running?)")
    try:
        frame = provider(camera)
    except KeyError:
        raise HTTPException(404, f"no camera {camera!r}") from None
    if frame is None:
        raise HTTPException(503, f"camera {camera!r} has no frame yet")
    image, people = frame if isinstance(frame, tuple) else (frame, None)
    pose = pose_options(request.app.state.config)
    return Response(blurred_jpeg(image, people, pose, pose_model=request.app.state.snapshot_pose),
                    media_type="image/jpeg",
                    headers={"Cache-Control": "no-store"})


@calibration_router.get("/api/calibration/zones", response_model=ZonesConfig)
def get_zones(request: Request) -> ZonesConfig:
    """The zones in force (image pixels of the calibrated camera)."""
    return request.app.state.config.zones


@calibration_router.put("/api/calibration/zones", response_model=ZonesConfig,
                        responses={409: {"model": Problem}, 422: {"model": Problem}})
def put_zones(request: Request, zones: ZonesConfig) -> ZonesConfig:
    """Validate and save the zones into the config file; the next run (and the running daemon,
    when it listens) uses them."""
    state: Any = request.app.state
    if not np.isfinite(_coordinates(zones)).all():
        raise HTTPException(422, "zone coordinates must be finite numbers")
    if state.config_path is None:
        raise HTTPException(409, "no config file to save into (start `edge run --config FILE`)")
    try:
        save_zones(state.config_path, zones)
    except ConfigError as exc:
        raise HTTPException(422, "; ".join(exc.problems)) from None
    state.config = state.config.model_copy(update={"zones": zones})
    if state.on_zones_saved is not None:
        state.on_zones_saved(zones)
    return zones


def _coordinates(zones: ZonesConfig) -> np.ndarray:
    """Every coordinate in ``zones`` as one flat array."""
    polygons = [zones.teacher or [], zones.board or []]
    polygons += [s.polygon for s in zones.stations.values()]
    if zones.floor is not None:
        polygons += [zones.floor.image, zones.floor.world_m]
    return np.array([c for p in polygons for point in p for c in point], dtype=np.float64)
