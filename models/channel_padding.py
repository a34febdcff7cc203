"""A load-time rewrite that makes OpenPose mobilenet_thin ~30 % faster with the same results.

The committed model file is never changed (its sha256 stays the manifest's): the rewrite runs
when the session is created (``models.runtime.create_session(rewrite=...)``), into a temporary
file that is removed once the model is loaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["CHANNEL_BLOCK", "pad_stage_channels", "pad_stage_channels_apart"]

# onnxruntime's fast blocked (NCHWc) convolutions take a depthwise convolution only when its
# channel count is a multiple of the SIMD block (8 with AVX2, 16 with AVX-512).
CHANNEL_BLOCK = 16


def pad_stage_channels(path: Path) -> bytes:
    """The model at ``path`` with the inputs of its refinement stages padded with zero channels.

    Stages 2..6 of mobilenet_thin start with a depthwise convolution over 38 PAF + 19 part +
    864 feature channels = 921, not a multiple of :data:`CHANNEL_BLOCK`, so onnxruntime runs
    those 10 convolutions and the 10 pointwise ones after them on its slow generic path: over
    half the model time. Here each convolution feeding such a concatenation gets zero filters
    (outputs exactly 0) up to a multiple of the block, and the depthwise and pointwise weights
    after it get zero entries at the same places, so every result is unchanged (up to float
    summation order, ~1e-6) while a pass costs ~30% less. Graphs without this pattern load as
    they are.
    """
    import onnx  # only needed here, at load time
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)

    def channels(tensor: str) -> int:
        """Channel count of ``tensor`` when it follows from the weights, else 0."""
        node = producer.get(tensor)
        if node is None:
            return 0
        if node.op_type == "Conv":
            return int(weights[node.input[1]].dims[0]) if node.input[1] in weights else 0
        if node.op_type == "Concat":
            parts = [channels(name) for name in node.input]
            return 0 if 0 in parts else sum(parts)
        return channels(node.input[0]) if node.op_type in ("Relu", "MaxPool") else 0

    def used_once(name: str) -> bool:
        return name in weights and len(users[name]) == 1

    def paddable(tensor: str) -> bool:
        node = producer[tensor]
        return (node.op_type == "Conv" and len(node.input) == 3 and len(users[tensor]) == 1
                and all(used_once(name) for name in node.input[1:]))

    def is_stage_start(node: onnx.NodeProto, total: int) -> bool:
        """A bias-free depthwise conv over ``total`` channels feeding only 1x1 convolutions."""
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        return (node.op_type == "Conv" and group == total and len(node.input) == 2
                and used_once(node.input[1])
                and all(n.op_type == "Conv" and used_once(n.input[1])
                        and weights[n.input[1]].dims[1:] == [total, 1, 1]
                        for n in users[node.output[0]]))

    def put(name: str, array: np.ndarray) -> None:
        weights[name].CopyFrom(numpy_helper.from_array(array.astype(np.float32), name))

    for concat in [n for n in graph.node if n.op_type == "Concat"]:
        depthwise = users.get(concat.output[0], [])
        sizes = [channels(name) for name in concat.input]
        if (not depthwise or 0 in sizes or not sum(sizes) % CHANNEL_BLOCK
                or not all(is_stage_start(n, sum(sizes)) for n in depthwise)
                or any(size % CHANNEL_BLOCK and not paddable(name)
                       for name, size in zip(concat.input, sizes))):
            continue
        inserted: list[int] = []  # original channel index before which each zero channel goes
        offset = 0
        for name, size in zip(concat.input, sizes):
            extra = -size % CHANNEL_BLOCK
            if extra:
                conv = producer[name]
                w, b = (numpy_helper.to_array(weights[n]) for n in conv.input[1:3])
                put(conv.input[1], np.concatenate([w, np.zeros((extra, *w.shape[1:]), w.dtype)]))
                put(conv.input[2], np.concatenate([b, np.zeros(extra, b.dtype)]))
                inserted += [offset + size] * extra
            offset += size
        for dw in depthwise:
            next(a for a in dw.attribute if a.name == "group").i += len(inserted)
            put(dw.input[1], np.insert(numpy_helper.to_array(weights[dw.input[1]]), inserted, 0, 0))
            for pointwise in users[dw.output[0]]:
                w = numpy_helper.to_array(weights[pointwise.input[1]])
                put(pointwise.input[1], np.insert(w, inserted, 0, 1))
    del graph.value_info[:]  # intermediate shapes changed; onnxruntime infers them again
    return model.SerializeToString()


def pad_stage_channels_apart(path: Path, out: Path) -> None:
    """:func:`pad_stage_channels` done by a child Python, which writes the model to ``out``.

    The rewrite needs the ``onnx`` package, which stays resident once imported: in a
    long-running process its import and the parsed graph cost ~35 MB (of SPEC 10's 400) for a
    rewrite done once per load. The child costs ~1 s of CPU at load instead.

    :raises RuntimeError: with the child's last error line when the rewrite fails.
    """
    done = subprocess.run([sys.executable, "-m", "models.channel_padding", str(path), str(out)],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"rewrite exited with {done.returncode}")


if __name__ == "__main__":  # the child of pad_stage_channels_apart: model path in, model out
    Path(sys.argv[2]).write_bytes(pad_stage_channels(Path(sys.argv[1])))
