"""Sources: real media, corrupt files, live streams over local HTTP, scene files (sensors/)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from sensors import SourceError, open_source
from sensors.camera import CameraSource, redact_url
from sensors.samples import AudioFeatures, EnvironmentSample, HeartRateSample, Person, PoseSample
from sensors.scene import SceneHeader, SceneSource, write_scene
from tests.mjpeg_camera import MjpegCamera
from tests.ports import free_port

# ---------------------------------------------------------------- video files


def test_video_thinned_to_two_fps(shared):
    path = shared("media/sports2d_demo.mp4")
    with open_source(path, fps=2) as source:
        info = source.describe()
        frames = list(source)
    assert source.kind == "video"
    assert info["size"] == [1768, 994] and info["fps"] == pytest.approx(30.0)
    assert info["frames"] == 230
    # 230 frames at 30 fps = 7.67 s of media: one frame every 0.5 s from t=0 gives 16.
    assert len(frames) == 16
    times = np.array([frame.t for frame in frames])
    assert times[0] == 0.0
    assert np.allclose(np.diff(times), 0.5, atol=1 / 30)
    assert all(frame.size == (1768, 994) for frame in frames)
    assert all(frame.image.dtype == np.uint8 and frame.image.shape[2] == 3 for frame in frames)
    assert [frame.index for frame in frames] == [round(t * 30) for t in times]
    assert frames[0].source == "sports2d_demo.mp4"


def _write_video(path: Path, count: int, fps: float) -> None:
    """A small synthetic clip whose frame i is uniformly grey level 20*i (checkable after decoding)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(count):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()


def test_video_every_frame_and_loop(tmp_path):
    clip = tmp_path / "clip.mp4"
    _write_video(clip, count=6, fps=10)
    frames = list(open_source(clip))
    assert [frame.index for frame in frames] == list(range(6))
    assert np.allclose([frame.t for frame in frames], np.arange(6) / 10)
    levels = [float(frame.image.mean()) for frame in frames]
    assert np.allclose(levels, [20 * i for i in range(6)], atol=6)  # lossy codec

    looped = []
    for frame in open_source(clip, loop=True):
        looped.append(frame)
        if len(looped) == 15:
            break
    # Time and index keep increasing across the wrap; content starts over.
    assert np.allclose([frame.t for frame in looped], np.arange(15) / 10)
    assert [frame.index for frame in looped] == list(range(15))
    assert abs(float(looped[6].image.mean()) - levels[0]) < 6


def test_video_fps_above_native_keeps_every_frame(tmp_path):
    clip = tmp_path / "clip.mp4"
    _write_video(clip, count=5, fps=10)
    assert len(list(open_source(clip, fps=50))) == 5


@pytest.fixture
def broken_media(tmp_path, shared) -> dict[str, Path]:
    data = shared("media/sports2d_demo.mp4").read_bytes()
    files = {
        "head_only.mp4": data[:200_000],  # index present, media data cut: nothing decodes
        "half.mp4": data[: len(data) // 2],  # plays for a while, then stops
        "text.mp4": b"this is not a video\n",
        "garbage.jpg": bytes(range(256)) * 20,
        "empty.jpg": b"",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "empty_folder").mkdir()
    return {
        name: tmp_path / name for name in [*files, "empty_folder", "missing.mp4", "missing.png"]
    }


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("head_only.mp4", "no frame could be decoded"),
        ("text.mp4", "cannot open"),
        ("garbage.jpg", "not a decodable image"),
        ("empty.jpg", "not a decodable image"),
        ("missing.mp4", "no such file"),
        ("missing.png", "no such file"),
        ("empty_folder", "no image files"),
    ],
)
def test_unreadable_input_fails_at_open_naming_the_file(broken_media, name, problem):
    with pytest.raises(SourceError) as caught:
        open_source(broken_media[name])
    message = str(caught.value)
    assert message.startswith(f"{broken_media[name]}: ")
    assert problem in message
    assert "\n" not in message


def test_truncated_video_fails_after_the_frames_it_has(broken_media):
    frames = []
    with pytest.raises(SourceError, match=r"half\.mp4: decoding stopped at frame \d+ of 230"):
        frames.extend(open_source(broken_media["half.mp4"], fps=5))
    assert 10 < len(frames) < 35  # the first half was delivered before the error


