"""The one retry policy, and the requests-per-minute limiter.

Time comes from the policy's injectable `clock` and `sleep`, so tests run the schedule without waiting.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from scsafety_tui.providers.base import ProviderError, RateLimited

T = TypeVar("T")


@dataclass(frozen=True)
class RetryInfo:
    attempt: int
    """The attempt that failed, 1-based."""
    error: ProviderError
    delay: float
    """Seconds until the next attempt."""


@dataclass
class RetryPolicy:
    attempts: int = 4
    """Attempts in all, the first included."""
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    """Longest wait obeyed from a server's Retry-After."""
    jitter: float = 0.25
    """Backoff delays are scaled by a random factor in [1 - jitter, 1 + jitter]."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)

    def delay_for(self, attempt: int, error: ProviderError) -> float:
        """Retry-After when the server gave one (capped), else exponential backoff with jitter."""
        if isinstance(error, RateLimited):
            if error.retry_at is not None:
                return min(max(0.0, error.retry_at - self.clock()), self.max_retry_after)
            if error.retry_after is not None:
                return min(error.retry_after, self.max_retry_after)
        backoff = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return min(backoff * (1 + self.rng.uniform(-self.jitter, self.jitter)), self.max_delay)

    async def run(self, fn: Callable[[], Awaitable[T]],
                  on_retry: Callable[[RetryInfo], None] | None = None) -> T:
        """Call fn until it succeeds, fails for good, or attempts run out; raises the last error."""
        attempt = 1
        while True:
            try:
                return await fn()
            except ProviderError as e:
                if not e.retryable or attempt >= self.attempts:
                    raise
                delay = self.delay_for(attempt, e)
                if on_retry is not None:
                    on_retry(RetryInfo(attempt, e, delay))
                await self.sleep(delay)
                attempt += 1


class RateLimiter:
    """At most `per_minute` requests start in any 60-second window (a sliding window, FIFO waiters)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order fair
            while True:
                now = self.clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                await self.sleep(self._starts[0] + self.window - now)
