"""A synthetic PE lesson with ground truth known by construction (SPEC 5 scene format).

A 20 m x 20 m calibrated field seen in perspective holds free students who stand, walk, run, jump
in place, sit and lie down (through sitting, slowly) on scripted schedules, each on their own loop
so tracks do not cross; one of them falls while running. Near the camera, a sit-up station
(side view, with partial repetitions and shallow downs that must not count) and a rope-skipping
station (front view, with a pause). Heart-rate bands follow each student's activity with a lag;
one band spikes above 200 bpm for 25 s and another briefly loses contact.

Ground truth is computed from the script (activity codes, counts by the test rules, HR readings),
never from the code under test.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensors.samples import HeartRateSample, Person, PoseSample
from tests.pe_bodies import (
    FIELD_IMAGE,
    FIELD_WORLD,
    IDX,
    POSTURE,
    STAND_A,
    local_pose,
    place,
    situp_local,
    to_image,
)

AGE = 12
SIZE = (1920, 1080)
MVPA = {"walking", "very_active"}
ACTIVITY_CODES = ("lying", "sitting", "standing", "walking", "very_active")

# activity -> (SOFIT code, target heart rate)
ACTIVITIES = {
    "standing": ("standing", 105.0),
    "walking": ("walking", 128.0),
    "running": ("very_active", 168.0),
    "jumping": ("very_active", 165.0),
    "sitting": ("sitting", 98.0),
    "lying": ("lying", 92.0),
}
PHASES = [  # (start, end, activity weights) of the free students' schedule
    (0, 30, {"standing": 0.8, "walking": 0.2}),
    (30, 90, {"walking": 0.3, "running": 0.3, "jumping": 0.2, "standing": 0.2}),
    (90, 120, {"sitting": 0.6, "rest_lying": 0.25, "standing": 0.15}),
    (120, 200, {"running": 0.3, "jumping": 0.3, "walking": 0.2, "standing": 0.2}),
    (200, 240, {"walking": 0.4, "standing": 0.35, "sitting": 0.25}),
]


@dataclass
class Student:
    """A scripted student: where they are and what they do, second by second."""

    centre: tuple[float, float]
    schedule: list[tuple[float, float, str]]
    band: str | None = None
    heading: float = 0.0
    travelled: float = 0.0

    def activity(self, t: float) -> str:
        """What the student does at ``t``."""
        for start, end, kind in self.schedule:
            if start <= t < end:
                return kind
        return self.schedule[-1][2]

    def segment_start(self, t: float) -> tuple[float, str | None]:
        """Start of the segment containing ``t`` and the activity before it (None at first)."""
        prev = None
        for start, end, kind in self.schedule:
            if start <= t < end:
                return start, prev
            prev = kind
        return self.schedule[-1][0], None


@dataclass
class PEScene:
    """The generated lesson: header, pose and HR samples, and the ground truth."""

    header: dict
    poses: list[PoseSample] = field(default_factory=list)
    heart: list[HeartRateSample] = field(default_factory=list)
    truth: dict = field(default_factory=dict)
    codes: list[list[str]] = field(default_factory=list)  # the script's code per frame and person

    def samples(self) -> list[PoseSample | HeartRateSample]:
        """All samples in time order (poses before HR at equal times)."""
        merged = [(s.t, 0, i, s) for i, s in enumerate(self.poses)]
        merged += [(s.t, 1, i, s) for i, s in enumerate(self.heart)]
        return [s for *_, s in sorted(merged, key=lambda x: x[:3])]

    def write_jsonl(self, path: Path) -> None:
        """Write the lesson as an ``edge.scene/v1`` file."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(self.header) + "\n")
            for s in self.samples():
                if isinstance(s, PoseSample):
                    row = {
                        "t": s.t,
                        "people": [{"kp": np.round(p.kp, 1).tolist()} for p in s.people],
                    }
                else:
                    row = {"t": s.t, "hr": s.bpm}
                fh.write(json.dumps(row) + "\n")


