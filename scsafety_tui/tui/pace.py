"""Clocks for the status bar and lane headers: elapsed time, ETA, smoothed token rates. No Textual."""

from __future__ import annotations

from scsafety_tui.events import Progress


class RunPace:
    def __init__(self) -> None:
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._base_done: int | None = None
        self._rates: dict[str, tuple[float, int, float]] = {}

    def start(self, now: float) -> None:
        self.started_at, self.ended_at, self._base_done = now, None, None

    def end(self, now: float) -> None:
        self.ended_at = now

    def elapsed(self, now: float) -> float | None:
        return None if self.started_at is None else (self.ended_at or now) - self.started_at

    def eta(self, p: Progress | None, now: float) -> float | None:
        """Remaining time at this run's pace (conversations finished before it started don't count)."""
        if p is None or self.started_at is None or self.ended_at is not None:
            return None
        if self._base_done is None:
            self._base_done = p.done
        elapsed, done = self.elapsed(now), p.done - self._base_done
        return elapsed / done * (p.total - p.done) if elapsed and done > 0 else None

    def rate(self, target: str, tokens: int, now: float) -> float:
        """Tokens per second for one target, smoothed over about two ticks."""
        then, before, rate = self._rates.get(target, (now, tokens, 0.0))
        if now > then:
            rate = 0.5 * rate + 0.5 * (tokens - before) / (now - then)
        self._rates[target] = (now, tokens, rate)
        return rate
