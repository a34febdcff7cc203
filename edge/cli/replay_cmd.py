"""`edge replay SOURCE [--config F] [--mode classroom|pe] [--db F] [--json] [--fps R]`."""

from __future__ import annotations

import argparse
import json
import sys

from pydantic import ValidationError

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `edge replay`."""
    parser = sub.add_parser(
        "replay",
        help="run a video, image, image folder, scene file (.jsonl) or WAV through the pipeline",
        description="Runs the pipeline over SOURCE as fast as it can. Records are stored only "
        "when --db is given (a replay never touches the daemon's store by default). With --json "
        "prints one JSON object per closed window and a final lesson record.",
    )
    parser.add_argument("source", metavar="SOURCE",
                        help="video file, image, folder, .jsonl scene or .wav (audio only)")
    add_config_argument(parser)
    parser.add_argument("--mode", choices=("classroom", "pe"),
                        help="default: the scene header's mode, else node.mode from the config")
    parser.add_argument("--db", metavar="F", help="SQLite store to write records to (and their outbox)")
    parser.add_argument("--json", action="store_true", help="print one JSON record per line")
    parser.add_argument("--fps", type=float, metavar="R",
                        help="video frames analysed per second (default 2, the camera default; "
                        "0 = every frame); ignored for scene files")
    parser.set_defaults(func=_replay)


def _replay(args: argparse.Namespace) -> int:
    # Imported here so `edge --help` stays fast and never loads the pipeline.
    from edge.lesson.replay import DEFAULT_FPS, replay
    from edge.store import PrivacyViolation, Store, StoreError
    from models.runtime import ModelError
    from sensors.errors import SourceError

    config = config_from_args(args)
    if args.fps is not None and args.fps < 0:
        raise CliError(f"--fps must be >= 0, got {args.fps}", EXIT_USAGE)
    fps = DEFAULT_FPS if args.fps is None else (args.fps or None)
    try:
        store = Store(args.db) if args.db else None
    except StoreError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    emit = _print_record if args.json else None
    try:
        summary = replay(args.source, config, mode=args.mode, store=store, emit=emit, fps=fps)
    except SourceError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except ValidationError as exc:
        raise CliError(f"{args.source}: scene header: {_first_error(exc)}", EXIT_USAGE) from None
    except (ModelError, PrivacyViolation, StoreError) as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    finally:
        if store is not None:
            store.close()
    print(summary.line(), file=sys.stderr)
    return EXIT_OK


def _print_record(record: dict) -> None:
    # Flushed per line so a consumer (or a test killing us) sees every closed window at once.
    print(json.dumps(record, separators=(", ", ": ")), flush=True)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
