"""Replay a recorded input through the whole pipeline as fast as it can (SPEC 6 `edge replay`).

Video files, images and image folders go through the pose model (:mod:`edge.perception.pipeline`); scene
files (``edge.scene/v1``) already carry people, audio, heart rate and environment samples; WAV
files go through the audio path (:mod:`edge.metrics.audio.source`: VAD and sound level). Every
sample is fed to one :class:`~edge.lesson.session.LessonSession` covering the whole input; each closed
window and the final lesson record go to ``emit`` and, when a store is given, to the store
(record and outbox row in one transaction, so a kill mid-run loses at most the open window).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.config import CameraConfig, EdgeConfig, ZonesConfig
from edge.perception.pipeline import Perception
from edge.lesson.session import LessonSession
from edge.store import Store
from sensors import open_source
from sensors.errors import SourceError
from sensors.samples import Frame, PoseSample
from edge.privacy.records import RecordDict

__all__ = ["DEFAULT_FPS", "ReplaySettings", "ReplaySummary", "replay", "session_settings"]

# Video is sampled at the daemon's default analysis rate, so a replay sees what a live camera would.
DEFAULT_FPS: float = CameraConfig.model_fields["analyse_fps"].default



@dataclass
class ReplaySummary:
    """What a replay did: inputs seen, records written, and where the time went."""

    source: str
    mode: str
    frames: int = 0
    samples: int = 0
    person_frames: int = 0
    windows: int = 0
    lessons: int = 0
    model_s: float = 0.0
    refine_s: float = 0.0  # part of model_s in refinement hooks (PE stations' BlazePose)
    load_s: float = 0.0
    total_s: float = 0.0

    @property
    def outside_model_s(self) -> float:
        """Seconds in everything but the model and its one-off loading (decode, tracking,
        metrics, store, output): the pipeline overhead SPEC 10 bounds."""
        return max(0.0, self.total_s - self.model_s - self.load_s)

    def line(self) -> str:
        """One human-readable line for stderr."""
        text = (f"replay {self.source}: mode {self.mode}, {self.frames} frames, "
                f"{self.samples} samples, {self.person_frames} person-frames, "
                f"{self.windows} windows, {self.lessons} lesson(s) in {self.total_s:.2f} s")
        if self.frames:
            share = self.outside_model_s / self.model_s if self.model_s else 0.0
            text += (f"; model {self.model_s:.2f} s, outside model {self.outside_model_s:.2f} s "
                     f"({share:.0%} of model time), model loading {self.load_s:.2f} s")
        return text


@dataclass(frozen=True)
class ReplaySettings:
    """The session's config, mode and zones after the scene header's overrides."""

    config: EdgeConfig
    mode: str
    zones: ZonesConfig


def session_settings(config: EdgeConfig, header: Any, mode: str | None) -> ReplaySettings:
    """Mode: ``mode`` argument, else the scene header's, else ``config.node.mode``. Zones and age
    from the header replace the config's (the scene was recorded with those calibrations).

    :raises pydantic.ValidationError: when the header's zones or age are invalid.
    """
    config = config.model_copy(deep=True)
    zones = config.zones
    if header is not None:
        if getattr(header, "zones", None):
            zones = ZonesConfig.model_validate(header.zones)
            config.zones = zones
        if getattr(header, "age", None) is not None:
            config.node.age = header.age
    chosen = mode or getattr(header, "mode", None) or config.node.mode
    return ReplaySettings(config=config, mode=chosen, zones=zones)


def replay(
    spec: str,
    config: EdgeConfig,
    *,
    mode: str | None = None,
    store: Store | None = None,
    emit: Callable[[RecordDict], None] | None = None,
    fps: float | None = DEFAULT_FPS,
    perception: Perception | None = None,
) -> ReplaySummary:
    """Run ``spec`` (file, folder or scene) through the pipeline; returns what happened.

    :param mode: ``classroom`` or ``pe``; default from the scene header or the config.
    :param store: where records are written (None = nowhere; replay is a dry run by default).
    :param emit: called with every record after it is stored (e.g. print it as JSON).
    :param fps: rate at which video frames are analysed (None = every frame); scenes ignore it.
    :param perception: the pose step for frames; default the configured model, loaded lazily.
    :raises SourceError: when the input cannot be opened or turns out malformed; records closed
        before a malformed part are stored, and the lesson up to it is closed and stored too.
    """
    started = time.perf_counter()
    summary = ReplaySummary(source=spec, mode=mode or "")

    def output(records: list[RecordDict]) -> None:
        for record in records:
            if store is not None:
                store.write_record(record)
            if emit is not None:
                emit(record)
            if record.get("type") == "window":
                summary.windows += 1
            else:
                summary.lessons += 1

    # A WAV file is a microphone recording: its audio features feed the session like a mic's.
    # (Imported here: the audio path's scipy.signal costs ~30 MB the daemon needs only with audio.)
    from edge.metrics.audio.source import WavFeatureSource, is_audio_file

    source = (WavFeatureSource(spec, config.audio) if is_audio_file(spec)
              else open_source(spec, fps=fps, loop=False))
    with source:
        settings = session_settings(config, getattr(source, "header", None), mode)
        summary.mode = settings.mode
        session = LessonSession(settings.config, settings.mode, settings.zones)
        try:
            for item in source:
                if isinstance(item, Frame):
                    perception = perception or Perception.from_config(settings.config,
                                                                     settings.mode)
                    item = perception.sample(item)
                    summary.frames += 1
                elif isinstance(item, PoseSample):
                    summary.person_frames += len(item.people)
                summary.samples += 1
                output(session.feed(item))
        except SourceError:
            # Keep what the good part of the input produced, then report the bad part.
            output(session.finish())
            raise
        output(session.finish())
    if perception is not None:
        summary.person_frames += perception.stats.person_frames
        summary.model_s = perception.stats.model_s
        summary.refine_s = perception.stats.refine_s
        summary.load_s = perception.stats.load_s
    summary.total_s = time.perf_counter() - started
    return summary