def test_bad_fps_is_rejected(shared):
    with pytest.raises(ValueError, match="fps must be > 0"):
        open_source(shared("media/sports2d_demo.mp4"), fps=0)


# ---------------------------------------------------------------- images and folders


def test_single_image(shared):
    with open_source(shared("media/skimage_astronaut.png")) as source:
        frames = list(source)
        assert source.kind == "image"
        assert source.describe()["size"] == [512, 512]
    assert len(frames) == 1
    assert frames[0].t == 0.0 and frames[0].size == (512, 512)
    assert frames[0].image.shape == (512, 512, 3) and frames[0].image.dtype == np.uint8


def _write_images(folder: Path, names: list[str]) -> None:
    folder.mkdir(exist_ok=True)
    for level, name in enumerate(names):
        assert cv2.imwrite(str(folder / name), np.full((30, 40, 3), 10 * level, np.uint8))


def test_folder_in_natural_order_one_second_apart(tmp_path):
    folder = tmp_path / "shots"
    _write_images(folder, ["f1.png", "f2.png", "f10.png"])
    (folder / "notes.txt").write_text("not an image")
    source = open_source(folder)
    assert source.kind == "folder"
    assert source.describe()["frames"] == 3 and source.describe()["size"] == [40, 30]
    frames = list(source)
    assert [frame.source for frame in frames] == ["f1.png", "f2.png", "f10.png"]
    assert [frame.t for frame in frames] == [0.0, 1.0, 2.0]
    assert [int(frame.image.mean()) for frame in frames] == [0, 10, 20]


def test_folder_fps_and_loop(tmp_path):
    folder = tmp_path / "shots"
    _write_images(folder, ["a.png", "b.jpg"])
    frames = []
    for frame in open_source(folder, fps=4, loop=True):
        frames.append(frame)
        if len(frames) == 5:
            break
    assert [frame.t for frame in frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [frame.source for frame in frames] == ["a.png", "b.jpg", "a.png", "b.jpg", "a.png"]


def test_folder_with_a_corrupt_image_names_it_when_reached(tmp_path):
    folder = tmp_path / "shots"
    _write_images(folder, ["1.png"])
    (folder / "2.jpg").write_bytes(b"\xff\xd8 broken")
    frames = []
    with pytest.raises(SourceError, match=r"2\.jpg: not a decodable image"):
        frames.extend(open_source(folder))
    assert len(frames) == 1


# ---------------------------------------------------------------- live streams


@pytest.fixture
def mjpeg() -> Iterator[MjpegCamera]:
    """12 distinct 160x120 frames 0.03 s apart, then the stream closes."""
    images = [np.full((120, 160, 3), 10 * i, np.uint8) for i in range(12)]
    camera = MjpegCamera(images, 0.03, loop=False).start()
    yield camera
    camera.stop()


def test_http_mjpeg_camera_until_the_stream_ends(mjpeg):
    url = mjpeg.url("viewer:secret")
    source = open_source(url)
    assert source.kind == "camera"
    assert source.describe()["size"] == [160, 120]
    frames = []
    with pytest.raises(SourceError, match="stream ended or lost") as caught:
        frames.extend(source)
    assert 10 <= len(frames) <= 12
    assert all(frame.size == (160, 120) for frame in frames)
    times = [frame.t for frame in frames]
    assert times == sorted(times) and times[-1] < 10
    assert [frame.index for frame in frames] == list(range(len(frames)))
    # The password never reaches frames, descriptions or messages.
    texts = [frames[0].source, str(source.describe()), str(caught.value)]
    assert all("secret" not in text and "viewer:***@" in text for text in texts)
    assert not source.is_open


def test_camera_fps_throttles_delivery(mjpeg):
    camera = CameraSource(mjpeg.url(), fps=10)
    frames = []
    with pytest.raises(SourceError):
        frames.extend(camera)
    assert 1 <= len(frames) < 12
    assert all(gap >= 0.1 - 1e-6 for gap in np.diff([frame.t for frame in frames]))


def test_camera_read_returns_none_when_the_stream_ends(mjpeg):
    camera = CameraSource(mjpeg.url())
    camera.open()
    frames = []
    while (frame := camera.read()) is not None:
        frames.append(frame)
    assert len(frames) >= 10 and camera.is_open
    camera.close()
    assert not camera.is_open
    with pytest.raises(SourceError, match="read before open"):
        camera.read()


def test_stalled_stream_hits_the_read_timeout():
    images = [np.full((120, 160, 3), 10 * i, np.uint8) for i in range(3)]
    server = MjpegCamera(images, 0.0, loop=False, stall=6.0).start()
    try:
        camera = CameraSource(server.url(), read_timeout=1)
        frames = []
        started = time.monotonic()
        with pytest.raises(SourceError, match="no frame after 3 frames"):
            frames.extend(camera)
        assert len(frames) == 3
        assert time.monotonic() - started < 4  # the 6 s stall was cut short by the timeout
    finally:
        server.stop()




def test_unreachable_rtsp_fails_fast():
    url = f"rtsp://127.0.0.1:{free_port()}/live"
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"rtsp://127\.0\.0\.1:\d+/live: cannot open"):
        open_source(url)
    assert time.monotonic() - started < 3


