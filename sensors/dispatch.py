"""Choose the right source for a spec string: scene file, image, folder, camera or video file."""

from __future__ import annotations

from pathlib import Path

from sensors.camera import CameraSource, is_camera_spec
from sensors.images import ImageFolderSource, ImageSource, is_image_file
from sensors.samples import Frame
from sensors.scene import SCENE_SUFFIXES, SceneSource
from sensors.source import Source
from sensors.video import VideoFileSource


def open_source(
    spec: str | Path, *, fps: float | None = None, loop: bool = False
) -> Source[Frame] | SceneSource:
    """Open the input named by ``spec``, ready to iterate (use it as a context manager).

    ``*.jsonl``/``*.scene`` -> scene samples; image extensions -> one image; a directory ->
    image folder; ``rtsp://``/``http(s)://`` URLs, digits and ``/dev/video*`` -> live camera
    (connected here); anything else -> video file.

    :param fps: video and camera: deliver about this many frames per second; folder: the rate
        the images were taken at (default 1); ignored for images and scene files
    :param loop: video and folder: start over at the end (for demos)
    :raises SourceError: the input is missing, unreadable, corrupt or unreachable
    :raises ValueError: fps is not positive
    """
    text = str(spec)
    if is_camera_spec(text):
        camera = CameraSource(text, fps=fps)
        camera.open()
        return camera
    path = Path(text.removeprefix("file://"))
    if path.suffix.lower() in SCENE_SUFFIXES:
        return SceneSource(path)
    if path.is_dir():
        return ImageFolderSource(path, fps=fps, loop=loop)
    if is_image_file(path):
        return ImageSource(path)
    return VideoFileSource(path, fps=fps, loop=loop)
