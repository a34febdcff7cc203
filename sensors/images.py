"""Still images: one file, or a folder of files played as a sequence."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from sensors.capture import quiet_opencv
from sensors.errors import SourceError
from sensors.samples import Frame
from sensors.source import Source

# 8K UHD is 33 megapixels; nothing a classroom camera or photo produces comes near this.
MAX_PIXELS = 40_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
)


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to BGR uint8 HxWx3 (grey and alpha images are converted).

    Reads the bytes itself so a missing file, a permission problem and undecodable content each
    get their own message.

    :raises SourceError: missing, unreadable or not an image
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise SourceError(path, "no such file") from None
    except OSError as error:
        raise SourceError(path, f"cannot read ({error.strerror or error})") from None
    _check_png_size(path, data)
    quiet_opencv()
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error:  # e.g. more pixels than OpenCV's own limit (2^30): its assertion text
        raise SourceError(path, "not a decodable image (too large, corrupt or unsupported)") from None
    if image is None:
        raise SourceError(path, "not a decodable image (corrupt or unsupported format)")
    return image


def _check_png_size(path: Path, data: np.ndarray) -> None:
    """Refuse a PNG whose header declares more than :data:`MAX_PIXELS` before decoding it: a
    1 KB file can claim 100000 x 100000 pixels (a decompression bomb) and make OpenCV allocate
    gigabytes, or fail with an assertion."""
    head = data[:24].tobytes()
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return
    width, height = struct.unpack(">II", head[16:24])
    if width * height > MAX_PIXELS:
        raise SourceError(path, f"image of {width} x {height} pixels exceeds the limit of "
                                f"{MAX_PIXELS // 1_000_000} megapixels")


def is_image_file(path: Path) -> bool:
    """True for a file whose extension is a still-image format."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


class ImageSource(Source[Frame]):
    """One image as a single frame at ``t`` = 0.

    :raises SourceError: missing, unreadable or corrupt file (at construction)
    """

    kind = "image"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.image = read_image(self.path)

    def describe(self) -> dict[str, Any]:
        """Kind, file name, size; one frame, no frame rate."""
        height, width = self.image.shape[:2]
        return {
            "kind": self.kind,
            "source": self.path.name,
            "size": [width, height],
            "fps": None,
            "frames": 1,
        }

    def __iter__(self) -> Iterator[Frame]:
        """Yield the image once."""
        yield Frame(0.0, self.image, self.path.name, 0)


class ImageFolderSource(Source[Frame]):
    """Image files of a folder in natural name order (img2 before img10), ``1/fps`` s apart.

    Files are decoded one at a time while iterating, so a large folder costs no memory up front.

    :param fps: assumed capture rate of the sequence (default one image per second)
    :param loop: start over after the last image, ``t`` and ``index`` continuing to increase
    :raises SourceError: not a folder, no image files in it, or a corrupt image (when reached)
    """

    kind = "folder"

    def __init__(self, path: str | Path, *, fps: float | None = None, loop: bool = False):
        self.path = Path(path)
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.fps = fps or 1.0
        self.loop = loop
        if not self.path.is_dir():
            raise SourceError(self.path, "no such folder")
        self.files = sorted(
            (entry for entry in self.path.iterdir() if entry.is_file() and is_image_file(entry)),
            key=_natural_key,
        )
        if not self.files:
            extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise SourceError(self.path, f"folder holds no image files ({extensions})")

    def describe(self) -> dict[str, Any]:
        """Kind, folder name, size of the first image, assumed fps and the number of images."""
        height, width = read_image(self.files[0]).shape[:2]
        return {
            "kind": self.kind,
            "source": self.path.name,
            "size": [width, height],
            "fps": self.fps,
            "frames": len(self.files),
            "loop": self.loop,
        }

    def __iter__(self) -> Iterator[Frame]:
        """Yield each image in order (forever when looping)."""
        index = 0
        while True:
            for file in self.files:
                yield Frame(index / self.fps, read_image(file), file.name, index)
                index += 1
            if not self.loop:
                return


def _natural_key(path: Path) -> list[Any]:
    """Sort key comparing digit runs as numbers, so frame_2 sorts before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
