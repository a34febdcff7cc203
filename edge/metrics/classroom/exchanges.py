"""Question-answer exchanges and the teacher's wait time (SPEC 4.1), from timed segments.

Definitions (README "Question and answer", glossary ``qa``). Inputs are timed segments only:
teacher speech, and student responses (non-teacher speech, or a student standing up).

* A **teacher turn** is teacher speech with no pause of ``qa_min_pause_s`` or more inside it
  (shorter pauses are breaths, not hand-overs) and no student response starting inside that
  pause. Only turns of at least ``qa_min_turn_s`` can be questions.
* After a turn ends at ``e``, the teacher hands over. The first student response that is under
  way in ``[e, min(next turn, e + qa_answer_within_s))`` answers it: an **exchange**, with wait
  time ``max(0, response start - e)``. Further responses before the teacher speaks again
  (a second student) belong to the same exchange.
* No response, and the teacher speaks again after ``qa_min_pause_s`` to ``qa_answer_within_s``:
  an **unanswered question**, wait time = the pause. A longer silence is task time (seat work),
  not a question, and counts as nothing.
* A student response that answers no turn (it starts while the teacher talks, or after a long
  silence) is **student-initiated** talk.

Wait time is Rowe's "wait time I": the pause after the teacher stops until someone speaks
(a student answering, or the teacher again). Rowe found typical waits near 1 s and better
answers at 3-5 s; ``wait_3s_share`` is the share of questions the teacher waited that long for.

Without audio features that tell questions from statements, every hand-over pause is a
candidate: the counts are of turn-taking, which is what the research on wait time measures.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "WAIT_BIN_NAMES", "QaEvent", "QaRules", "Segment", "find_exchanges", "merge_segments", "qa_metrics",
]

_EPS = 1e-6
# Wait-time histogram bins (seconds): under 1 s, 1-3 s, 3-5 s (Rowe's range), 5 s and more.
# Named counts, not a list: the store refuses numeric series (they could be per-person).
WAIT_BINS = (1.0, 3.0, 5.0)
WAIT_BIN_NAMES = ("under_1s", "1_to_3s", "3_to_5s", "5s_or_more")


@dataclass(frozen=True)
class Segment:
    """A span of time ``[start, end)`` in seconds on the lesson's clock."""

    start: float
    end: float


@dataclass(frozen=True)
class QaRules:
    """The thresholds of the definitions above (``classroom.qa_*`` in the config)."""

    min_pause_s: float = 1.0
    min_turn_s: float = 1.0
    answer_within_s: float = 10.0
    min_answer_s: float = 1.0
    rowe_wait_s: float = 3.0


@dataclass(frozen=True)
class QaEvent:
    """One decided event: ``kind`` is exchange, unanswered or student_initiated; ``at`` is when
    it became known (response start or the teacher resuming); ``wait`` in seconds or None."""

    kind: str
    at: float
    wait: float | None = None


def merge_segments(segments: Iterable[Segment], gap: float) -> list[Segment]:
    """Sorted union of ``segments``, joining those separated by less than ``gap`` seconds."""
    out: list[Segment] = []
    for seg in sorted(segments, key=lambda s: s.start):
        if out and seg.start - out[-1].end < gap - _EPS:
            out[-1] = Segment(out[-1].start, max(out[-1].end, seg.end))
        else:
            out.append(seg)
    return out


def _turns(teacher: list[Segment], onsets: list[float], rules: QaRules) -> list[Segment]:
    """Teacher speech joined over short pauses, except where a student response starts.

    ``onsets`` must be sorted.
    """
    turns: list[Segment] = []
    for seg in merge_segments(teacher, 0.0):
        if turns:
            last = turns[-1]
            gap = seg.start - last.end
            i = bisect_left(onsets, last.end - _EPS)
            interrupted = i < len(onsets) and onsets[i] < seg.start
            if gap < rules.min_pause_s - _EPS and not interrupted:
                turns[-1] = Segment(last.start, max(last.end, seg.end))
                continue
        turns.append(seg)
    return turns


def find_exchanges(
    teacher: Iterable[Segment], responses: Iterable[Segment], rules: QaRules
) -> list[QaEvent]:
    """Exchanges, unanswered questions and student-initiated talk, in time order.

    :param teacher: teacher speech segments.
    :param responses: student responses (non-teacher speech, standing); shorter than
        ``rules.min_answer_s`` they are ignored as noise.
    """
    episodes = [
        r for r in merge_segments(responses, rules.min_pause_s)
        if r.end - r.start >= rules.min_answer_s - _EPS
    ]
    turns = _turns(list(teacher), [r.start for r in episodes], rules)
    claimed: set[int] = set()
    events: list[QaEvent] = []
    for k, turn in enumerate(turns):
        if turn.end - turn.start < rules.min_turn_s - _EPS:
            continue
        e = turn.end
        next_start = turns[k + 1].start if k + 1 < len(turns) else None
        limit = min(next_start if next_start is not None else float("inf"),
                    e + rules.answer_within_s)
        answering = [i for i, r in enumerate(episodes)
                     if i not in claimed and r.end > e + _EPS and r.start < limit - _EPS
                     and r.start >= turn.start - _EPS]
        if answering:
            first = episodes[answering[0]]
            events.append(QaEvent("exchange", max(e, first.start), max(0.0, first.start - e)))
            # the answers given before the teacher speaks again are all part of this exchange
            claimed.update(i for i in answering
                           if next_start is None or episodes[i].start < next_start - _EPS)
        elif next_start is not None and (
            rules.min_pause_s - _EPS <= next_start - e <= rules.answer_within_s + _EPS
        ):
            events.append(QaEvent("unanswered", next_start, next_start - e))
    events += [QaEvent("student_initiated", r.start) for i, r in enumerate(episodes)
               if i not in claimed]
    return sorted(events, key=lambda ev: ev.at)


def qa_metrics(events: list[QaEvent], rules: QaRules, source: str | None) -> dict:
    """The SPEC 5 ``qa`` block of some events.

    ``source`` says how speakers were told apart: ``teacher_channel`` (a teacher microphone) or
    ``room_and_standing`` (one room microphone; speech is a student's while one stands).
    """
    waits = [ev.wait for ev in events if ev.kind != "student_initiated" and ev.wait is not None]
    hist = [0] * (len(WAIT_BINS) + 1)
    for w in waits:
        hist[sum(w >= b - _EPS for b in WAIT_BINS)] += 1
    return {
        "exchanges": sum(ev.kind == "exchange" for ev in events),
        "unanswered": sum(ev.kind == "unanswered" for ev in events),
        "student_initiated": sum(ev.kind == "student_initiated" for ev in events),
        "wait_mean_s": statistics.fmean(waits) if waits else None,
        "wait_median_s": statistics.median(waits) if waits else None,
        "wait_3s_share": sum(w >= rules.rowe_wait_s - _EPS for w in waits) / len(waits)
        if waits else None,
        "wait_hist": dict(zip(WAIT_BIN_NAMES, hist, strict=True)),
        "source": source,
    }
