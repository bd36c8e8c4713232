"""The replay's clock: session time that runs at a chosen speed, can pause, and can change speed mid-stream.

The replay worker waits on it for each event of store.replay.timed_events(). `now` is injectable so tests
drive session time by hand. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

SPEEDS: tuple[float | None, ...] = (1.0, 2.0, 10.0, None)
"""×1, ×2, ×10 and instant (None)."""
MAX_SLEEP_S = 0.1
"""Sleep at most this long at a time, so a speed change or a pause takes effect at once."""


def speed_label(speed: float | None) -> str:
    return "instant" if speed is None else f"×{speed:g}"


class ReplayClock:
    def __init__(self, speed: float | None = 1.0, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.speed = speed
        self.paused = False
        self._base = 0.0  # session seconds reached at _since
        self._since = now()
        self._last = 0.0  # the last time waited for: where an instant replay has got to
        self._woken = asyncio.Event()

    def position(self) -> float:
        """Seconds of the session replayed so far (infinite at instant speed)."""
        if self.speed is None:
            return float("inf")
        if self.paused:
            return self._base
        return self._base + (self._now() - self._since) * self.speed

    def _rebase(self) -> None:
        pos = self.position()
        self._base = max(self._last, self._base) if pos == float("inf") else pos
        self._since = self._now()
        self._woken.set()

    def set_speed(self, speed: float | None) -> None:
        self._rebase()
        self.speed = speed

    def pause(self) -> None:
        self._rebase()
        self.paused = True

    def resume(self) -> None:
        self._rebase()  # while still paused: the paused time does not count
        self.paused = False

    async def wait_until(self, t: float) -> None:
        """Return once the session time t has been reached (at once when instant, never while paused)."""
        while True:
            if self.paused:
                self._woken.clear()
                await self._woken.wait()
                continue
            remaining = 0.0 if self.speed is None else (t - self.position()) / self.speed
            if remaining <= 0.001:
                self._last = max(self._last, t)
                return
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), min(remaining, MAX_SLEEP_S))
