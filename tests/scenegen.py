"""Synthetic classroom scenes with ground truth known by construction.

The camera hangs at the front looking at the class: the back row is at the top of the image and
small (about 40 px from head to desk), the front row at the bottom and large, and the teacher
walks in a band at the very bottom (the teacher zone), sometimes writing at the board (its left
part). Each student follows a script cut into slots: hand raises (some with a one-frame dropout
that must count once), flickers shorter than a second that must not count, standing answers,
head-down periods with or without writing. On top: keypoint jitter proportional to size,
randomly missed detections, a faint flickering false person, and a teacher who points upward
(not a student raise). The audio follows an S-T script, one letter per 30 s interval:
T teacher talks, B teacher writes at the board in silence (both code T), S students talk,
Q quiet practice (both code S).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from edge.config import ZonesConfig
from sensors.samples import KP, AudioFeatures, Person, PoseSample, Sample
from sensors.scene import SceneHeader, write_scene

SIZE = (1920, 1080)
ST_INTERVAL = 30.0
# Floor calibration of the teacher band: image quad -> metres.
FLOOR_IMAGE = [[100.0, 1075.0], [1820.0, 1075.0], [1700.0, 985.0], [220.0, 985.0]]
FLOOR_WORLD = [[0.0, 0.0], [8.0, 0.0], [8.0, 1.5], [0.0, 1.5]]
ZONES = {
    "teacher": [[0, 950], [1920, 950], [1920, 1080], [0, 1080]],
    "board": [[0, 950], [600, 950], [600, 1080], [0, 1080]],
    "floor": {"image": FLOOR_IMAGE, "world_m": FLOOR_WORLD},
}
BOARD_SPOT_M = np.array([1.0, 0.8])  # where the teacher writes (inside the board zone)
TEACHER_SPEED = 0.6  # m/s
TEACHER_SCALE = 80.0


def _template(pairs: dict[str, tuple[float, float, float]]) -> np.ndarray:
    """(17, 3) offsets in body scales from an anchor point, with scores."""
    out = np.zeros((17, 3), dtype=np.float32)
    for name, (x, y, score) in pairs.items():
        out[KP[name]] = (x, y, score)
    return out


VIS, HIDDEN = 0.85, 0.08
SEATED = _template(
    {  # anchor: shoulder midpoint; facing the camera (person's left = image right)
        "nose": (0, -1.0, VIS),
        "l_eye": (0.18, -1.15, VIS),
        "r_eye": (-0.18, -1.15, VIS),
        "l_ear": (0.35, -1.05, VIS),
        "r_ear": (-0.35, -1.05, VIS),
        "l_shoulder": (0.5, 0, VIS),
        "r_shoulder": (-0.5, 0, VIS),
        "l_elbow": (0.7, 0.7, VIS),
        "r_elbow": (-0.7, 0.7, VIS),
        "l_wrist": (0.45, 1.1, VIS),
        "r_wrist": (-0.45, 1.1, VIS),
        "l_hip": (0.3, 1.7, HIDDEN),
        "r_hip": (-0.3, 1.7, HIDDEN),
        "l_knee": (0.35, 2.0, HIDDEN),
        "r_knee": (-0.35, 2.0, HIDDEN),
        "l_ankle": (0.35, 2.8, HIDDEN),
        "r_ankle": (-0.35, 2.8, HIDDEN),
    }
)
HEAD_DOWN = {
    "nose": (0, -0.4, 0.15),
    "l_eye": (0.15, -0.5, 0.1),
    "r_eye": (-0.15, -0.5, 0.1),
    "l_ear": (0.35, -0.6, 0.6),
    "r_ear": (-0.35, -0.6, 0.6),
}
WRITING_HANDS = {"l_wrist": (0.4, 1.05, VIS), "r_wrist": (-0.2, 1.0, VIS)}
HANDS_IN_LAP = {"l_wrist": (0.3, 1.5, 0.1), "r_wrist": (-0.3, 1.5, 0.1)}
RAISED_RIGHT = {"r_elbow": (-0.7, -0.4, VIS), "r_wrist": (-0.65, -1.5, VIS)}
TEACHER = _template(
    {  # anchor: ankle midpoint; back to the camera, whole body seen
        "nose": (0, -5.2, 0.1),
        "l_eye": (0.15, -5.3, 0.1),
        "r_eye": (-0.15, -5.3, 0.1),
        "l_ear": (0.3, -5.1, 0.7),
        "r_ear": (-0.3, -5.1, 0.7),
        "l_shoulder": (0.5, -4.2, VIS),
        "r_shoulder": (-0.5, -4.2, VIS),
        "l_elbow": (0.6, -3.4, VIS),
        "r_elbow": (-0.6, -3.4, VIS),
        "l_wrist": (0.6, -2.7, VIS),
        "r_wrist": (-0.6, -2.7, VIS),
        "l_hip": (0.3, -2.6, VIS),
        "r_hip": (-0.3, -2.6, VIS),
        "l_knee": (0.3, -1.3, VIS),
        "r_knee": (-0.3, -1.3, VIS),
        "l_ankle": (0.3, 0, VIS),
        "r_ankle": (-0.3, 0, VIS),
    }
)
TEACHER_ARM_UP = {"r_elbow": (-0.6, -4.9, VIS), "r_wrist": (-0.55, -5.8, VIS)}


def _with(base: np.ndarray, changes: dict[str, tuple[float, float, float]]) -> np.ndarray:
    out = base.copy()
    for name, value in changes.items():
        out[KP[name]] = value
    return out


STUDENT_POSES = {
    "up": SEATED,
    "raise": _with(SEATED, RAISED_RIGHT),
    "writing": _with(_with(SEATED, HEAD_DOWN), WRITING_HANDS),
    "down": _with(_with(SEATED, HEAD_DOWN), HANDS_IN_LAP),
}
TEACHER_POSES = {"walk": TEACHER, "arm_up": _with(TEACHER, TEACHER_ARM_UP)}
# A faint false "person" (a coat on a chair): face and shoulders only, flickering.
FAINT = _with(
    SEATED,
    {n: (0, 0, 0.05) for n in ("l_wrist", "r_wrist", "l_elbow", "r_elbow", "l_ear", "r_ear")},
)


@dataclass
class Truth:
    """What the scene contains, counted while generating it."""

    students: int
    hand_raises: int
    flickers: int
    dropout_raises: int
    stand_events: int
    head_up_rate: float
    writing_rate: float
    st_codes: str
    teacher_distance_m: float
    board_share: float


@dataclass
class Scene:
    samples: list[Sample]
    zones: ZonesConfig
    truth: Truth
    duration: float


@dataclass
class _Seat:
    x: float
    shoulder_y: float
    scale: float
    # Per frame: pose name and rise (body scales the shoulders are lifted: standing).
    pose: list[str]
    rise: np.ndarray


# Share of 20 s slots given to each scripted student activity.
ACTIVITIES = {
    "none": 0.52,
    "raise": 0.08,
    "raise_dropout": 0.03,
    "flicker": 0.04,
    "stand": 0.03,
    "writing": 0.22,
    "down": 0.08,
}


def _script_student(
    rng: np.random.Generator,
    seat: _Seat,
    times: np.ndarray,
    counts: dict,
    weights: dict[str, float],
) -> None:
    """Fill ``seat.pose``/``seat.rise`` slot by slot (20 s slots, one activity each)."""
    slot = 20.0
    names = list(weights)
    p = np.array([weights[n] for n in names])
    for s0 in np.arange(0.0, times[-1] - slot + 1e-9, slot):
        act = names[rng.choice(len(names), p=p / p.sum())]
        if act == "none":
            continue
        duration = {
            "raise": rng.uniform(2, 5),
            "raise_dropout": rng.uniform(3, 5),
            "flicker": rng.uniform(0.3, 0.9),
            "stand": rng.uniform(6, 12),
            "writing": rng.uniform(5, 15),
            "down": rng.uniform(4, 10),
        }[act]
        a = s0 + rng.uniform(1, slot - 3 - duration)
        idx = np.flatnonzero((times >= a) & (times < a + duration))
        if act == "stand":
            ramp = np.clip(np.minimum(times[idx] - a, a + duration - times[idx]) / 1.0, 0, 1)
            seat.rise[idx] = ramp
            counts["stand"] += 1
            continue
        pose = {"raise_dropout": "raise", "flicker": "raise"}.get(act, act)
        for i in idx:
            seat.pose[i] = pose
        if act == "raise_dropout":  # the hand drops for one frame in the middle
            seat.pose[idx[len(idx) // 2]] = "up"
        counts[act] += 1


def _teacher_path(rng: np.random.Generator, times: np.ndarray, script: str):
    """World positions (m), pose per frame and walked distance, following the S-T script."""
    pos = np.array([5.0, 0.8])
    world = np.zeros((len(times), 2))
    poses = ["walk"] * len(times)
    walked = 0.0
    frame_dt = times[1] - times[0]
    for i, t in enumerate(times):
        k = min(int(t // ST_INTERVAL), len(script) - 1)
        a = k * ST_INTERVAL
        nxt = script[k + 1] if k + 1 < len(script) else "T"
        if script[k] == "B" and t < a + 25:
            target, arm = BOARD_SPOT_M, True
        elif nxt == "B" and t >= a + 15:
            target, arm = BOARD_SPOT_M, False
        else:
            # A pseudo-random spot per 10 s, right of the board zone; points upward at a pause.
            seed = int(t // 10)
            spot = np.random.default_rng(seed * 7919 + 13).uniform([3.5, 0.3], [7.5, 1.2])
            target, arm = spot, bool(seed % 3 == 0 and (t % 10) >= 6)
        step = target - pos
        dist = float(np.hypot(*step))
        move = min(dist, TEACHER_SPEED * frame_dt)
        if dist > 0:
            pos = pos + step / dist * move
            walked += move
        world[i] = pos
        at_target = move >= dist - 1e-9
        poses[i] = "arm_up" if arm and at_target else "walk"
    return world, poses, walked


def classroom_scene(
    st_script: str = "TTTSSTTBSSQQTTSSTTTT",
    *,
    fps: float = 2.0,
    rows: int = 5,
    per_row: int = 6,
    miss_p: float = 0.03,
    seed: int = 1,
    teacher: bool = True,
    activities: dict[str, float] | None = None,
) -> Scene:
    """A lesson of ``len(st_script)`` S-T intervals with ``rows x per_row`` students.

    ``activities`` overrides the share of slots per student activity (see ACTIVITIES).
    """
    rng = np.random.default_rng(seed)
    duration = ST_INTERVAL * len(st_script)
    times = np.arange(0.0, duration - 1e-9, 1.0 / fps)
    front, back = 70.0, 15.0
    seats = []
    for r in range(rows):
        frac = r / max(rows - 1, 1)
        scale = front * (back / front) ** frac
        y = 760.0 - 420.0 * (1 - (1 - frac) ** 1.6)
        for j in range(per_row):
            x = 960.0 + (j - (per_row - 1) / 2) * 2.4 * scale
            seats.append(_Seat(x, y, scale, ["up"] * len(times), np.zeros(len(times))))
    counts = {k: 0 for k in ("raise", "raise_dropout", "flicker", "stand", "writing", "down")}
    for seat in seats:
        _script_student(rng, seat, times, counts, activities or ACTIVITIES)

    inverse = cv2.getPerspectiveTransform(np.float32(FLOOR_WORLD), np.float32(FLOOR_IMAGE))
    world, t_poses, walked = _teacher_path(rng, times, st_script)
    feet = cv2.perspectiveTransform(world.reshape(-1, 1, 2), inverse).reshape(-1, 2)
    board_x = max(p[0] for p in ZONES["board"])

    samples: list[Sample] = []
    head_frames = head_up = writing = teacher_frames = at_board = 0
    faint_next = 0
    for i, t in enumerate(times):
        posed = []  # (template, anchor, scale, score)
        for seat in seats:
            if rng.random() < miss_p:
                continue
            pose = seat.pose[i]
            anchor = (seat.x, seat.shoulder_y - seat.rise[i] * seat.scale)
            posed.append((STUDENT_POSES[pose], anchor, seat.scale, 0.8))
            head_frames += 1
            head_up += pose in ("up", "raise")
            writing += pose == "writing"
        if teacher and rng.random() >= miss_p:
            posed.append((TEACHER_POSES[t_poses[i]], feet[i], TEACHER_SCALE, 0.9))
            teacher_frames += 1
            at_board += feet[i][0] <= board_x
        if i >= faint_next and rng.random() < 0.3:  # 1-2 frame bursts, then a pause
            posed.append((FAINT, (1700.0, 480.0), 25.0, float(rng.uniform(0.15, 0.45))))
            faint_next = i + int(rng.integers(1, 3)) + 3
        samples.append(PoseSample(t=float(t), people=_people(rng, posed), size=SIZE))
    samples += _audio(rng, st_script, fps)
    samples.sort(key=lambda s: s.t)
    truth = Truth(
        students=len(seats),
        hand_raises=counts["raise"] + counts["raise_dropout"],
        flickers=counts["flicker"],
        dropout_raises=counts["raise_dropout"],
        stand_events=counts["stand"],
        head_up_rate=head_up / head_frames,
        writing_rate=writing / head_frames,
        st_codes="".join("T" if c in "TB" else "S" for c in st_script),
        teacher_distance_m=walked,
        board_share=at_board / teacher_frames if teacher_frames else 0.0,
    )
    return Scene(
        samples=samples, zones=ZonesConfig.model_validate(ZONES), truth=truth, duration=duration
    )


def _people(rng: np.random.Generator, posed: list) -> list[Person]:
    """Place templates and add jitter proportional to each person's size (all at once)."""
    if not posed:
        return []
    kp = np.stack([tpl for tpl, _, _, _ in posed]).astype(np.float32)
    scale = np.array([s for _, _, s, _ in posed], dtype=np.float32)[:, None, None]
    anchor = np.array([a for _, a, _, _ in posed], dtype=np.float32)[:, None, :]
    kp[:, :, :2] = kp[:, :, :2] * scale + anchor
    kp[:, :, :2] += rng.normal(0.0, 1.0, size=(len(posed), 17, 2)) * (0.03 * scale + 0.3)
    kp[:, :, 2] = np.clip(kp[:, :, 2] + rng.normal(0, 0.03, (len(posed), 17)), 0, 1)
    return [Person(kp=k, score=sc) for k, (_, _, _, sc) in zip(kp, posed)]


