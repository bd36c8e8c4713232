"""A saved session as an event source: store.replay's timed event stream, released on a ReplayClock.

Events come at their original times (×1, ×2, ×10 or instantly; pausable, the speed changes mid-stream)
into the same sink the engine's events go to, so the run screen draws a replay with its own handlers.
It never calls a model and never writes to the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable
from typing import ClassVar

from scsafety_tui.store.replay import Timed
from scsafety_tui.tui.replay_clock import SPEEDS, ReplayClock, speed_label
from scsafety_tui.tui.sources import EventSource, Sink

YIELD_EVERY = 64
"""At instant speed, give the UI a turn after this many events so keys and drawing keep up."""


def next_speed(speed: float | None, step: int) -> float | None:
    """The next (step 1) or previous (step -1) of the replay speeds, wrapping round."""
    i = SPEEDS.index(speed) if speed in SPEEDS else 0
    return SPEEDS[(i + step) % len(SPEEDS)]


class StoredSource(EventSource):
    can_speed: ClassVar[bool] = True

    def __init__(self, events: Callable[[], AsyncIterable[Timed]], speed: float | None = 1.0, *,
                 now: Callable[[], float] = time.monotonic, group: str = "replay",
                 description: str = "Replay") -> None:
        """events: a fresh timed stream per start (store.replay.timed_events); now: the clock's time source."""
        super().__init__(group=group, description=description)
        self._events = events
        self._now = now
        self.clock = ReplayClock(speed, now=now)

    def start(self, *, retry_errors: bool = False) -> None:
        self.clock = ReplayClock(self.clock.speed, now=self._now)  # from the session's first event, unpaused
        super().start(retry_errors=retry_errors)

    async def _deliver(self, sink: Sink, retry_errors: bool) -> str:
        released = 0
        async for t, event in self._events():
            await self.clock.wait_until(t)
            sink(event)
            released += 1
            if released % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return "done"

    @property
    def ready(self) -> bool:
        return self.running

    @property
    def paused(self) -> bool:
        return self.clock.paused

    def pause(self) -> None:
        self.clock.pause()

    def resume(self) -> None:
        self.clock.resume()

    def cancel(self, *, interrupt: bool = False) -> None:
        if self._worker is not None:
            self._worker.cancel()

    @property
    def speed(self) -> float | None:
        return self.clock.speed

    def set_speed(self, speed: float | None) -> None:
        self.clock.set_speed(speed)

    @property
    def label(self) -> str:
        return f"replay {speed_label(self.clock.speed)}"
