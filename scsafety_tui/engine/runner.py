"""Fan-out of a session's conversations over its targets, with pause, resume and cancel.

Each target gets as many workers as its concurrency allows, taking that target's conversations in item
order, so all targets move through the bank together and a slow target never holds up a fast one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from scsafety_tui.engine.attacker import Attacker
from scsafety_tui.engine.context import RunContext
from scsafety_tui.engine.conversation import Conversation
from scsafety_tui.events import Event, ItemInfo, SessionFinished, SessionStarted, TargetInfo
from scsafety_tui.follow_ups import FollowUp
from scsafety_tui.judge import Judge
from scsafety_tui.providers.contract import ChatClient
from scsafety_tui.questions import Item
from scsafety_tui.store.db import ConversationRow, Store, StoreWriteError

log = logging.getLogger(__name__)


class Runner:
    def __init__(self, *, store: Store, session_id: int, name: str, items: Sequence[Item],
                 clients: Mapping[str, ChatClient], judge: Judge, rounds: int, emit: Callable[[Event], None],
                 attacker: Attacker | None = None, target_infos: Sequence[TargetInfo] = ()) -> None:
        self.ctx = RunContext(store, session_id, emit)
        self.name = name
        self.items = {it.id: it for it in items}
        self.clients = clients
        self.judge = judge
        self.rounds = rounds
        self.attacker = attacker
        self.target_infos = tuple(target_infos)
        self._tasks: list[asyncio.Task[None]] = []
        self._cancelled = False
        self._active = 0.0
        """Seconds this run was active before its current stretch (pauses left out): session.active_s."""
        self._active_since: float | None = None
        self._running = False
        self.stop_at_budget = False
        """At [run] max_cost, end the run as 'paused' once the conversations under way finish (headless),
        instead of waiting for resume() (the app)."""

    # ------------------------------------------------------------ control (safe from any task)

    def pause(self) -> None:
        """Let streaming turns finish; start no new turn until resume()."""
        if self._active_since is not None:
            self._active += self.ctx.now() - self._active_since
            self._active_since = None
        self.ctx.gate.clear()

    def resume(self) -> None:
        """Go on; after [run] max_cost was reached, the run may spend max_cost more."""
        if self._active_since is None and self._running:
            self._active_since = self.ctx.now()
        self.ctx.gate.set()
        if self.ctx.budget is not None:
            self.ctx.budget.release()

    def active_s(self) -> float:
        """How long this run has been active so far, pauses left out."""
        since = self._active_since
        return self._active + (self.ctx.now() - since if since is not None else 0.0)

    @property
    def paused(self) -> bool:
        return self.ctx.paused or (self.ctx.budget is not None and self.ctx.budget.held)

    def cancel(self) -> None:
        """Stop now: streaming turns are stored as cancelled and the session stays resumable."""
        self._cancelled = True
        for task in self._tasks:
            task.cancel()

    # ------------------------------------------------------------ run

    async def run(self, todo: list[tuple[ConversationRow, int]], *, resumed: bool = False,
                  already_done: int = 0) -> str:
        """Run (conversation, attempt) pairs; returns the session status: done | cancelled."""
        ctx = self.ctx
        ctx.counters.total = already_done + len(todo)
        ctx.counters.done = already_done
        ctx.emit(SessionStarted(ctx.session_id, self.name, self.target_infos,
                                tuple(_info(it) for it in self.items.values()), self.judge.keys,
                                resumed, t=ctx.now()))
        ctx.progress()
        log.info("session %d %r %s: %d conversation(s) to run (%d done before), targets %s, judges %s",
                 ctx.session_id, self.name, "resumed" if resumed else "started", len(todo), already_done,
                 ", ".join(self.clients), ", ".join(self.judge.keys))
        await ctx.store.set_session_status(ctx.session_id, "running")
        queues: dict[str, asyncio.Queue[tuple[ConversationRow, int]]] = {}
        for row, attempt in todo:
            queues.setdefault(row.target_key, asyncio.Queue()).put_nowait((row, attempt))
        saver = asyncio.create_task(ctx.save_partials_forever())
        self._running = True
        if not ctx.paused:
            self._active_since = ctx.now()
        # cancel() may have come while the status was being written: then start nothing.
        self._tasks = [] if self._cancelled else [
            asyncio.create_task(self._worker(q))
            for key, q in queues.items() for _ in range(min(self.clients[key].target.concurrency, q.qsize()))]
        try:
            results = await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            saver.cancel()
            await ctx.save_partials()
            await self._store_active_time()
        failures = [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
        # the store's own failure first: the others are its consequences
        failures.sort(key=lambda r: not isinstance(r, StoreWriteError))
        if failures:
            self._log_end(f"failed ({type(failures[0]).__name__}: {failures[0]})")
            raise failures[0]
        status = "cancelled" if self._cancelled else "paused" if self._held_with_work(queues) else "done"
        self._log_end(status)
        await ctx.store.set_session_status(ctx.session_id, status, finished=status == "done")
        ctx.emit(SessionFinished(ctx.session_id, status, t=ctx.now()))
        return status

    async def _store_active_time(self) -> None:
        """The run's active time is added to the session's, however the run ends (best effort: a store
        that has failed refuses it, and the run's own failure is the one to report)."""
        active, self._running = self.active_s(), False
        self._active, self._active_since = 0.0, None
        try:
            await self.ctx.store.add_active_time(self.ctx.session_id, active)
        except Exception as e:
            log.warning("session %d: its active time (%.1f s) was not stored: %s: %s", self.ctx.session_id,
                        active, type(e).__name__, e)

    def _log_end(self, how: str) -> None:
        c = self.ctx.counters
        log.info("session %d %s after %.1f s: %d of %d conversation(s) finished, %d with an error; "
                 "%d retries, %d tokens streamed", self.ctx.session_id, how, self.ctx.now(), c.done, c.total,
                 c.errors, c.retries, c.tokens)

    def _held_with_work(self, queues: Mapping[str, asyncio.Queue[tuple[ConversationRow, int]]]) -> bool:
        """Stopped at [run] max_cost with conversations not yet started (stop_at_budget)."""
        budget = self.ctx.budget
        return budget is not None and budget.held and any(not q.empty() for q in queues.values())

    async def _worker(self, queue: asyncio.Queue[tuple[ConversationRow, int]]) -> None:
        while not queue.empty() and not self._cancelled:
            if (budget := self.ctx.budget) is not None and budget.held:
                if self.stop_at_budget:  # headless: nobody to resume it here; `resume` goes on
                    return
                await budget.wait()
                continue
            row, attempt = queue.get_nowait()
            item = self.items[row.item_key]
            rounds = self.rounds or len(item.turns)
            conv = Conversation(self.ctx, row.id, attempt, item, self.clients[row.target_key], self.judge,
                                rounds, self.attacker, FollowUp.from_json(row.follow_up))
            try:
                await conv.run()
            except StoreWriteError:
                self.cancel()  # nothing more can be saved: stop every conversation now
                raise


def _info(item: Item) -> ItemInfo:
    return ItemInfo(item.id, item.category, item.sub_dimension, item.turns)
