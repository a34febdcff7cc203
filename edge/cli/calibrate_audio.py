"""`edge calibrate audio [--file WAV] [--seconds S] [--reference-dba X] [--json]`.

Listens to the configured microphone (or reads a WAV file) and reports what a technician needs
to set the input gain and ``audio.dba_offset``: peak and A-weighted levels, the share of clipped
samples, and the share of 32 ms chunks the VAD hears as speech (talk during the test: it should
be well above zero; stay silent: near zero). Nothing is recorded; samples stay in memory.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    add_config_argument,
    config_from_args,
)

CLIP_LEVEL = 0.999  # |sample| at or above this is clipped (full scale is 1.0)
CLIP_WARN_SHARE = 0.001
QUIET_DBFS = -60.0  # A-weighted level below which the microphone is probably muted or unplugged


@dataclass
class AudioCheck:
    """Measured facts of a calibration run (levels in dBFS: a full-scale sine is 0 dBFS)."""

    seconds: float
    peak_dbfs: float
    level_dbfs_a: float
    level_dba: float
    dba_offset: float
    clipped_share: float
    speech_share: float
    teacher_speech_share: float | None
    suggested_dba_offset: float | None
    warnings: list[str]


def measure(chunks: Iterable, offset: float, vad_threshold: float, teacher: bool,
            reference_dba: float | None = None) -> AudioCheck:
    """Levels, clipping and VAD speech share over a chunk stream (room channel for levels)."""
    # Imported here so `edge --help` never loads numpy filters or the model runtime.
    from edge.metrics.audio.features import AWeightedLevel, power_to_dbfs
    from models.vad import SileroVad, create_vad_session
    from sensors.audio import CHUNK, RATE

    session = create_vad_session()
    room_vad, teacher_vad = SileroVad(session), SileroVad(session) if teacher else None
    level = AWeightedLevel()
    n = clipped = speech = talk = 0
    peak = power = 0.0
    for chunk in chunks:
        n += 1
        peak = max(peak, float(np.max(np.abs(chunk.room))))
        clipped += int(np.count_nonzero(np.abs(chunk.room) >= CLIP_LEVEL))
        power += level.power(chunk.room)
        speech += room_vad.probability(chunk.room) > vad_threshold
        if teacher_vad is not None and chunk.teacher is not None:
            talk += teacher_vad.probability(chunk.teacher) > vad_threshold
    if n == 0:
        raise CliError("no audio received", EXIT_FAILURE)
    dbfs_a = power_to_dbfs(power / n)
    warnings = []
    clipped_share = clipped / (n * CHUNK)
    if clipped_share > CLIP_WARN_SHARE:
        warnings.append(f"{clipped_share:.2%} of samples clipped: lower the input gain")
    if dbfs_a < QUIET_DBFS:
        warnings.append("very low level: is the microphone muted, unplugged or the gain at zero?")
    if speech == 0:
        warnings.append("no speech heard: talk during the test to check speech detection")
    return AudioCheck(
        seconds=round(n * CHUNK / RATE, 2), peak_dbfs=round(20 * np.log10(max(peak, 1e-9)), 1),
        level_dbfs_a=round(dbfs_a, 1), level_dba=round(dbfs_a + offset, 1), dba_offset=offset,
        clipped_share=round(clipped_share, 5), speech_share=round(speech / n, 3),
        teacher_speech_share=round(talk / n, 3) if teacher else None,
        suggested_dba_offset=None if reference_dba is None else round(reference_dba - dbfs_a, 1),
        warnings=warnings,
    )


def register_verb(verbs: argparse._SubParsersAction) -> None:
    """Add `edge calibrate audio`."""
    parser = verbs.add_parser(
        "audio", help="level, clipping and speech-detection check of the microphone",
        description="Listens for --seconds (default 10) to the configured audio device, or reads "
        "--file, and prints levels, clipping and VAD speech share. With --reference-dba (the "
        "reading of a sound level meter beside the mic) it prints the dba_offset to configure.",
    )
    add_config_argument(parser)
    parser.add_argument("--file", metavar="WAV", help="check a WAV file instead of live input")
    parser.add_argument("--seconds", type=float, default=10.0, help="live listening time")
    parser.add_argument("--device", help="audio device (default: audio.source from the config)")
    parser.add_argument("--reference-dba", type=float, metavar="X",
                        help="sound level meter reading during the test, in dBA")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(func=_calibrate_audio)


def _calibrate_audio(args: argparse.Namespace) -> int:
    from models.runtime import ModelError
    from sensors.audio import WavAudioSource
    from sensors.errors import SourceError
    from sensors.microphone import Microphone

    cfg = config_from_args(args).audio
    if not 0 < args.seconds <= 600:
        raise CliError(f"--seconds must be in (0, 600], got {args.seconds:g}", EXIT_USAGE)
    teacher = cfg.teacher_channel is not None
    try:
        if args.file:
            check = measure(WavAudioSource(args.file, cfg.teacher_channel), cfg.dba_offset,
                            cfg.vad_threshold, teacher, args.reference_dba)
        else:
            with Microphone(args.device or cfg.source, cfg.teacher_channel) as mic:
                check = measure(mic.chunks(args.seconds), cfg.dba_offset, cfg.vad_threshold,
                                teacher, args.reference_dba)
    except SourceError as exc:
        raise CliError(str(exc), EXIT_USAGE if args.file else EXIT_FAILURE) from None
    except ModelError as exc:
        raise CliError(str(exc), EXIT_FAILURE) from None
    if args.json:
        print(json.dumps(asdict(check)))
        return EXIT_OK
    print(f"audio: {check.seconds:g} s from {args.file or args.device or cfg.source}")
    print(f"  peak            {check.peak_dbfs:7.1f} dBFS")
    print(f"  level (A)       {check.level_dbfs_a:7.1f} dBFS  = {check.level_dba:.1f} dBA "
          f"with dba_offset {check.dba_offset:g}")
    print(f"  clipped         {check.clipped_share:8.3%}")
    print(f"  speech (VAD)    {check.speech_share:8.1%} of 32 ms chunks")
    if check.teacher_speech_share is not None:
        print(f"  teacher speech  {check.teacher_speech_share:8.1%} (channel {cfg.teacher_channel})")
    if check.suggested_dba_offset is not None:
        print(f"  set audio.dba_offset = {check.suggested_dba_offset:g}")
    for warning in check.warnings:
        print(f"  warning: {warning}")
    return EXIT_OK
