"""Video files decoded through OpenCV's FFmpeg backend, optionally thinned to a target rate."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import cv2

from sensors.capture import CaptureInfo, capture_info, open_capture, retrieve_bgr
from sensors.errors import SourceError
from sensors.samples import Frame
from sensors.source import Source

# Some containers only estimate their frame count (duration x fps), so a file is called
# truncated only when it ends clearly short of the declared count, not one frame short.
_COUNT_SLACK_FRAMES = 2
_COUNT_SLACK_FRACTION = 0.01


class VideoFileSource(Source[Frame]):
    """Frames of a video file with ``t`` = frame index / container fps (seconds of media time).

    :param path: video file
    :param fps: keep about this many frames per second of media time (None: every frame);
        skipped frames are only grabbed, never converted to images, so thinning is cheap
    :param loop: start over at the end, ``t`` and ``index`` continuing to increase
    :raises SourceError: missing, unreadable or corrupt file (at open or mid-stream)
    """

    kind = "video"

    def __init__(self, path: str | Path, *, fps: float | None = None, loop: bool = False):
        self.path = Path(path)
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.target_fps = fps
        self.loop = loop
        if not self.path.is_file():
            raise SourceError(self.path, "no such file")
        # Probe once here so a bad file fails at open, not after the caller has started work.
        self._capture: cv2.VideoCapture | None = open_capture(
            str(self.path), cv2.CAP_FFMPEG, self.path
        )
        try:
            self.info: CaptureInfo = capture_info(self._capture)
            if self.info.fps is None:
                raise SourceError(self.path, "declares no frame rate, so frame times are unknown")
            self.native_fps: float = self.info.fps
            if not self._capture.grab():
                raise SourceError(
                    self.path, "no frame could be decoded (truncated or corrupt file)"
                )
        finally:
            self.close()

    def describe(self) -> dict[str, Any]:
        """Kind, file name, size, native fps, declared frame count, target fps and loop flag."""
        return {
            "kind": self.kind,
            "source": self.path.name,
            "size": list(self.info.size),
            "fps": self.info.fps,
            "frames": self.info.frames,
            "target_fps": self.target_fps,
            "loop": self.loop,
        }

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames (all, or ~target_fps per media second); close the capture at the end."""
        try:
            t_offset, index = 0.0, 0
            while True:
                frames = yield from self._one_pass(self._reopen(), t_offset, index)
                if not self.loop:
                    return
                t_offset += frames / self.native_fps
                index += frames
        finally:
            self.close()

    def _one_pass(
        self, capture: cv2.VideoCapture, t_offset: float, first_index: int
    ) -> Generator[Frame, None, int]:
        """Decode one pass over the file (offset by earlier passes); return its frame count."""
        native_fps = self.native_fps
        target = self.target_fps
        step = 1.0 / target if target is not None and target < native_fps else 0.0
        kept = 0
        position = 0
        while capture.grab():
            t = position / native_fps
            # Keep the first frame at or after each multiple of the step: evenly spaced media time.
            if t + 1e-9 >= kept * step:
                image = retrieve_bgr(capture, self.path)
                if image is None:
                    raise SourceError(
                        self.path, f"frame {position} cannot be decoded (corrupt file)"
                    )
                kept += 1
                yield Frame(t_offset + t, image, self.path.name, first_index + position)
            position += 1
        self._check_complete(position)
        return position

    def _check_complete(self, decoded: int) -> None:
        """Raise when decoding stopped clearly short of the declared frame count (truncated file)."""
        declared = self.info.frames
        if decoded == 0:
            raise SourceError(self.path, "no frame could be decoded (truncated or corrupt file)")
        if declared is None:
            return
        slack = max(_COUNT_SLACK_FRAMES, int(declared * _COUNT_SLACK_FRACTION))
        if decoded < declared - slack:
            raise SourceError(
                self.path,
                f"decoding stopped at frame {decoded} of {declared} (truncated or corrupt file)",
            )

    def _reopen(self) -> cv2.VideoCapture:
        """A capture at the first frame (reopened rather than seeking, as FFmpeg seeks inexactly)."""
        self.close()
        self._capture = open_capture(str(self.path), cv2.CAP_FFMPEG, self.path)
        return self._capture

    def close(self) -> None:
        """Release the capture."""
        if self._capture is not None:
            self._capture.release()
            self._capture = None
