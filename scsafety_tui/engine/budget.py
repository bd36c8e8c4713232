"""[run] max_cost: what a run's answers have cost so far, and the hold once that reaches the limit.

The spend is counted as each answer is stored (its usage, or the estimate from characters). Reaching the
limit starts no new conversation; the conversations already under way finish (their answers are paid
for and a half-asked conversation would be asked again on resume), so a run can pass the limit by up to
its in-flight conversations. `release()` (the app's resume, or `scsafety-tui resume`) allows max_cost more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from scsafety_tui.config import TargetConfig
from scsafety_tui.cost import cost_of
from scsafety_tui.events import CostLimitReached, Event

log = logging.getLogger(__name__)


class Budget:
    def __init__(self, limit: float, currency: str, emit: Callable[[Event], None],
                 now: Callable[[], float]) -> None:
        self.limit = limit
        self.currency = currency
        self.spent = 0.0
        """Cost of every answer this process stored, over the run's life."""
        self._window = 0.0  # spent since the run started or was last released
        self._emit, self._now = emit, now
        self._open = asyncio.Event()
        self._open.set()

    @property
    def held(self) -> bool:
        """The limit was reached: no new conversation starts until release()."""
        return not self._open.is_set()

    def add(self, target: TargetConfig, tokens_in: int, tokens_out: int) -> None:
        cost = cost_of(target, tokens_in, tokens_out) or 0.0
        self.spent += cost
        self._window += cost
        if self.limit and self._window >= self.limit and not self.held:
            self._open.clear()
            log.info("max_cost %.4f %s reached (%.4f spent in this run): no new conversation starts",
                     self.limit, self.currency, self.spent)
            self._emit(CostLimitReached(self.spent, self.limit, self.currency, t=self._now()))

    def release(self) -> None:
        """Go on: the run may spend max_cost more before it holds again."""
        self._window = 0.0
        self._open.set()

    async def wait(self) -> None:
        await self._open.wait()
