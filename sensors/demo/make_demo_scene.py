"""Write ``classroom_demo.jsonl``: a synthetic two-minute class for `make demo` (edge.scene/v1).

25 students seated in five rows (back row small at the top of the image, front row large at the
bottom) and a teacher walking along the front, seen by a camera above the board; students raise
hands now and then, everyone writes during a quiet-practice stretch, one student answers
standing. Audio follows a teacher/student script with known question-answer exchanges (three
answered after 1.5, 3 and 4 s, one unanswered after 2.5 s, one student remark); a few heart-rate
bands and the room's environment (CO2 rising as the air gets used) are simulated too. The script is periodic, so the
daemon can loop the file without a jump. Deterministic: run it again to reproduce the file.

    python sensors/demo/make_demo_scene.py [OUT]
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

SIZE = (1920, 1080)
DURATION_S = 120.0
PEOPLE_HZ = 2.0
ENV_EVERY_S = 5.0
# One letter per 10 s: T teacher talks, S students talk, Q quiet practice (everyone writing).
AUDIO_SCRIPT = "TTSTQQTSTTST"
# Question and answer (edge/metrics/classroom/exchanges.py): before each S slot's answer the room is
# quiet this long (the teacher's wait time, s); one question nobody answers (the teacher waits,
# then goes on); one student speaking up during quiet practice (student-initiated).
ANSWER_WAITS = {2: 1.5, 7: 3.0, 10: 4.0}
UNANSWERED = (34.0, 36.5)
REMARK = (55.0, 57.0)
STAND = (73.0, 79.0)  # the student who answers standing (slot 7)
ZONES = {
    "teacher": [[0, 930], [1920, 930], [1920, 1080], [0, 1080]],
    "board": [[0, 930], [560, 930], [560, 1080], [0, 1080]],
}
VIS, HIDDEN = 0.85, 0.08
KEYPOINTS = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow",
             "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle",
             "r_ankle")
# Offsets in shoulder widths from the shoulder midpoint (students) or ankle midpoint (teacher).
SEATED = {
    "nose": (0, -1.0, VIS), "l_eye": (0.18, -1.15, VIS), "r_eye": (-0.18, -1.15, VIS),
    "l_ear": (0.35, -1.05, VIS), "r_ear": (-0.35, -1.05, VIS),
    "l_shoulder": (0.5, 0, VIS), "r_shoulder": (-0.5, 0, VIS),
    "l_elbow": (0.7, 0.7, VIS), "r_elbow": (-0.7, 0.7, VIS),
    "l_wrist": (0.45, 1.1, VIS), "r_wrist": (-0.45, 1.1, VIS),
    "l_hip": (0.3, 1.7, HIDDEN), "r_hip": (-0.3, 1.7, HIDDEN),
    "l_knee": (0.35, 2.0, HIDDEN), "r_knee": (-0.35, 2.0, HIDDEN),
    "l_ankle": (0.35, 2.8, HIDDEN), "r_ankle": (-0.35, 2.8, HIDDEN),
}
WRITING = {"nose": (0, -0.4, 0.15), "l_eye": (0.15, -0.5, 0.1), "r_eye": (-0.15, -0.5, 0.1),
           "l_ear": (0.35, -0.6, 0.6), "r_ear": (-0.35, -0.6, 0.6),
           "l_wrist": (0.4, 1.05, VIS), "r_wrist": (-0.2, 1.0, VIS)}
RAISED = {"r_elbow": (-0.7, -0.4, VIS), "r_wrist": (-0.65, -1.5, VIS)}
TEACHER = {
    "nose": (0, -5.2, 0.1), "l_eye": (0.15, -5.3, 0.1), "r_eye": (-0.15, -5.3, 0.1),
    "l_ear": (0.3, -5.1, 0.7), "r_ear": (-0.3, -5.1, 0.7),
    "l_shoulder": (0.5, -4.2, VIS), "r_shoulder": (-0.5, -4.2, VIS),
    "l_elbow": (0.6, -3.4, VIS), "r_elbow": (-0.6, -3.4, VIS),
    "l_wrist": (0.6, -2.7, VIS), "r_wrist": (-0.6, -2.7, VIS),
    "l_hip": (0.3, -2.6, VIS), "r_hip": (-0.3, -2.6, VIS),
    "l_knee": (0.3, -1.3, VIS), "r_knee": (-0.3, -1.3, VIS),
    "l_ankle": (0.3, 0, VIS), "r_ankle": (-0.3, 0, VIS),
}
BANDS = ("band-d3m0", "band-d3m1", "band-d3m2", "band-d3m3", "band-d3m4")


def students(rng: random.Random) -> list[dict]:
    """Seats (anchor, scale) and each student's hand-raise times (start, length)."""
    out = []
    for row in range(5):  # row 0 = back of the room = top of the image, small
        scale = 42.0 + 12.0 * row
        y = 300.0 + 120.0 * row
        for col in range(5):
            x = 360.0 + 300.0 * col + (row % 2) * 40.0
            raises = [(rng.uniform(0, DURATION_S - 5), rng.uniform(1.8, 4.0))
                      for _ in range(rng.choice((0, 1, 1, 2)))]
            out.append({"x": x, "y": y, "scale": scale, "raises": raises})
    return out


