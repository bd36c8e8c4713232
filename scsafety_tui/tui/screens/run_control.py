"""The run screen's control of its run: the runner worker, pause, cancel, quit, retry, export.

A mixin for RunScreen (kept apart so neither file grows large); it uses the screen's state and widgets.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work

from scsafety_tui.engine.session import prepare
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.messages import RunEnded
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.confirm import ConfirmScreen
from scsafety_tui.tui.screens.export_dialog import export_flow
from scsafety_tui.tui.state import FAILED

if TYPE_CHECKING:
    from scsafety_tui.config import Config
    from scsafety_tui.engine.runner import Runner
    from scsafety_tui.tui.app import ScSafetyApp
    from scsafety_tui.tui.bridge import EventBridge
    from scsafety_tui.tui.pace import RunPace
    from scsafety_tui.tui.state import RunState


class RunControl(WorkerScreen):
    app: ScSafetyApp
    session_id: int
    config: Config | None
    bridge: EventBridge
    pace: RunPace
    runner: Runner | None
    run_state: str
    session_status: str
    pinned: str | None
    human: bool  # scores shown human-adjusted
    after_stop: str | None  # "quit" | "back" once the run has stopped

    if TYPE_CHECKING:  # provided by RunScreen
        @property
        def st(self) -> RunState: ...
        async def reload(self) -> None: ...
        async def pin(self, item_id: str, follow: bool = False) -> None: ...
        def _tick(self) -> None: ...

    @property
    def running(self) -> bool:
        return any(w.group == "runner" and w.is_running for w in self.workers)

    def start_run(self, retry_errors: bool = False) -> None:
        self.run_state = "starting"
        self.run_session(retry_errors)

    @work(exclusive=True, exit_on_error=False, group="runner", description="SC-Safety session run")
    async def run_session(self, retry_errors: bool = False) -> str:
        """Prepare and run the session on its own store connection; events arrive through the bridge."""
        status = "failed"  # an exception goes on to the Worker.StateChanged handler as a notification
        store = await Store.open(self.app.db)
        try:
            config = self.config or await self.app.run_config_for(self.session_id)
            srun = await prepare(store, self.session_id, self.bridge, config=config, retry_errors=retry_errors)
            self.runner = srun.runner
            try:
                status = await srun.run()
            except asyncio.CancelledError:  # the app is closing under the run: leave it resumable
                status = "interrupted"
                await store.set_session_status(self.session_id, status)
                raise
            if self.after_stop:
                status = "interrupted"
                await store.set_session_status(self.session_id, status)
            return status
        finally:
            self.runner = None
            await store.close()
            self.post_message(RunEnded(status))

    async def on_run_ended(self, message: RunEnded) -> None:
        status = message.status
        self.pace.end(self.app.clock())
        if self.after_stop == "quit":
            self.app.exit(0)
            return
        if self.after_stop == "back":
            self.dismiss()
            return
        self.session_status = (await queries.stored_session(self.app.store, self.session_id)).status
        await self.reload()  # the store is the truth: final glyphs and scores come from it, not events
        if status == "done" and self.pinned is None and self.st.order:
            await self.pin(self.st.order[-1])  # nothing left to follow: show the last item, from its top
        self.run_state = status if status in ("done", "cancelled", "failed") else self.idle_state()
        self._tick()
        if status == "cancelled":
            self.notify(f"Run cancelled. Press space to resume, or run `scsafety-tui resume {self.session_id}`.")

    def idle_state(self) -> str:
        # a session left "running" by a crash (or never started) is simply stopped when no runner is going
        return "stopped" if self.session_status in ("running", "pending") else self.session_status

    # ------------------------------------------------------------ actions

    def action_toggle_pause(self) -> None:
        runner = self.runner
        if runner is not None:
            if runner.paused:
                runner.resume()
                self.run_state = "running"
            else:
                runner.pause()
                self.run_state = "paused"
                self.notify("Paused: streaming answers finish, no new turn starts. Space resumes.")
        elif self.running:
            pass  # still preparing
        elif self.session_status != "done":
            self.start_run()
        else:
            self.notify("This session is finished (r reruns its errors).")
        self._tick()

    def action_cancel_run(self) -> None:
        if not self.running:
            self.notify("No run is going.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_run()

        self.app.push_screen(ConfirmScreen("Cancel the run? Finished conversations are kept and the session "
                                           "can be resumed later.", yes="Cancel run"), answered)

    def stop_run(self) -> None:
        runner = self.runner
        self.run_state = "cancelling"
        if runner is not None:
            runner.cancel()
        else:
            self.workers.cancel_group(self, "runner")
        self._tick()

    def confirm_stop(self, then: str) -> None:
        """Asked before quitting or leaving during a run; the session is left interrupted (resumable)."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.after_stop = then
                self.stop_run()
                self.set_timer(15, self._force_after_stop)

        question = "A run is going. Stop it and quit?" if then == "quit" else "A run is going. Stop it?"
        self.app.push_screen(ConfirmScreen(question + " The session stays resumable.", yes="Stop"), answered)

    def _force_after_stop(self) -> None:
        if self.after_stop == "quit":
            self.app.exit(0)

    def action_back(self) -> None:
        if self.running:
            self.confirm_stop("back")
        elif len(self.app.screen_stack) > 2:
            self.dismiss()

    def action_retry_errors(self) -> None:
        if self.running:
            self.notify("Errored conversations can be rerun once the run has ended.")
        elif not any(FAILED in m for m in self.st.glyphs.values()):
            self.notify("No errored conversations to rerun.")
        else:
            self.start_run(retry_errors=True)

    def action_export(self) -> None:
        export_flow(self, self.session_id, human=self.human)
