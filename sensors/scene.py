"""Reader and writer for ``edge.scene/v1`` JSON Lines (SPEC 5): synthetic or recorded features.

Line 1 is a header (format, mode, size, age, optional zones); every later line has a time ``t``
(seconds, never decreasing) and one or more of ``people``, ``audio``, ``hr``, ``env``. The
reader streams the file and yields one typed sample per record kind, in that order. Every
defect is a SourceError ``"FILE:LINE: message"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sensors.errors import SourceError
from sensors.samples import (
    KEYPOINTS,
    MAX_TIME,
    AudioFeatures,
    EnvironmentSample,
    HeartRateSample,
    Person,
    PoseSample,
    Sample,
)
from sensors.const import MODES, QUANTITIES
from sensors.source import Source
from sensors.untrusted_json import UntrustedJson, loads_bounded

SCENE_FORMAT = "edge.scene/v1"
# 40 people x 17 keypoints is ~25 KB per line; a line this long is not a scene.
MAX_LINE_BYTES = 4 * 1024 * 1024
SCENE_SUFFIXES: frozenset[str] = frozenset({".jsonl", ".scene"})
ENV_KEYS: frozenset[str] = frozenset(QUANTITIES)
_HEADER_KEYS = frozenset({"format", "mode", "size", "age", "zones"})
_RECORD_KEYS = ("people", "audio", "hr", "env")


class _Invalid(ValueError):
    """A defect in one line; the reader adds file and line number."""


@dataclass(frozen=True)
class SceneHeader:
    """First line of a scene: ``size`` is (width, height) of the image the keypoints refer to."""

    mode: str
    size: tuple[int, int]
    age: float | None = None
    zones: dict[str, Any] | None = None
    format: str = SCENE_FORMAT


class SceneSource(Source[Sample]):
    """Typed samples of a scene file; the header is parsed (and checked) on construction.

    :raises SourceError: missing file, bad header, or (while iterating) a malformed line
    """

    kind = "scene"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _NumberedLines(self.path) as lines:
            first = next(lines, None)
        if first is None:
            raise SourceError(self.path, "empty file (expected an edge.scene/v1 header line)")
        self.header = self._parse(parse_header, first[1], first[0])

    def describe(self) -> dict[str, Any]:
        """Kind, file name, mode, size, age and whether zones are given."""
        return {
            "kind": self.kind,
            "source": self.path.name,
            "mode": self.header.mode,
            "size": list(self.header.size),
            "age": self.header.age,
            "zones": self.header.zones is not None,
            "fps": None,
            "frames": None,
        }

    def __iter__(self) -> Iterator[Sample]:
        """Yield samples line by line (people, audio, hr, env of one line in that order)."""
        last_t = -math.inf
        with _NumberedLines(self.path) as lines:
            next(lines, None)  # header, already parsed
            for number, text in lines:
                samples = self._parse(parse_record, text, number, self.header.size)
                t = samples[0].t  # every line yields at least one sample, all at its t
                if t < last_t:
                    raise SourceError(
                        self.path, f"t={t} goes back in time (previous {last_t})", number
                    )
                last_t = t
                yield from samples

    def _parse(self, parser: Callable[..., Any], text: str, number: int, *args: Any) -> Any:
        """Run ``parser`` on one line's JSON, turning any defect into ``FILE:LINE: message``."""
        try:
            data = loads_bounded(text, max_bytes=MAX_LINE_BYTES, object_only=False)
        except UntrustedJson as error:  # malformed, too deep (RecursionError) or too long
            raise SourceError(self.path, str(error), number) from None
        try:
            return parser(data, *args)
        except _Invalid as error:
            raise SourceError(self.path, str(error), number) from None