def place(template: dict, x: float, y: float, scale: float, rng: random.Random) -> list:
    """Keypoints of one person: template offsets scaled, with detector-like jitter."""
    jitter = 0.03 * scale
    return [[round(x + template[k][0] * scale + rng.gauss(0, jitter), 1),
             round(y + template[k][1] * scale + rng.gauss(0, jitter), 1),
             template[k][2]] for k in KEYPOINTS]


def letter_at(t: float) -> str:
    """The audio script's letter at ``t``, with the answer waits and the two extra moments."""
    slot = int(t // 10) % len(AUDIO_SCRIPT)
    letter = AUDIO_SCRIPT[slot]
    if letter == "S" and t - 10 * slot < ANSWER_WAITS.get(slot, 0.0):
        return "Q"
    if UNANSWERED[0] <= t < UNANSWERED[1]:
        return "Q"
    if REMARK[0] <= t < REMARK[1]:
        return "S"
    return letter


def people_at(t: float, seats: list[dict], rng: random.Random) -> list[dict]:
    letter = AUDIO_SCRIPT[int(t // 10) % len(AUDIO_SCRIPT)]
    out = []
    for i, seat in enumerate(seats):
        pose = dict(SEATED)
        if letter == "Q" and i % 6:  # quiet practice: nearly everyone writes
            pose.update(WRITING)
        if any(start <= t < start + length for start, length in seat["raises"]):
            pose.update(RAISED)
        y = seat["y"]
        if i == 12 and STAND[0] <= t < STAND[1]:  # one student stands up to answer
            y -= 0.9 * seat["scale"]
        out.append({"kp": place(pose, seat["x"], y, seat["scale"], rng)})
    # The teacher walks back and forth along the front; periodic, so the loop has no jump.
    x = 960 + 700 * math.sin(2 * math.pi * t / DURATION_S)
    out.append({"kp": place(TEACHER, x, 1070, 38.0, rng)})
    return out


def audio_at(t: float, rng: random.Random) -> dict:
    letter = letter_at(t)
    speech, teacher, dba = {"T": (0.9, 0.85, 60), "S": (0.8, 0.1, 63), "Q": (0.05, 0.02, 38)}[letter]
    return {"speech": round(min(1, max(0, speech + rng.gauss(0, 0.04))), 3),
            "teacher_speech": round(min(1, max(0, teacher + rng.gauss(0, 0.04))), 3),
            "dba": round(dba + rng.gauss(0, 1.5), 1)}


def env_at(t: float) -> dict:
    # CO2 rises through the lesson and falls back (a window opened): periodic over the file.
    co2 = 900 + 350 * (1 - math.cos(2 * math.pi * t / DURATION_S))
    return {"co2_ppm": round(co2), "temp_c": 24.5, "rh": 46, "lux_desk": 430, "lux_board": 540}


def write_scene(path: Path, seed: int = 7) -> int:
    """Write the scene; returns the number of lines."""
    rng = random.Random(seed)
    seats = students(rng)
    lines = [{"format": "edge.scene/v1", "mode": "classroom", "size": list(SIZE), "age": 12,
              "zones": ZONES}]
    steps = int(DURATION_S * PEOPLE_HZ)
    for step in range(steps):
        t = step / PEOPLE_HZ
        line = {"t": t, "people": people_at(t, seats, rng), "audio": audio_at(t, rng)}
        if step % int(PEOPLE_HZ) == 0:
            line["hr"] = {band: 78 + 4 * i + rng.randint(-3, 3) for i, band in enumerate(BANDS)}
        if step % int(ENV_EVERY_S * PEOPLE_HZ) == 0:
            line["env"] = env_at(t)
        lines.append(line)
    path.write_text("".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines),
                    encoding="utf-8")
    return len(lines)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("classroom_demo.jsonl")
    print(f"{out}: {write_scene(out)} lines")