def _audio(rng: np.random.Generator, script: str, rate: float) -> list[AudioFeatures]:
    """Audio features every 1/rate s, offset from the frames, following the S-T script."""
    out = []
    step = 1.0 / rate
    for k, code in enumerate(script):
        for t in np.arange(k * ST_INTERVAL + step / 2, (k + 1) * ST_INTERVAL, step):
            if code == "T":
                talk = rng.random() < 0.8
                speech, teacher, dba = (0.9 if talk else 0.2), (0.9 if talk else 0.1), 60.0
            elif code == "S":
                speech, teacher, dba = (
                    (0.85 if rng.random() < 0.8 else 0.2),
                    (0.8 if rng.random() < 0.1 else 0.05),
                    62.0,
                )
            else:  # Q or B: quiet room
                speech, teacher, dba = 0.1, 0.02, 36.0
            out.append(
                AudioFeatures(
                    t=float(t),
                    speech=speech,
                    teacher_speech=teacher,
                    dba=dba + float(rng.normal(0, 1.5)),
                    duration=step,
                )
            )
    return out


def write_scene_file(path: Path, scene: Scene) -> int:
    """Write ``scene`` as an ``edge.scene/v1`` file (zones in the header); returns sample lines."""
    header = SceneHeader(mode="classroom", size=SIZE, age=12, zones=ZONES)
    return write_scene(path, header, scene.samples)


