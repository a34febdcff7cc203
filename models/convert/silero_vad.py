"""Reproduce files/silero_vad_16k.onnx: copied unchanged from the silero-vad 6.2.3 wheel.

The wheel depends on torch; it is only downloaded (no dependencies) and unzipped, never installed.
Usage: python models/convert/silero_vad.py [--out DIR]
"""

import sys

from common import Wheel, check, download_wheel, extract, parse_out_dir

SILERO_VAD = Wheel("silero-vad==6.2.3")
MEMBER = "silero_vad/data/silero_vad_16k_op15.onnx"


def main() -> int:
    out = parse_out_dir(__doc__)
    copied = extract(download_wheel(SILERO_VAD, out), MEMBER, out)
    target = copied.rename(out / "silero_vad_16k.onnx")
    return 0 if check("silero_vad_16k", target) else 1


if __name__ == "__main__":
    sys.exit(main())
