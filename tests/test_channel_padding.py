"""The load-time channel padding of OpenPose: same outputs, vector-friendly stage widths."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from models.channel_padding import CHANNEL_BLOCK, pad_stage_channels, pad_stage_channels_apart
from models.runtime import ModelError, resolve_model


def session(model: str | bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def depthwise_widths(model: onnx.ModelProto) -> list[int]:
    """Channel counts of the grouped (depthwise) convolutions that start stages 2..6."""
    return sorted(next(a.i for a in n.attribute if a.name == "group")
                  for n in model.graph.node if n.op_type == "Conv"
                  and next((a.i for a in n.attribute if a.name == "group"), 1) > 900)


@pytest.fixture(scope="module")
def class_photo() -> np.ndarray:
    from tests.conftest import shared_file

    image = cv2.imread(str(shared_file("media/coco/coco_val2017_000000002299.jpg")))
    return cv2.resize(image, (432, 264))[None].astype(np.float32)


def test_padding_keeps_every_output_and_pads_the_stage_inputs(class_photo):
    path = resolve_model("openpose_mobilenet_thin")
    padded_bytes = pad_stage_channels(path)
    original = onnx.load(str(path))
    padded = onnx.ModelProto.FromString(padded_bytes)
    assert depthwise_widths(original) == [921] * 10  # 2 branches x 5 stages, unaligned
    assert depthwise_widths(padded) and all(w % CHANNEL_BLOCK == 0 for w in depthwise_widths(padded))

    (before,) = session(str(path)).run(None, {"image:0": class_photo})
    (after,) = session(padded_bytes).run(None, {"image:0": class_photo})
    assert before.shape == after.shape and np.abs(before).max() > 0.5  # real maps, not zeros
    assert np.abs(before - after).max() < 1e-4


def test_other_graphs_are_left_as_they_are():
    path = resolve_model("blazeface_short_range")
    original = onnx.load(str(path))
    rewritten = onnx.ModelProto.FromString(pad_stage_channels(path))
    assert [n.op_type for n in rewritten.graph.node] == [n.op_type for n in original.graph.node]
    for a, b in zip(original.graph.initializer, rewritten.graph.initializer):
        assert a.name == b.name and a.raw_data == b.raw_data


def test_the_child_process_rewrite_gives_the_same_model(tmp_path):
    path = resolve_model("openpose_mobilenet_thin_stage4")
    pad_stage_channels_apart(path, tmp_path / "padded.onnx")
    assert (tmp_path / "padded.onnx").read_bytes() == pad_stage_channels(path)


def test_loading_the_pose_model_leaves_onnx_out_of_the_process(tmp_path):
    """The onnx package (~35 MB resident with the parsed graph) is imported by the rewrite's
    child only; a broken model file still fails with one clear ModelError."""
    import subprocess
    import sys

    code = ("import sys; from models.pose import PoseEstimator; PoseEstimator(); "
            "print(sorted(m for m in sys.modules if m == 'onnx' or m.startswith('onnx.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    from models.openpose import OpenPoseNet

    with pytest.raises(ModelError, match="cannot load model"):
        OpenPoseNet(broken)