def test_silent_server_hits_the_open_timeout():
    with socket.socket() as silent:  # accepts TCP connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        camera = CameraSource(f"rtsp://127.0.0.1:{silent.getsockname()[1]}/live", open_timeout=1)
        started = time.monotonic()
        with pytest.raises(SourceError, match="cannot open"):
            camera.open()
        assert 0.5 < time.monotonic() - started < 4


@pytest.mark.parametrize("spec", ["/dev/video97", "97"])
def test_missing_usb_camera_fails_fast(spec):
    with pytest.raises(SourceError, match="cannot open"):
        open_source(spec)


def test_redact_url_keeps_everything_but_the_password():
    assert (
        redact_url("rtsp://admin:hunter2@10.0.0.5:554/ch1?x=1")
        == "rtsp://admin:***@10.0.0.5:554/ch1?x=1"
    )
    assert redact_url("rtsp://10.0.0.5/ch1") == "rtsp://10.0.0.5/ch1"


# ---------------------------------------------------------------- scene files


def _kp(x0: float, y0: float, score: float = 0.9) -> np.ndarray:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = x0 + np.arange(17) * 1.5
    kp[:, 1] = y0 + np.arange(17) * 3.25
    kp[:, 2] = score
    return kp


def test_scene_round_trip(tmp_path):
    header = SceneHeader(
        mode="classroom",
        size=(1920, 1080),
        age=12,
        zones={"teacher": [[0, 0], [400, 0], [400, 300]]},
    )
    samples = [
        PoseSample(
            0.0,
            [Person(_kp(100.123, 200.456), 0.8), Person(_kp(900, 300, 0.35), 0.35)],
            (1920, 1080),
        ),
        AudioFeatures(0.5, speech=0.9, teacher_speech=0.8, dba=58.0),
        AudioFeatures(1.0, speech=0.1),
        HeartRateSample(1.0, {"band-3f2a": 132.0, "band-9c01": None}),
        EnvironmentSample(1.0, {"co2_ppm": 900.0, "temp_c": 24.5}),
        PoseSample(1.0, [], (1920, 1080)),
    ]
    path = tmp_path / "lesson.jsonl"
    assert write_scene(path, header, samples) == len(samples)
    assert b"id" not in path.read_bytes()

    with open_source(path) as source:
        assert isinstance(source, SceneSource) and source.kind == "scene"
        assert source.header == header
        read = list(source)
    assert [type(s) for s in read] == [type(s) for s in samples]
    assert [s.t for s in read] == [s.t for s in samples]
    for original, copy in zip(samples[0].people, read[0].people, strict=True):
        assert copy.kp.dtype == np.float32 and copy.kp.shape == (17, 3)
        assert np.allclose(copy.kp, original.kp, atol=0.006)
        assert copy.score == pytest.approx(original.score, abs=1e-3)
    assert read[0].size == (1920, 1080)
    assert read[1:5] == samples[1:5]
    assert read[5].people == []


