"""Re-find people on the floor top-down, so a fall outside a station is seen as lying.

The bottom-up overview model is trained on upright people: someone who has fallen comes out as
a fragment (a few joints, no torso), so their posture is unknown and no fall can be raised. This
perception hook (PE lessons) re-estimates up to ``pe.floor_search_max`` such fragments per frame
with BlazePose (:meth:`models.blazepose.BlazePoseRefiner.search`: a wide crop tried upright and
at both quarter turns) and replaces a fragment only when the top-down pose has a torso. People
whose torso is seen (most of a class, and station occupants already refined) are left alone, so
the cost is paid only where it matters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from sensors.samples import Frame, Person

from edge.metrics.pe.body import body_of

__all__ = ["FloorSearcher", "floor_search_hook"]


class FloorSearcher(Protocol):
    """What the hook needs of a top-down pose model (models.blazepose.BlazePoseRefiner)."""

    def search(self, image_bgr: np.ndarray, keypoints: np.ndarray) -> Person | None: ...


def floor_search_hook(
    searcher: FloorSearcher, max_per_frame: int
) -> Callable[[Frame, list[Person]], list[Person]]:
    """A perception hook (edge.perception.RefineHook) re-finding up to ``max_per_frame``
    torso-less people of each frame, surest fragments first."""

    def hook(frame: Frame, people: list[Person]) -> list[Person]:
        fragments = [i for i, p in enumerate(people) if body_of(p.kp).torso is None]
        fragments.sort(key=lambda i: -people[i].score)
        out = list(people)
        for i in fragments[:max_per_frame]:
            found = searcher.search(frame.image, people[i].kp)
            if found is not None and body_of(found.kp).torso is not None:
                out[i] = found
        return out

    return hook
