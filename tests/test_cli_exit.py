"""The `edge` process exits with its own code even while a model run outlives the shutdown."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A daemon thread inside an onnxruntime run when the process ends: what a stopping daemon
# leaves behind when a frame's inference outlasts its join timeout on a loaded machine.
PROBE = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    from models.pose import PoseEstimator, PoseOptions
    from models.runtime import SessionOptions
    estimator = PoseEstimator(PoseOptions(), SessionOptions(intra_op_threads=2))
    frame = np.zeros((720, 1280, 3), np.uint8)
    busy = threading.Event()
    def analyse():
        while True:
            busy.set()
            estimator.detect(frame)
    threading.Thread(target=analyse, daemon=True).start()
    busy.wait(60)
    time.sleep(0.5)
    from edge.cli.main import exit_process
    exit_process(int(sys.argv[1]))
""")


def test_exit_code_survives_a_model_run_still_in_progress():
    # Before exit_process, interpreter teardown under the running session aborted the process
    # (SIGABRT, "terminate called without an active exception") instead of exiting 0.
    for code in (0, 3):
        result = subprocess.run([sys.executable, "-c", PROBE, str(code)], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == code, result.stderr[-500:]
        assert "terminate called" not in result.stderr
