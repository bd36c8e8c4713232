"""Live meters per target: tokens in/out, time to first token, answer latency (p50), retries. No Textual.

Fed from engine events (live and replay alike; times are the events' own `t`, so a replay's meters are the
original run's scaled by its speed) and seeded from the store for answers finished before this screen
opened. A cost figure per target has its place here (`cost`), drawn after the retries when set.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from scsafety_tui.events import TurnCompleted, TurnFailed, TurnRetrying, TurnStarted
from scsafety_tui.store.queries import AnswerTiming
from scsafety_tui.store.usage import TargetUsage

TurnKey = tuple[str, str, int]  # (item id, target, round)


@dataclass
class TargetMeter:
    tokens_in: int = 0
    tokens_out: int = 0
    streaming: int = 0
    """Deltas of answers still streaming (counted as tokens until the answer's usage arrives)."""
    ttft: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    retries: int = 0
    cost: str = ""
    """Where a cost figure goes (e.g. "$0.12"): drawn after the retries when set."""

    @property
    def out(self) -> int:
        return self.tokens_out + self.streaming

    @property
    def ttft_p50(self) -> float | None:
        return statistics.median(self.ttft) if self.ttft else None

    @property
    def latency_p50(self) -> float | None:
        return statistics.median(self.latency) if self.latency else None


class Meters:
    def __init__(self, targets: Iterable[str]) -> None:
        self.by_target = {t: TargetMeter() for t in targets}
        self._started: dict[TurnKey, float] = {}
        self._first: dict[TurnKey, float] = {}

    def seed(self, rows: Iterable[AnswerTiming], usage: Iterable[TargetUsage] | None = None) -> None:
        """Answers stored before this screen's events: what a finished session opened later shows. Tokens
        come from usage when given (every attempt, blocked and empty answers too: what `show` counts and
        costs), else from the rows (the visible finished answers)."""
        for t in self.by_target:
            self.by_target[t] = TargetMeter(retries=self.by_target[t].retries, cost=self.by_target[t].cost)
        usage = list(usage) if usage is not None else None
        for u in usage or ():
            if (m := self.by_target.get(u.key)) is not None:
                m.tokens_in, m.tokens_out = u.tokens_in, u.tokens_out
        for r in rows:
            m = self.by_target.get(r.target)
            if m is None:
                continue
            if usage is None:
                m.tokens_in += r.tokens_in or 0
                m.tokens_out += r.tokens_out or 0
            if r.ttft is not None:
                m.ttft.append(r.ttft)
            if r.latency is not None:
                m.latency.append(r.latency)

    def first_token(self, key: TurnKey, t: float) -> None:
        """The turn's first delta (answer or reasoning) arrived at event time t."""
        self._first.setdefault(key, t)

    def turn_started(self, ev: TurnStarted) -> None:
        key = (ev.item_id, ev.target, ev.round)
        self._started[key] = ev.t
        self._first.pop(key, None)

    def retrying(self, ev: TurnRetrying) -> None:
        """The answer starts again: its first token is the next attempt's (latency keeps the wait)."""
        self._first.pop((ev.item_id, ev.target, ev.round), None)
        if (m := self.by_target.get(ev.target)) is not None:
            m.retries += 1

    def turn_ended(self, ev: TurnCompleted | TurnFailed, streamed: int) -> None:
        """streamed: the deltas the answer streamed (its token count when the provider sent no usage)."""
        key = (ev.item_id, ev.target, ev.round)
        started, first = self._started.pop(key, None), self._first.pop(key, None)
        m = self.by_target.get(ev.target)
        if m is not None and isinstance(ev, TurnFailed):  # a block or an empty answer is billed too
            m.tokens_in += ev.tokens_in or 0
            m.tokens_out += ev.tokens_out or 0
        if m is None or not isinstance(ev, TurnCompleted):
            return
        m.tokens_in += ev.tokens_in or 0
        m.tokens_out += ev.tokens_out if ev.tokens_out is not None else streamed
        if started is not None:
            m.latency.append(max(0.0, ev.t - started))
            if first is not None:
                m.ttft.append(max(0.0, first - started))

    def set_streaming(self, target: str, deltas: int) -> None:
        if (m := self.by_target.get(target)) is not None:
            m.streaming = deltas

    def totals(self) -> tuple[int, int]:
        """(tokens in, tokens out) over every target."""
        return (sum(m.tokens_in for m in self.by_target.values()),
                sum(m.out for m in self.by_target.values()))


def tokens_text(n: int) -> str:
    return f"{n / 1_000_000:.1f}M" if n >= 1_000_000 else f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def seconds_text(s: float | None) -> str:
    return "—" if s is None else f"{s * 1000:.0f}ms" if s < 1 else f"{s:.1f}s"


def meter_parts(m: TargetMeter, short: bool = False) -> list[str]:
    """The meter line's pieces, most important first (a narrow lane drops the last ones); short: tokens as
    in/out, for a narrow lane."""
    tokens = (f"{tokens_text(m.tokens_in)}/{tokens_text(m.out)} tok" if short
              else f"in {tokens_text(m.tokens_in)} out {tokens_text(m.out)}")
    parts = [tokens, f"ttft {seconds_text(m.ttft_p50)}", f"p50 {seconds_text(m.latency_p50)}", f"↻ {m.retries}"]
    if m.cost:
        parts.append(m.cost)
    return parts