class _NumberedLines:
    """Context manager yielding (line number, text) of non-blank lines, with clean I/O errors."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._file = path.open(encoding="utf-8-sig")  # tolerate a BOM from editors
        except FileNotFoundError:
            raise SourceError(path, "no such file") from None
        except OSError as error:
            raise SourceError(path, f"cannot read ({error.strerror or error})") from None

    def __enter__(self) -> Iterator[tuple[int, str]]:
        return self._numbered()

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def _numbered(self) -> Iterator[tuple[int, str]]:
        number = 0
        try:
            for number, text in enumerate(self._file, start=1):
                if text.strip():
                    yield number, text
        except UnicodeDecodeError:
            raise SourceError(self.path, "not UTF-8 text", number + 1) from None
        except OSError as error:
            raise SourceError(self.path, f"cannot read ({error.strerror or error})") from None


def parse_header(data: Any) -> SceneHeader:
    """Check and convert the header object; raise _Invalid naming the problem."""
    if not isinstance(data, dict) or data.get("format") != SCENE_FORMAT:
        raise _Invalid(f'first line must be the header {{"format": "{SCENE_FORMAT}", ...}}')
    _reject_unknown(data, _HEADER_KEYS, "header")
    mode = data.get("mode")
    if mode not in MODES:
        raise _Invalid(f"header mode must be one of {', '.join(MODES)}, got {mode!r}")
    size = data.get("size")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise _Invalid(f"header size must be [width, height] in positive pixels, got {size!r}")
    age = data.get("age")
    if age is not None:
        age = _number(age, "header age")
    zones = data.get("zones")
    if zones is not None and not isinstance(zones, dict):
        raise _Invalid("header zones must be an object")
    return SceneHeader(mode=mode, size=(size[0], size[1]), age=age, zones=zones)


def parse_record(data: Any, size: tuple[int, int]) -> list[Sample]:
    """Samples of one data line (people, audio, hr, env in that order); raise _Invalid."""
    if not isinstance(data, dict):
        raise _Invalid("each line must be a JSON object")
    _reject_unknown(data, {"t", *_RECORD_KEYS}, "line")
    if "t" not in data:
        raise _Invalid("missing t")
    t = _number(data["t"], "t")
    if abs(t) > MAX_TIME:
        raise _Invalid(f"t must lie within {MAX_TIME:g} s of 0, got {t:g}")
    if not any(key in data for key in _RECORD_KEYS):
        raise _Invalid(f"line carries none of {', '.join(_RECORD_KEYS)}")
    samples: list[Sample] = []
    if "people" in data:
        samples.append(PoseSample(t, _people(data["people"]), size))
    if "audio" in data:
        samples.append(_audio(t, data["audio"]))
    if "hr" in data:
        samples.append(_heart_rate(t, data["hr"]))
    if "env" in data:
        samples.append(_environment(t, data["env"]))
    return samples


def _people(value: Any) -> list[Person]:
    """People of one line. All keypoints are converted and checked in one array (the common,
    valid case); only when that check fails is each person examined to name the bad one."""
    if not isinstance(value, list):
        raise _Invalid("people must be a list")
    if not value:
        return []
    try:
        kp = np.array([item["kp"] for item in value], dtype=np.float64)
        valid = kp.shape == (len(value), len(KEYPOINTS), 3) and _valid_keypoints(kp)
    except (TypeError, ValueError, KeyError):
        valid = False
    if not valid:
        for number, item in enumerate(value, start=1):
            _person_keypoints(item, number)  # raises for the first bad person
        raise _Invalid("people: malformed keypoints")  # safety net: the loop above names the person
    return [
        Person(kp=kp[i], score=_person_score(item, kp[i], i + 1)) for i, item in enumerate(value)
    ]


def _person_keypoints(item: Any, number: int) -> np.ndarray:
    """Keypoints of one person as (17, 3) float64; raise _Invalid naming the person."""
    where = f"person {number}"
    if not isinstance(item, dict) or "kp" not in item:
        raise _Invalid(f'{where}: expected {{"kp": [[x, y, score] x {len(KEYPOINTS)}]}}')
    kp_list = item["kp"]
    if not isinstance(kp_list, list) or len(kp_list) != len(KEYPOINTS):
        count = len(kp_list) if isinstance(kp_list, list) else "no"
        raise _Invalid(f"{where}: kp has {count} entries, expected {len(KEYPOINTS)}")
    try:
        kp = np.array(kp_list, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Invalid(f"{where}: kp entries must be [x, y, score] numbers") from None
    if kp.shape != (len(KEYPOINTS), 3) or not _valid_keypoints(kp):
        raise _Invalid(f"{where}: kp entries must be [x, y, score], finite, scores in 0..1")
    return kp


def _valid_keypoints(kp: np.ndarray) -> bool:
    """Finite coordinates and scores within 0..1 (last axis is x, y, score)."""
    scores = kp[..., 2]
    return bool(np.isfinite(kp).all() and scores.min() >= 0 and scores.max() <= 1)


def _person_score(item: dict[str, Any], kp: np.ndarray, number: int) -> float:
    """The explicit person score, or the mean keypoint score when none is given."""
    where = f"person {number}"
    _reject_unknown(item, {"kp", "score"}, where)  # people carry no ids (SPEC 5)
    if "score" in item:
        return _fraction(item["score"], f"{where} score")
    return float(kp[:, 2].mean())


def _audio(t: float, value: Any) -> AudioFeatures:
    if not isinstance(value, dict) or "speech" not in value:
        raise _Invalid('audio must be {"speech": p, "teacher_speech": p, "dba": level}')
    _reject_unknown(value, {"speech", "teacher_speech", "dba", "duration"}, "audio")
    teacher = value.get("teacher_speech")
    dba = value.get("dba")
    duration = value.get("duration", AudioFeatures.duration)
    return AudioFeatures(
        t=t,
        speech=_fraction(value["speech"], "audio speech"),
        teacher_speech=None if teacher is None else _fraction(teacher, "audio teacher_speech"),
        dba=None if dba is None else _number(dba, "audio dba"),
        duration=_duration(duration),
    )


# An audio feature covers one analysis step (0.5 s by default); a minute is already absurd,
# and 1e12 s would make every window's speech share meaningless.
MAX_AUDIO_DURATION_S = 60.0


def _duration(value: Any) -> float:
    number = _number(value, "audio duration")
    if not 0.0 < number <= MAX_AUDIO_DURATION_S:
        raise _Invalid(f"audio duration must lie in (0, {MAX_AUDIO_DURATION_S:g}] seconds, "
                       f"got {number:g}")
    return number


def _heart_rate(t: float, value: Any) -> HeartRateSample:
    if not isinstance(value, dict):
        raise _Invalid('hr must be {"band-id": bpm or null, ...}')
    return HeartRateSample(
        t,
        {
            str(band): None if bpm is None else _number(bpm, f"hr {band}")
            for band, bpm in value.items()
        },
    )


def _environment(t: float, value: Any) -> EnvironmentSample:
    if not isinstance(value, dict):
        raise _Invalid("env must be an object of readings")
    _reject_unknown(value, ENV_KEYS, "env")
    # null = no reading this time, the same as leaving the key out
    return EnvironmentSample(
        t,
        {
            key: _number(reading, f"env {key}")
            for key, reading in value.items()
            if reading is not None
        },
    )


def _reject_unknown(data: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _Invalid(
            f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _fraction(value: Any, what: str) -> float:
    number = _number(value, what)
    if not 0.0 <= number <= 1.0:
        raise _Invalid(f"{what} must lie in 0..1, got {number}")
    return number


def write_scene(path: str | Path, header: SceneHeader, records: Iterable[Sample]) -> int:
    """Write a scene file (header, then one line per sample) for tests and generators.

    Only synthetic features are written, never images. Pixels are rounded to 0.01 and scores
    to 0.001, which keeps files small and reads back within that precision.

    :returns: number of sample lines written
    """
    count = 0
    with Path(path).open("w", encoding="utf-8") as file:
        file.write(_dumps(_header_object(header)))
        for sample in records:
            file.write(_dumps(_record_object(sample)))
            count += 1
    return count


def _header_object(header: SceneHeader) -> dict[str, Any]:
    data: dict[str, Any] = {"format": header.format, "mode": header.mode, "size": list(header.size)}
    if header.age is not None:
        data["age"] = header.age
    if header.zones is not None:
        data["zones"] = header.zones
    return data


def _record_object(sample: Sample) -> dict[str, Any]:
    if isinstance(sample, PoseSample):
        return {"t": sample.t, "people": [_person_object(person) for person in sample.people]}
    if isinstance(sample, AudioFeatures):
        audio = {
            "speech": sample.speech,
            "teacher_speech": sample.teacher_speech,
            "dba": sample.dba,
        }
        if sample.duration != AudioFeatures.duration:
            audio["duration"] = sample.duration
        return {"t": sample.t, "audio": {k: v for k, v in audio.items() if v is not None}}
    if isinstance(sample, HeartRateSample):
        return {"t": sample.t, "hr": dict(sample.bpm)}
    if isinstance(sample, EnvironmentSample):
        return {"t": sample.t, "env": dict(sample.values)}
    raise TypeError(f"not a scene sample: {type(sample).__name__}")


def _person_object(person: Person) -> dict[str, Any]:
    kp = np.asarray(person.kp, dtype=np.float64)
    rounded = np.column_stack([kp[:, :2].round(2), kp[:, 2].round(3)])
    return {"kp": rounded.tolist(), "score": round(float(person.score), 3)}


def _dumps(data: dict[str, Any]) -> str:
    # allow_nan=False: NaN is not JSON and the reader would reject the file
    return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"
