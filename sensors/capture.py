"""Opening OpenCV captures quietly: failures become SourceError, not stderr noise or tracebacks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from sensors.errors import SourceError

# One decoding thread per FFmpeg capture. FFmpeg's default (a thread per core, each holding a
# picture in flight) cost ~11 MB more resident memory on the demo's 1768x994 video for the same
# CPU; a camera here is decoded at a few frames per second (SPEC 10: <= 400 MB resident).
FFMPEG_THREADS = (cv2.CAP_PROP_N_THREADS, 1)


@cache
def quiet_opencv() -> None:
    """Silence OpenCV/FFmpeg warnings once: every failure they describe surfaces as a SourceError.

    The FFmpeg level is read by OpenCV when its FFmpeg wrapper first starts, so this must run
    before the first capture is opened; an explicit ``OPENCV_FFMPEG_LOGLEVEL`` wins.
    """
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")  # AV_LOG_FATAL
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@dataclass(frozen=True)
class CaptureInfo:
    """What the container or stream declares; 0-sized / None values are unknown."""

    size: tuple[int, int]
    fps: float | None
    frames: int | None


def open_capture(
    target: str | int, api: int, name: str | Path, params: Sequence[int] = ()
) -> cv2.VideoCapture:
    """Open ``target`` with backend ``api``; raise SourceError naming ``name`` when it fails.

    :param params: OpenCV open parameters as flat (property, value) pairs, e.g. timeouts
    """
    quiet_opencv()
    if api == cv2.CAP_FFMPEG:
        params = [*FFMPEG_THREADS, *params]
    try:
        capture = cv2.VideoCapture(target, api, list(params))
    except cv2.error as error:  # OpenCV raises for some malformed targets instead of failing softly
        raise SourceError(name, f"cannot open ({_brief(error)})") from None
    if not capture.isOpened():
        capture.release()
        raise SourceError(
            name, "cannot open (missing, unreachable or not a video OpenCV can decode)"
        )
    return capture


def capture_info(capture: cv2.VideoCapture) -> CaptureInfo:
    """Declared size, frame rate and frame count of an open capture."""
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    return CaptureInfo(
        size=(width, height),
        fps=float(fps) if np.isfinite(fps) and fps > 0 else None,
        frames=int(frames) if np.isfinite(frames) and frames > 0 else None,
    )


def retrieve_bgr(capture: cv2.VideoCapture, name: str | Path) -> np.ndarray | None:
    """Decode the grabbed frame as BGR uint8 HxWx3, or None when there is nothing to decode."""
    try:
        ok, image = capture.retrieve()
    except cv2.error as error:
        raise SourceError(name, f"cannot decode frame ({_brief(error)})") from None
    if not ok or image is None:
        return None
    if image.ndim == 2:  # some backends hand over grey frames; the rest of the project expects BGR
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


def _brief(error: Exception) -> str:
    """The informative last non-empty line of an OpenCV error message, which spans several lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
