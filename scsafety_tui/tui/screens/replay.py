"""Replay: the run screen fed by the store's event stream instead of the engine.

store.replay.timed_events() re-emits the saved session with its original timing; a ReplayClock releases
each event at its time (×1, ×2, ×10 or instantly, pausable) into the same EventBridge the engine would
call, so lanes, navigator and scoreboard are drawn by the run screen's own handlers. A replay never calls a
model and never writes to the store, except the human labels the user sets.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType

from scsafety_tui.events import Progress
from scsafety_tui.store import queries
from scsafety_tui.store.replay import timed_events
from scsafety_tui.tui.bridge import EventBridge
from scsafety_tui.tui.messages import RunEnded
from scsafety_tui.tui.replay_clock import ReplayClock, speed_label
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.state import RunState
from scsafety_tui.tui.widgets.navigator import Navigator

YIELD_EVERY = 64
"""At instant speed, give the UI a turn after this many events so keys and drawing keep up."""


class ReplayScreen(RunScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("greater_than_sign", "speed(1)", "Faster"),
        Binding("less_than_sign", "speed(-1)", "Slower"),
    ]

    def __init__(self, session_id: int, *, speed: float | None = 1.0) -> None:
        super().__init__(session_id, start=True)
        self.clock = ReplayClock(speed)

    @property
    def replaying(self) -> bool:
        return any(w.group == "replay" and w.is_running for w in self.workers)

    async def _load(self) -> None:
        await super()._load()
        self.sub_title = f"replay of session {self.session_id}"

    async def reload(self) -> None:
        """A replay starts from nothing (events fill glyphs and scores in); only labels come from the store."""
        rows = await queries.answer_rows(self.app.store, self.session_id)
        old = self.st
        self.state = RunState([old.items[i] for i in old.order], old.targets)
        self.st.scores.block_as_refusal = await queries.block_as_refusal(self.app.store, self.session_id)
        self.st.seed([], {(r.target, r.item_id, r.round): r.label for r in rows if r.label is not None})
        self.st.progress = Progress(0, len(old.order) * len(old.targets), 0, 0, 0)
        nav = self.query_one(Navigator)
        for (item, target), marks in self.st.glyphs.items():
            nav.set_glyphs(item, target, marks)
        nav.flush()
        self._update_scores()

    # ------------------------------------------------------------ the event source

    def start_run(self, retry_errors: bool = False) -> None:
        self.run_state = "starting"
        self.bridge = EventBridge(self)
        self.clock = ReplayClock(self.clock.speed)
        self.replay_session()

    @work(exclusive=True, exit_on_error=False, group="replay", description="Replay")
    async def replay_session(self) -> str:
        status = "failed"  # an exception goes on to the Worker.StateChanged handler as a notification
        try:
            released = 0
            async for t, event in timed_events(self.app.store, self.session_id):
                await self.clock.wait_until(t)
                self.bridge(event)
                released += 1
                if released % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            status = "done"
            return status
        finally:
            self.post_message(RunEnded(status))  # queued after the replay's last EngineEvent

    async def on_run_ended(self, message: RunEnded) -> None:
        message.prevent_default()  # not RunControl's handler: it would reload the store's final state
        self.pace.end(self.app.clock())
        self.run_state = "replayed" if message.status == "done" else "stopped"
        self.query_one(Navigator).flush()  # the final glyphs and scores now, not at the next table tick
        self._update_scores()
        if message.status == "done" and self.pinned is None and self.st.order:
            await self.pin(self.st.order[-1])
        self._tick()

    # ------------------------------------------------------------ controls

    def action_toggle_pause(self) -> None:
        if not self.replaying:
            self.start_run()  # from the beginning again
        elif self.clock.paused:
            self.clock.resume()
            self.run_state = "running"
        else:
            self.clock.pause()
            self.run_state = "paused"
        self._tick()

    def action_speed(self, step: int) -> None:
        self.clock.cycle(step)
        self._tick()

    def action_cancel_run(self) -> None:
        if self.replaying:
            self.workers.cancel_group(self, "replay")
        else:
            self.notify("The replay has ended: space replays it again.")

    def action_retry_errors(self) -> None:
        self.notify("A replay never calls a model: rerun errors from the session's run screen.")

    def status_mode(self) -> str:
        mode = f"replay {speed_label(self.clock.speed)}"
        return f"{mode} · human-adjusted scores" if self.human else mode