def _schedule(rng: np.random.Generator) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    for start, end, weights in PHASES:
        t = float(start)
        while t < end:
            seg_end = min(float(end), t + float(rng.uniform(8, 20)))
            kind = str(rng.choice(list(weights), p=list(weights.values())))
            if kind == "rest_lying":  # lie down slowly: sit first, get up through sitting
                out += [
                    (t, t + 4, "sitting"),
                    (t + 4, seg_end - 3, "lying"),
                    (seg_end - 3, seg_end, "sitting"),
                ]
            else:
                out.append((t, seg_end, kind))
            t = seg_end
    return out


def _situp_angles(rng: np.random.Generator, start: float, end: float) -> tuple[list[float], int]:
    """Keyframe trunk angles (one per second) and the number of valid sit-ups among them."""
    angles, valid = [0.0] * int(start), 0
    while len(angles) < end - 1:
        kind = rng.choice(["full", "partial", "shallow"], p=[0.75, 0.15, 0.10])
        if kind == "full":
            angles += [110.0, 0.0]
            valid += 1
        elif kind == "partial":  # never reaches the knees
            angles += [60.0, 0.0]
        else:  # up, back only halfway (shoulders not on the mat), up again: one valid rep
            angles += [110.0, 45.0, 110.0, 0.0]
            valid += 1
    return angles, valid


