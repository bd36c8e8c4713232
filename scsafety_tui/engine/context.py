"""Shared state of one run: the event sink, counters, pause gate, and the partial-answer saver."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scsafety_tui.events import Event, Progress
from scsafety_tui.store.db import Store

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
    # turn id -> chunks streamed so far; the saver writes them about once a second.
    streaming: dict[int, list[str]] = field(default_factory=dict)
    _saved_len: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.gate.set()

    def now(self) -> float:
        return time.monotonic() - self.started

    def emit(self, event: Event) -> None:
        self.emit_fn(event)

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
        for turn_id, chunks in list(self.streaming.items()):
            if len(chunks) != self._saved_len.get(turn_id):
                self._saved_len[turn_id] = len(chunks)
                rows.append(("".join(chunks), "", turn_id))
        if rows:
            with contextlib.suppress(Exception):  # a partial save is best effort; the final write is not
                await self.store.save_partials(rows)

    def stop_streaming(self, turn_id: int) -> None:
        self.streaming.pop(turn_id, None)
        self._saved_len.pop(turn_id, None)
