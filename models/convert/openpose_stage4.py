"""Reproduce files/openpose_mobilenet_thin_stage4.onnx from files/openpose_mobilenet_thin.onnx.

The 6-stage network's refinement stages 5 and 6 cost a third of its time and, on real classroom
photos, add little (shared/models/PROVENANCE.md, "Added 2026-12-01"). This cuts the graph after
stage 4: the final Concat (``Openpose/concat_stage7``) is rewired to the stage-4 outputs, part
maps first and PAFs second as before, so the input, the output name and the layout stay the same;
nodes and initializers nothing uses any more are pruned. A pure ONNX graph edit: deterministic,
needs only the ``onnx`` package (a runtime dependency already), no network.
Usage: python models/convert/openpose_stage4.py [--out DIR]
"""

import sys
from pathlib import Path

from common import check, parse_out_dir

SOURCE = Path(__file__).resolve().parents[1] / "files/openpose_mobilenet_thin.onnx"
FINAL_CONCAT = "Openpose/concat_stage7"
# (part maps, PAFs): the outputs of the last pointwise convolution of stage 4's two branches.
STAGE4_OUTPUTS = ("Openpose/MConv_Stage4_L2_5_pointwise/BatchNorm/FusedBatchNorm:0",
                  "Openpose/MConv_Stage4_L1_5_pointwise/BatchNorm/FusedBatchNorm:0")


def cut_after_stage4(source: Path, output: Path) -> None:
    """Write ``source`` cut after refinement stage 4 to ``output``."""
    import onnx  # imported here like the other conversion-time dependencies

    model = onnx.load(str(source))
    graph = model.graph
    concat = next(n for n in graph.node if n.name == FINAL_CONCAT)
    concat.input[:] = STAGE4_OUTPUTS
    # Walk back from the graph outputs; keep only the nodes and weights something still reads.
    producer = {out: n for n in graph.node for out in n.output}
    needed: set[str] = set()
    stack = [o.name for o in graph.output]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in producer:
            stack.extend(i for i in producer[name].input if i)
    kept_nodes = [n for n in graph.node if any(o in needed for o in n.output)]
    kept_weights = [t for t in graph.initializer if t.name in needed]
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept_weights)
    onnx.checker.check_model(model)
    output.write_bytes(model.SerializeToString())


def main() -> int:
    out = parse_out_dir(__doc__)
    onnx_path = out / "openpose_mobilenet_thin_stage4.onnx"
    cut_after_stage4(SOURCE, onnx_path)
    return 0 if check("openpose_mobilenet_thin_stage4", onnx_path) else 1


if __name__ == "__main__":
    sys.exit(main())
