"""Live cameras through OpenCV: network streams (RTSP/HTTP via FFmpeg) and USB devices (V4L2).

``CameraSource`` is deliberately small, open / read / close, so a watchdog can drive it: read
returns None when no frame arrives and the caller decides whether to reopen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import cv2

from sensors.capture import CaptureInfo, capture_info, open_capture, retrieve_bgr
from sensors.errors import SourceError
from sensors.samples import Frame
from sensors.source import Source

STREAM_SCHEMES: frozenset[str] = frozenset(
    {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}
)


def is_camera_spec(spec: str) -> bool:
    """True for a stream URL, a device index ("0") or a V4L2 device path ("/dev/video0")."""
    return (
        urlsplit(spec).scheme.lower() in STREAM_SCHEMES
        or spec.isdigit()
        or spec.startswith("/dev/video")
    )


def redact_url(spec: str) -> str:
    """The spec with any password in a URL replaced by ***, safe for logs and error messages."""
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class CameraSource(Source[Frame]):
    """Frames from a live camera, ``t`` = seconds of ``time.monotonic()`` since ``open``.

    :param spec: ``rtsp://...``/``http://...`` URL, device index like ``"0"`` or ``/dev/videoN``
    :param fps: deliver about this many frames per second; frames in between are grabbed (so
        the stream's buffer never backs up) but not decoded to images
    :param open_timeout: seconds before connecting to a network stream gives up
    :param read_timeout: seconds a network read may stall before it counts as a lost frame
    """

    kind = "camera"

    def __init__(
        self,
        spec: str,
        *,
        fps: float | None = None,
        open_timeout: float = 5.0,
        read_timeout: float = 5.0,
    ):
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.spec = spec
        self.name = redact_url(spec)
        self.target_fps = fps
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.info: CaptureInfo | None = None
        self._capture: cv2.VideoCapture | None = None
        self._start = 0.0
        self._index = 0

    @property
    def is_open(self) -> bool:
        """True between a successful ``open`` and ``close``."""
        return self._capture is not None

    def open(self) -> None:
        """Connect (again); the clock and frame index restart at 0.

        :raises SourceError: unreachable URL, missing device, timeout or no permission
        """
        self.close()
        self._capture = open_capture(*self._capture_args())
        self.info = capture_info(self._capture)
        self._start = time.monotonic()
        self._index = 0

    def read(self) -> Frame | None:
        """The next frame, or None when none arrived (stream ended, stalled or was lost)."""
        if not self._grab():
            return None
        return self._retrieve()

    def close(self) -> None:
        """Release the capture; ``open`` may be called again afterwards."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def describe(self) -> dict[str, Any]:
        """Kind, credential-free name and, once open, the size and fps the stream declares."""
        info = self.info
        return {
            "kind": self.kind,
            "source": self.name,
            "size": list(info.size) if info and info.size[0] > 0 else None,
            "fps": info.fps if info else None,
            "frames": None,
            "target_fps": self.target_fps,
        }

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames until one fails to arrive, then raise SourceError (a live feed never ends).

        :raises SourceError: the stream ended or was lost
        """
        if not self.is_open:
            self.open()
        interval = 1.0 / self.target_fps if self.target_fps else 0.0
        due = 0.0
        try:
            while True:
                if not self._grab():
                    raise SourceError(
                        self.name, f"no frame after {self._index} frames (stream ended or lost)"
                    )
                t = time.monotonic() - self._start
                if t < due:
                    continue
                frame = self._retrieve(t)
                if frame is None:
                    raise SourceError(self.name, f"frame {self._index} cannot be decoded")
                due = t + interval
                yield frame
        finally:
            self.close()

    def _grab(self) -> bool:
        """Take the next frame off the stream without decoding it to an image."""
        try:
            return bool(self._opened().grab())
        except cv2.error:  # a backend failing mid-stream counts as a lost frame
            return False

    def _retrieve(self, t: float | None = None) -> Frame | None:
        """Decode the grabbed frame, stamped ``t`` (default: now)."""
        image = retrieve_bgr(self._opened(), self.name)
        if image is None:
            return None
        if t is None:
            t = time.monotonic() - self._start
        frame = Frame(t, image, self.name, self._index)
        self._index += 1
        return frame

    def _opened(self) -> cv2.VideoCapture:
        """The open capture; reading before ``open`` is a caller bug worth a clear message."""
        if self._capture is None:
            raise SourceError(self.name, "read before open")
        return self._capture

    def _capture_args(self) -> tuple[str | int, int, str, list[int]]:
        """Target, backend, display name and open parameters for this spec."""
        if self.spec.isdigit():
            return int(self.spec), cv2.CAP_V4L2, self.name, []
        if self.spec.startswith("/dev/video"):
            return self.spec, cv2.CAP_V4L2, self.name, []
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout * 1000),
        ]
        return self.spec, cv2.CAP_FFMPEG, self.name, timeouts
