"""Clocks for the status bar and lane headers: elapsed time, ETA, smoothed token rates. No Textual.

Elapsed is active time: it stops while the run is paused, and a second run of the same session (a retry,
a resume) adds to it instead of starting again from zero. `base` is what earlier runs took (the store's
session.active_s), so a session opened later shows its real elapsed time.
"""

from __future__ import annotations

from scsafety_tui.events import Progress


class RunPace:
    def __init__(self, base: float = 0.0) -> None:
        self.base = base
        """Active seconds of the session's earlier runs (ended runs of this screen included)."""
        self.started_at: float | None = None
        """When this screen's current run started (None: no run yet)."""
        self.ended_at: float | None = None
        self._run_active = 0.0
        """Active seconds of the current run before its current segment."""
        self._since: float | None = None
        """Start of the current active segment (None: paused, ended or never started)."""
        self._base_done: int | None = None
        self._rates: dict[str, tuple[float, int, float]] = {}

    def start(self, now: float) -> None:
        if self.started_at is not None and self.ended_at is None:
            self.end(now)  # a run that never said it ended: keep what it took
        self.started_at, self.ended_at, self._base_done = now, None, None
        self._run_active, self._since = 0.0, now

    def pause(self, now: float) -> None:
        if self._since is not None:
            self._run_active += now - self._since
            self._since = None

    def resume(self, now: float) -> None:
        if self.started_at is not None and self.ended_at is None and self._since is None:
            self._since = now

    def end(self, now: float) -> None:
        if self.started_at is None or self.ended_at is not None:
            return
        self.pause(now)
        self.base += self._run_active
        self._run_active, self.ended_at = 0.0, now

    def run_active(self, now: float) -> float:
        """Active seconds of the current run."""
        return self._run_active + (now - self._since if self._since is not None else 0.0)

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None and not self.base:
            return None
        return self.base + (self.run_active(now) if self.ended_at is None else 0.0)

    def eta(self, p: Progress | None, now: float) -> float | None:
        """Remaining time at this run's pace (conversations finished before it started don't count)."""
        if p is None or self.started_at is None or self.ended_at is not None:
            return None
        if self._base_done is None:
            self._base_done = p.done
        active, done = self.run_active(now), p.done - self._base_done
        return active / done * (p.total - p.done) if active and done > 0 else None

    def rate(self, target: str, tokens: int, now: float) -> float:
        """Tokens per second for one target, smoothed over about two ticks."""
        then, before, rate = self._rates.get(target, (now, tokens, 0.0))
        if now > then:
            rate = 0.5 * rate + 0.5 * (tokens - before) / (now - then)
        self._rates[target] = (now, tokens, rate)
        return rate
