"""A live run as an event source: the engine's SessionRun, prepared and run on a store connection of its own.

The run screen and the spot screen differ only in how the run is prepared (resume a stored session, or
create a spot session first): that is the plan they pass in. Pause and resume act on the engine's runner
(streaming turns finish, no new turn starts); a live run has no speed of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from scsafety_tui.tui.sources import EventSource, Sink

if TYPE_CHECKING:
    from scsafety_tui.engine.runner import Runner
    from scsafety_tui.engine.session import SessionRun
    from scsafety_tui.store.db import Store

Plan = Callable[["Store", Sink, bool], Awaitable["SessionRun"]]
"""(store, emit, retry_errors) → the prepared run; called inside the source's worker."""


class LiveSource(EventSource):
    can_retry: ClassVar[bool] = True
    writes: ClassVar[bool] = True

    def __init__(self, open_store: Callable[[], Awaitable[Store]], plan: Plan, *, group: str = "runner",
                 description: str = "SC-Safety session run") -> None:
        super().__init__(group=group, description=description)
        self._open_store = open_store
        self._plan = plan
        self.runner: Runner | None = None
        """The engine's runner while the run goes (None while preparing and once it has ended)."""
        self._interrupt = False

    def start(self, *, retry_errors: bool = False) -> None:
        self._interrupt = False
        super().start(retry_errors=retry_errors)

    async def _deliver(self, sink: Sink, retry_errors: bool) -> str:
        store = await self._open_store()
        try:
            srun = await self._plan(store, sink, retry_errors)
            self.runner = srun.runner
            try:
                status = await srun.run()
            except asyncio.CancelledError:  # the app or the screen is closing under the run: leave it resumable
                await store.set_session_status(srun.session_id, "interrupted")
                raise
            if self._interrupt:  # stopped because the user is leaving: resumable, not cancelled
                status = "interrupted"
                await store.set_session_status(srun.session_id, status)
            return status
        finally:
            self.runner = None
            await store.close()

    @property
    def ready(self) -> bool:
        return self.runner is not None

    @property
    def paused(self) -> bool:
        return self.runner is not None and self.runner.paused

    def pause(self) -> None:
        if self.runner is not None:
            self.runner.pause()

    def resume(self) -> None:
        if self.runner is not None:
            self.runner.resume()

    def set_speed(self, speed: float | None) -> None:
        """Nothing: a live run goes at the models' pace (can_speed is False)."""

    def cancel(self, *, interrupt: bool = False) -> None:
        """Streaming turns are stored as cancelled and the session stays resumable."""
        self._interrupt = self._interrupt or interrupt
        if self.runner is not None:
            self.runner.cancel()
        elif self._worker is not None:  # still preparing
            self._worker.cancel()
