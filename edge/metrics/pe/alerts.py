"""Identity-free alert episodes: "N students above 96% HRmax for 20 s", once per episode.

A member (a heart-rate band, in memory only) is *on* once its condition has held for
``sustain_s``. An episode opens when the first member is on and closes when none has been on for
``gap_s``; it reports its start (when the first member's condition began), its duration and how
many distinct members took part. Members never leave this module.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EpisodeTracker"]


class EpisodeTracker:
    """Tracks episodes of one alert kind; feed :meth:`update` at every sample time."""

    def __init__(self, kind: str, sustain_s: float, gap_s: float) -> None:
        self.kind = kind
        self.sustain_s = sustain_s
        self.gap_s = gap_s
        self._since: dict[str, float] = {}
        self._open: dict[str, Any] | None = None
        self._members: set[str] = set()
        self._episodes: list[dict[str, Any]] = []
        self._emitted = 0

    def update(self, t: float, members: dict[str, bool]) -> None:
        """Condition of each member reported at ``t`` (members not listed keep their state)."""
        for member, cond in members.items():
            if cond:
                self._since.setdefault(member, t)
            else:
                self._since.pop(member, None)
        on = {m for m, since in self._since.items() if t - since >= self.sustain_s}
        if on:
            if self._open is None:
                start = min(self._since[m] for m in on)
                self._open = {
                    "kind": self.kind,
                    "start": round(start, 2),
                    "duration": 0.0,
                    "count": 0,
                    "_last": t,
                }
                self._episodes.append(self._open)
                self._members = set()
            self._members |= on
            self._open["_last"] = t
            self._open["count"] = len(self._members)
            self._open["duration"] = round(t - self._open["start"], 2)
        elif self._open is not None and t - self._open["_last"] > self.gap_s:
            self._close()

    def _close(self) -> None:
        self._open = None
        self._members = set()

    def new_alerts(self) -> list[dict[str, Any]]:
        """Episodes opened since the last call (each reported once), with duration so far."""
        fresh = self._episodes[self._emitted :]
        self._emitted = len(self._episodes)
        return [_public(e) for e in fresh]

    def all_alerts(self) -> list[dict[str, Any]]:
        """Every episode of the lesson with its duration so far."""
        return [_public(e) for e in self._episodes]


def _public(episode: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in episode.items() if not k.startswith("_")}