def _scene(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "scene.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = '{"format": "edge.scene/v1", "mode": "pe", "size": [640, 480]}'


def test_scene_line_with_several_records_yields_each(tmp_path):
    person = {"kp": _kp(10, 20).tolist()}
    line = json.dumps(
        {
            "t": 2.0,
            "env": {"co2_ppm": 700, "rh": None},
            "hr": {"b1": None},
            "audio": {"speech": 0.2},
            "people": [person],
        }
    )
    samples = list(
        open_source(_scene(tmp_path, HEADER, "", line, '{"t": 2.0, "audio": {"speech": 1}}'))
    )
    assert [type(s).__name__ for s in samples] == [
        "PoseSample",
        "AudioFeatures",
        "HeartRateSample",
        "EnvironmentSample",
        "AudioFeatures",
    ]
    assert all(s.t == 2.0 for s in samples)
    assert samples[0].people[0].score == pytest.approx(0.9)  # mean keypoint score when absent
    assert samples[2].bpm == {"b1": None}
    assert samples[3].values == {"co2_ppm": 700.0}
    assert samples[1].teacher_speech is None and samples[1].dba is None


KP16 = "[" + ",".join(["[1,2,0.5]"] * 16) + "]"
KP17 = "[" + ",".join(["[1,2,0.5]"] * 17) + "]"


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (['{"t": 0, "audio": {"speech": 0.5}}'], 1, "first line must be the header"),
        (['{"format": "edge.scene/v2", "mode": "pe", "size": [1, 1]}'], 1, "first line must be"),
        (['{"format": "edge.scene/v1", "mode": "gym", "size": [1, 1]}'], 1, "mode must be one of"),
        (['{"format": "edge.scene/v1", "mode": "pe", "size": [0, 1]}'], 1, "size must be"),
        (
            [HEADER, '{"t": 0, "people": [{"kp": ' + KP17 + '}, {"kp": ' + KP16 + "}]}"],
            2,
            "person 2: kp has 16 entries, expected 17",
        ),
        ([HEADER, '{"t": 0, "audio": {"speech": 0.5}', '{"t": 1}'], 2, "malformed JSON"),
        (
            [HEADER, '{"t": 1, "audio": {"speech": 0.5}}', '{"t": 0.5, "audio": {"speech": 0.5}}'],
            3,
            "goes back in time",
        ),
        ([HEADER, '{"t": 0, "people": [{"kp": ' + KP17 + ', "id": 4}]}'], 2, "unknown key 'id'"),
        ([HEADER, '{"t": 0, "audio": {"speech": 1.5}}'], 2, "speech must lie in 0..1"),
        (
            [HEADER, '{"t": 0, "people": [{"kp": ' + KP17.replace("0.5]", "2]") + "}]}"],
            2,
            "person 1: kp entries must be [x, y, score], finite, scores in 0..1",
        ),
        ([HEADER, '{"t": 0, "people": [{"kp": ' + KP17 + "}, [1, 2]]}"], 2, "person 2: expected"),
        ([HEADER, '{"t": "0", "hr": {"b": 120}}'], 2, "t must be a finite number"),
        ([HEADER, '{"t": 0}'], 2, "carries none of"),
        ([HEADER, '{"t": 0, "env": {"co2": 800}}'], 2, "unknown key 'co2'"),
        ([HEADER, '{"t": 0, "hr": {"b": "fast"}}'], 2, "hr b must be a finite number"),
        ([HEADER, "[1, 2]"], 2, "must be a JSON object"),
    ],
)
def test_scene_defects_name_file_and_line(tmp_path, lines, line, problem):
    path = _scene(tmp_path, *lines)
    with pytest.raises(SourceError) as caught:
        list(open_source(path))
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert problem in str(caught.value)


def test_scene_equal_times_are_fine_and_missing_or_empty_files_fail(tmp_path):
    path = _scene(
        tmp_path, HEADER, '{"t": 1, "audio": {"speech": 0}}', '{"t": 1, "audio": {"speech": 1}}'
    )
    assert len(list(open_source(path))) == 2
    with pytest.raises(SourceError, match="no such file"):
        open_source(tmp_path / "nope.jsonl")
    (tmp_path / "empty.scene").write_text("")
    with pytest.raises(SourceError, match="empty file"):
        open_source(tmp_path / "empty.scene")
