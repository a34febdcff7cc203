"""Write the PE demo scene (`make demo-pe`): a two-minute synthetic PE lesson (edge.scene/v1).

Ten students on a calibrated 20 m field stand, walk, run, jump and rest; a sit-up mat and a
rope-skipping station near the camera; heart-rate bands on half of them. The lesson comes from
the test generator (tests/pe_scenegen.py, ground truth known by construction), so the demo shows
what the tests check. The file is written at demo time into the state folder, not committed
(about 5 MB of keypoints). Deterministic: the same seed gives the same file.

    python sensors/demo/make_pe_demo_scene.py OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

from tests.pe_scenegen import make_pe_scene  # noqa: E402 (after the path is set)

DURATION_S = 120.0
FPS = 5.0  # enough for the station counters (rope skipping at about 2 Hz)
STUDENTS = 10


def write_pe_demo(path: Path, seed: int = 3) -> Path:
    """Write the scene to ``path`` (its folder is created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    make_pe_scene(seed=seed, duration=DURATION_S, fps=FPS, n_free=STUDENTS).write_jsonl(path)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    print(write_pe_demo(Path(sys.argv[1])))
