"""Shared state of one run: the event sink, counters, pause gate, and the partial-answer saver."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scsafety_tui.config import TargetConfig
from scsafety_tui.engine.budget import Budget
from scsafety_tui.events import Event, Progress
from scsafety_tui.store.db import Store

log = logging.getLogger(__name__)

PARTIAL_SAVE_S = 1.0


@dataclass
class Counters:
    done: int = 0
    total: int = 0
    tokens: int = 0
    retries: int = 0
    errors: int = 0


@dataclass
class RunContext:
    store: Store
    session_id: int
    emit_fn: Callable[[Event], None]
    counters: Counters = field(default_factory=Counters)
    started: float = field(default_factory=time.monotonic)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    # turn id -> (answer chunks, reasoning chunks) streamed so far; the saver writes them about once a
    # second. The store takes a partial only while the turn is 'streaming', so a late one never
    # overwrites the final write.
    streaming: dict[int, tuple[list[str], list[str]]] = field(default_factory=dict)
    _saved_len: dict[int, tuple[int, int]] = field(default_factory=dict)
    score_reasoning: bool = False
    """[judge] score_reasoning: the judge scores a turn's reasoning too, as verdicts of their own."""
    budget: Budget | None = None
    """[run] max_cost, counted as answers are stored; None: no limit."""

    def __post_init__(self) -> None:
        self.gate.set()

    def now(self) -> float:
        return time.monotonic() - self.started

    def emit(self, event: Event) -> None:
        self.emit_fn(event)

    def spend(self, target: TargetConfig, tokens_in: int, tokens_out: int) -> None:
        """A stored answer's tokens, counted against [run] max_cost."""
        if self.budget is not None:
            self.budget.add(target, tokens_in, tokens_out)

    def progress(self) -> None:
        c = self.counters
        self.emit(Progress(c.done, c.total, c.tokens, c.retries, c.errors, t=self.now()))

    @property
    def paused(self) -> bool:
        return not self.gate.is_set()

    async def save_partials_forever(self) -> None:
        """Write what each streaming turn has so far, so a crash keeps it; one batch a second."""
        while True:
            await asyncio.sleep(PARTIAL_SAVE_S)
            await self.save_partials()

    async def save_partials(self) -> None:
        rows = []
        for turn_id, (chunks, thoughts) in list(self.streaming.items()):
            size = (len(chunks), len(thoughts))
            if size != self._saved_len.get(turn_id):
                self._saved_len[turn_id] = size
                rows.append(("".join(chunks), "".join(thoughts), turn_id))
        if rows:
            try:
                await self.store.save_partials(rows)
            except Exception as e:  # a partial save is best effort; the final write is not
                log.warning("session %d: partial save of %d streaming answer(s) failed: %s: %s",
                            self.session_id, len(rows), type(e).__name__, e)

    def stop_streaming(self, turn_id: int) -> None:
        self.streaming.pop(turn_id, None)
        self._saved_len.pop(turn_id, None)
