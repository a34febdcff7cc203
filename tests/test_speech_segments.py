"""Speech segments (models/vad_segments.py) and the speech ratio they give on real recordings.

The real-recording test uses the AMI / pyannote excerpts in ../shared/media/speech (annotated
speech turns in truth.csv); bench/speech_ratio.py prints the same figures per file.
"""

from __future__ import annotations

import csv

import pytest

from edge.config import EdgeConfig
from edge.lesson.replay import replay
from models.vad_segments import SegmentSettings, SpeechSegmenter

CHUNK_S = 0.032
SPEECH_FILES = ("dev00", "dev01", "sample", "trn01", "trn04")


def run(probabilities: list[float], settings: SegmentSettings) -> tuple[list[bool], list]:
    segmenter = SpeechSegmenter(settings, CHUNK_S)
    labels: list[bool] = []
    for p in probabilities:
        labels += segmenter.push(p)
    labels += segmenter.flush()
    return labels, segmenter.take_segments()


NO_PAD = SegmentSettings(threshold=0.5, min_speech_s=0.25, min_silence_s=0.5, pad_s=0.0)


def test_a_pause_shorter_than_min_silence_stays_inside_the_turn():
    talk, pause = [0.9] * 20, [0.05] * 10  # 0.32 s pause < 0.5 s
    labels, segments = run([0.0] * 10 + talk + pause + talk + [0.0] * 30, NO_PAD)
    assert len(labels) == 90
    assert labels[10:60] == [True] * 50 and not any(labels[:10]) and not any(labels[60:])
    assert len(segments) == 1
    assert segments[0].start == pytest.approx(10 * CHUNK_S)
    assert segments[0].end == pytest.approx(60 * CHUNK_S)


def test_a_pause_longer_than_min_silence_splits_turns():
    labels, segments = run([0.9] * 20 + [0.05] * 20 + [0.9] * 20, NO_PAD)
    assert [round(s.start / CHUNK_S) for s in segments] == [0, 40]
    assert sum(labels) == 40


def test_short_bursts_are_dropped_and_hysteresis_keeps_a_turn_going():
    burst = [0.0] * 20 + [0.9] * 5 + [0.0] * 40  # 0.16 s < min_speech 0.25 s
    assert not any(run(burst, NO_PAD)[0])
    # 0.4 is under the start threshold but above threshold - 0.15: the turn goes on
    labels, _ = run([0.9] * 10 + [0.4] * 30 + [0.0] * 30, NO_PAD)
    assert sum(labels) == 40


def test_pads_widen_segments_on_both_sides():
    padded = SegmentSettings(threshold=0.5, min_speech_s=0.25, min_silence_s=0.5, pad_s=0.096)
    labels, segments = run([0.0] * 20 + [0.9] * 20 + [0.0] * 40, padded)
    assert labels.index(True) == 17 and sum(labels) == 26
    assert segments[0].duration == pytest.approx(26 * CHUNK_S)


def test_labels_come_out_in_order_with_bounded_delay():
    segmenter = SpeechSegmenter(SegmentSettings(), CHUNK_S)
    s = SegmentSettings()
    delay = round((max(s.min_speech_s, s.min_silence_s) + s.pad_s) / CHUNK_S) + 1
    released = 0
    for i, p in enumerate(([0.9] * 50 + [0.0] * 50) * 3):  # turns longer than any delay
        released += len(segmenter.push(p))
        assert i + 1 - released <= delay  # live spans are late by seconds, never by a turn


def test_pads_must_fit_in_the_hangover():
    with pytest.raises(ValueError):
        SegmentSettings(min_silence_s=0.3, pad_s=0.2)


def test_wav_spans_carry_the_segments(shared):
    spans = []
    from edge.metrics.audio.source import WavFeatureSource

    with WavFeatureSource(shared("media/speech/dev01.wav"), EdgeConfig().audio) as source:
        spans = list(source)
    segments = [s for span in spans for s in span.segments]
    assert all(span.smoothed for span in spans)
    assert segments and all(s.channel == "room" and s.end > s.start for s in segments)
    # each span's speech share is its overlap with the segments
    total = sum(span.speech * span.duration for span in spans)
    assert total == pytest.approx(sum(s.duration for s in segments), abs=0.05)


def test_speech_ratio_on_real_recordings_within_005(shared):
    with shared("media/speech/truth.csv").open(newline="") as handle:
        truth = {r["uri"]: float(r["speech_ratio"]) for r in csv.DictReader(handle)}
    errors = []
    for uri in SPEECH_FILES:
        lessons: list[dict] = []
        replay(str(shared(f"media/speech/{uri}.wav")), EdgeConfig(), mode="classroom",
               emit=lambda r: lessons.append(r) if r["type"] == "lesson" else None)
        errors.append(abs(lessons[-1]["metrics"]["audio"]["speech_ratio"] - truth[uri]))
    mae = sum(errors) / len(errors)
    print(f"speech_ratio MAE on {len(errors)} real recordings: {mae:.3f}")
    assert mae <= 0.05