def make_pe_scene(
    seed: int = 0,
    duration: float = 240.0,
    fps: float = 10.0,
    n_free: int = 16,
    noise_px: float = 0.8,
) -> PEScene:
    """Generate the lesson; see the module docstring for what it contains."""
    rng = np.random.default_rng(seed)
    grid = math.ceil(math.sqrt(n_free))
    students = [
        Student(
            centre=(2.5 + 5 * (i % grid), 6.5 + 4.2 * (i // grid)),
            schedule=_schedule(rng),
            heading=float(rng.uniform(0, 2 * math.pi)),
        )
        for i in range(n_free)
    ]
    faller = students[1]
    faller.schedule = [s for s in faller.schedule if s[1] <= 140] + [
        (140, 150, "running"),
        (150, 156, "lying"),
        (156, 158, "sitting"),
        (158, duration, "standing"),
    ]
    for i, s in enumerate(students[::2]):
        s.band = f"band-{i:02d}"
    situp_start, situp_end = 20.0, 200.0
    angles, valid_situps = _situp_angles(rng, situp_start, situp_end)
    skip_spans, skip_hz = [(30.0, 90.0), (100.0, 160.0)], 2.2
    mat_px, mat_scale = to_image((4.0, 1.2))
    rope_px, rope_scale = to_image((15.0, 1.2))
    header = {
        "format": "edge.scene/v1",
        "mode": "pe",
        "size": list(SIZE),
        "age": AGE,
        "zones": {
            "stations": {
                "mat-1": {
                    "exercise": "situp",
                    "polygon": _box(mat_px, mat_scale, -0.9, 1.2, -0.3, 1.0),
                },
                "rope-1": {
                    "exercise": "rope_skip",
                    "polygon": _box(rope_px, rope_scale, -0.8, 0.8, -0.3, 1.1),
                },
            },
            "floor": {
                "image": [list(p) for p in FIELD_IMAGE],
                "world_m": [list(p) for p in FIELD_WORLD],
            },
        },
    }
    scene = PEScene(header=header)
    codes_per_frame: list[list[str]] = []
    for k in range(int(duration * fps)):
        t = round(k / fps, 3)
        people, codes = [], []
        for s in students:
            kind = s.activity(t)
            speed = {"walking": 1.2, "running": 3.0}.get(kind, 0.0)
            s.travelled += speed / fps
            ang = s.heading + s.travelled / 2.0  # a 2 m radius loop around the student's centre
            foot, scale = to_image(
                (s.centre[0] + 2 * math.cos(ang), s.centre[1] + 2 * math.sin(ang))
            )
            local = local_pose(kind, t)
            start, prev = s.segment_start(t)
            ramp = 0.4 if s is faller and kind == "lying" else 1.0  # the fall takes 0.4 s
            if prev is not None and POSTURE[prev] != POSTURE[kind] and t - start < ramp:
                w = (t - start) / ramp  # people change posture over a second, not in a frame
                local = (1 - w) * local_pose(prev, t) + w * local
            people.append(place(local, foot, scale))
            codes.append(ACTIVITIES[kind][0])
        theta = float(np.interp(t, np.arange(len(angles)), angles)) if t < len(angles) else 0.0
        people.append(place(situp_local(theta), mat_px, mat_scale))
        codes.append("very_active" if situp_start <= t < situp_end else "lying")
        skipping = any(a <= t < b for a, b in skip_spans)
        rope = STAND_A.copy()
        rope[IDX["l_wrist"]], rope[IDX["r_wrist"]] = (0.32, 0.8), (-0.32, 0.8)
        if skipping:
            rope[:, 1] += 0.08 * max(0.0, math.sin(2 * math.pi * skip_hz * t))
        people.append(place(rope, rope_px, rope_scale))
        codes.append("very_active" if skipping else "standing")
        kps = [
            np.column_stack([p + rng.normal(0, noise_px, p.shape), np.full(17, 0.9)])
            for p in people
        ]
        scene.poses.append(PoseSample(t=t, people=[Person(kp=kp) for kp in kps], size=SIZE))
        codes_per_frame.append(codes)
    scene.codes = codes_per_frame
    scene.heart = _heart_rates(students, rng, duration)
    scene.truth = _truth(
        codes_per_frame,
        scene.heart,
        valid_situps,
        sum(int((b - a) * skip_hz) for a, b in skip_spans),
    )
    return scene


def _box(
    px: np.ndarray, scale: float, x0: float, x1: float, y0: float, y1: float
) -> list[list[float]]:
    return [
        [float(px[0] + scale * x), float(px[1] - scale * y)]
        for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    ]


def _heart_rates(
    students: list[Student], rng: np.random.Generator, duration: float
) -> list[HeartRateSample]:
    """1 Hz readings lagging each banded student's activity; one spike, one brief contact loss."""
    banded = [s for s in students if s.band]
    level = {s.band: 100.0 for s in banded}
    spike_band, blip_band = banded[1].band, banded[2].band
    out = []
    for t in range(int(duration)):
        bpm: dict[str, float | None] = {}
        for s in banded:
            target = ACTIVITIES[s.activity(float(t))][1]
            level[s.band] += (target - level[s.band]) * (1 - math.exp(-1 / 15.0))
            value = level[s.band] + rng.normal(0, 2.0)
            if s.band == spike_band and 170 <= t < 195:
                value = 206.0 + rng.normal(0, 1.5)
            bpm[s.band] = None if s.band == blip_band and 100 <= t < 103 else round(value)
        out.append(HeartRateSample(t=float(t), bpm=bpm))
    return out


def _truth(codes: list[list[str]], heart: list[HeartRateSample], situps: int, jumps: int) -> dict:
    arr = np.array(codes)
    mvpa = np.isin(arr, list(MVPA))
    hrmax = 208 - 0.7 * AGE
    readings = np.array([v for s in heart for v in s.bpm.values() if v is not None], dtype=float)
    pct = 100 * readings / hrmax
    per_band: dict[str, list[float]] = {}
    for s in heart:
        for b, v in s.bpm.items():
            if v is not None:
                per_band.setdefault(b, []).append(v)
    return {
        "participants": arr.shape[1],
        "exercise_density_group": float(np.mean(mvpa.sum(axis=1) >= 0.5 * arr.shape[1])),
        "exercise_density_mean": float(mvpa.mean(axis=0).mean()),
        "mvpa_fraction": float(mvpa.mean()),
        "activity": {c: float(np.mean(arr == c)) for c in ACTIVITY_CODES},
        "hr": {
            "mean_bpm": float(readings.mean()),
            "share_140_160": float(np.mean((readings >= 140) & (readings <= 160))),
            "zones": {
                "light": float(np.mean((pct >= 57) & (pct < 64))),
                "moderate": float(np.mean((pct >= 64) & (pct < 77))),
                "vigorous": float(np.mean((pct >= 77) & (pct < 96))),
                "near_max": float(np.mean(pct >= 96)),
            },
            "minutes_ge_120": float(
                np.mean([np.sum(np.array(v) >= 120) / 60 for v in per_band.values()])
            ),
        },
        "reps": {"mat-1": situps, "rope-1": jumps},
        "hr_high_alerts": 1,
        "falls": 1,
    }
