"""`edge models list|verify|bench`: the shipped models, their checksums, their speed here."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.perception.options import pose_options
from models.catalog import bench, rows, verify
from models.pose import describe_plan, plan_for
from models.runtime import ModelError, SessionOptions

from .common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError, add_config_argument, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, verify (sha256) or benchmark the ONNX models")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for verb, help_text, func in (
        ("list", "table of the manifest: name, file, size, license, task", _list),
        ("verify", "check the sha256 of every model file; exit 1 naming a bad one", _verify),
        ("bench", "median and p90 latency of every model on random input", _bench),
    ):
        p = verbs.add_parser(verb, help=help_text)
        add_config_argument(p)
        p.add_argument("--models-dir", type=Path, metavar="D",
                       help="directory holding the model files (default: config, else shipped)")
        p.set_defaults(func=func)
        if verb == "bench":
            p.add_argument("--runs", type=_positive, default=20, metavar="N",
                           help="timed runs per model (default 20)")
            p.add_argument("--threads", type=_positive, metavar="T",
                           help="onnxruntime intra-op threads (default: config)")
            p.add_argument("--frame", type=_frame_size, default=(1920, 1080), metavar="WxH",
                           help="camera frame size whose pose pass plan is benchmarked "
                           "(default 1920x1080)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (got {value})")
    return value


def _frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT like 1920x1080 (got {text!r})") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"frame sides must be 16..8192 (got {text!r})")
    return w, h


def _models_dir(args: argparse.Namespace) -> Path | None:
    """--models-dir, else the config's runtime.models_dir, else None (the shipped files)."""
    if args.models_dir is not None:
        if not args.models_dir.is_dir():
            raise CliError(f"--models-dir {args.models_dir}: not a directory", EXIT_USAGE)
        return args.models_dir
    return config_from_args(args).runtime.models_dir


def _print_table(header: tuple[str, ...], table: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _list(args: argparse.Namespace) -> int:
    _print_table(("name", "file", "size", "license", "task"), rows(_models_dir(args)))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    verdicts = verify(_models_dir(args))
    for v in verdicts:
        print(f"{v.status:8s} {v.name:26s} {v.path}")
    bad = [v for v in verdicts if v.status != "ok"]
    if bad:
        raise CliError(
            "; ".join(f"{v.status}: {v.path}" for v in bad), EXIT_FAILURE
        )
    print(f"all {len(verdicts)} model files match the manifest")
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    runtime = cfg.runtime
    plan = plan_for(pose_options(cfg), *args.frame)
    print(f"pose pass plan for {args.frame[0]}x{args.frame[1]}: "
          f"{describe_plan(pose_options(cfg), *args.frame)}")
    options = SessionOptions(
        intra_op_threads=args.threads or runtime.intra_op_threads,
        inter_op_threads=runtime.inter_op_threads,
        providers=tuple(runtime.providers),
    )
    try:
        results = bench(options, args.runs, _models_dir(args), plan[0].input_size)
    except ModelError as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    for r in results:
        print(f"{r.name:32s} median {r.median_ms:8.2f} ms  p90 {r.p90_ms:8.2f} ms  "
              f"({r.runs} runs, {r.threads} threads)")
    return EXIT_OK
