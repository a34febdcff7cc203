"""Reproduce files/blazepose_landmark_full.onnx and files/blazeface_short_range.onnx.

Both come from TFLite files inside the mediapipe 0.10.21 wheel (identical in every platform's
wheel; the Linux x86-64 CPython 3.11 one is fetched, never installed). Needs tf2onnx
(its --tflite reader); tensorflow-cpu is not used for these two.
Usage: python models/convert/mediapipe.py [--out DIR]
"""

import sys

from common import Wheel, check, download_wheel, extract, parse_out_dir, tf2onnx

MEDIAPIPE = Wheel("mediapipe==0.10.21", platform="manylinux_2_28_x86_64", python="311", abi="cp311")
# manifest name -> TFLite file inside the wheel
MODELS = {
    "blazepose_landmark_full": "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    "blazeface_short_range": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
}


def main() -> int:
    out = parse_out_dir(__doc__)
    wheel = download_wheel(MEDIAPIPE, out)
    ok = True
    for name, member in MODELS.items():
        tflite = extract(wheel, member, out)
        onnx_path = out / f"{name}.onnx"
        tf2onnx(["--tflite", str(tflite)], onnx_path)
        ok = check(name, onnx_path) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