# The S-T script a long lesson repeats (one letter per 30 s interval).
LONG_SCRIPT = "TTTSSTTBSSQQTTSSTTTT"


def long_classroom_samples(seconds: float, *, fps: float = 2.0, rows: int = 3, per_row: int = 4,
                           seed: int = 1) -> Iterator[Sample]:
    """Samples of a lesson of any length, generated a :data:`LONG_SCRIPT` chunk at a time (so
    an hour-long scene costs one chunk of memory). Each chunk is a :func:`classroom_scene` with
    its own seed, shifted in time; the lesson's last sample is its last frame, at
    ``seconds - 1/fps``, so a replay ends at exactly ``seconds``.
    """
    last_frame = (round(seconds * fps) - 1) / fps
    offset, chunk = 0.0, 0
    while offset <= last_frame:
        intervals = min(len(LONG_SCRIPT), int(np.ceil((seconds - offset) / ST_INTERVAL)))
        scene = classroom_scene(LONG_SCRIPT[:max(intervals, 2)], fps=fps, rows=rows,
                                per_row=per_row, seed=seed + chunk)
        for sample in scene.samples:
            t = sample.t + offset
            if t > last_frame + 1e-9:
                break
            # No audio between the last two frames: a session ends one frame interval after
            # its last sample and measures that interval from the sample before it.
            if isinstance(sample, AudioFeatures) and t > last_frame - 1.0 / fps:
                continue
            yield replace(sample, t=round(t, 6))
        offset += scene.duration
        chunk += 1


def write_classroom_scene(path: Path, seconds: float, **kw) -> Path:
    """Write :func:`long_classroom_samples` (``kw`` are its options) as an ``edge.scene/v1``
    file with the zones in the header; returns ``path``."""
    header = SceneHeader(mode="classroom", size=SIZE, age=12, zones=ZONES)
    write_scene(path, header, long_classroom_samples(seconds, **kw))
    return path
