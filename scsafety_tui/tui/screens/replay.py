"""Replay: the run screen given a StoredSource instead of a live run.

store.replay.timed_events() re-emits the saved session with its original timing; the source's ReplayClock
releases each event at its time (×1, ×2, ×10 or instantly, pausable) into the same EventBridge the engine
would call, so lanes, navigator and scoreboard are drawn by the run screen's own handlers. A replay never
calls a model and never writes to the store, except the human labels the user sets.
"""

from __future__ import annotations

from scsafety_tui.store.replay import timed_events
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.sources.stored import StoredSource


class ReplayScreen(RunScreen):
    def __init__(self, session_id: int, *, speed: float | None = 1.0) -> None:
        super().__init__(session_id, start=True,
                         source=StoredSource(lambda: timed_events(self.app.store, session_id), speed))
