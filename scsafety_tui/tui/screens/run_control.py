"""The run screen's control of its event source: start, pause, cancel, speed, quit, retry, export.

A mixin for RunScreen (kept apart so neither file grows large); it uses the screen's state and widgets.
The keys act on the screen's EventSource (tui/sources/): a live run or a stored session re-emitted. Where
the two behave differently, the screen asks what the source can do (writes, can_retry, can_speed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scsafety_tui.engine.session import SessionRun, prepare
from scsafety_tui.paths import resume_command
from scsafety_tui.scoring import unscored_answers
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.messages import RunEnded
from scsafety_tui.tui.screens.base import WorkerScreen
from scsafety_tui.tui.screens.confirm import ConfirmScreen
from scsafety_tui.tui.screens.export_dialog import export_flow
from scsafety_tui.tui.sources import EventSource, Sink
from scsafety_tui.tui.sources.live import LiveSource
from scsafety_tui.tui.sources.stored import next_speed
from scsafety_tui.tui.state import FAILED
from scsafety_tui.tui.widgets.navigator import Navigator

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
    source: EventSource
    pace: RunPace
    run_state: str
    session_status: str
    pinned: str | None
    human: bool  # scores shown human-adjusted
    after_stop: str | None  # "quit" | "back" once the run has stopped
    exit_code: int  # the app's exit code for this screen's last run (as headless would exit)

    if TYPE_CHECKING:  # provided by RunScreen
        @property
        def st(self) -> RunState: ...
        async def reload(self) -> None: ...
        async def pin(self, item_id: str, follow: bool = False) -> None: ...
        def _tick(self) -> None: ...
        def _update_scores(self) -> None: ...
        def _flush(self, everything: bool = False) -> None: ...

    @property
    def running(self) -> bool:
        """A run is writing this session now (a replay writes nothing: leaving or quitting asks nothing)."""
        return self.source.writes and self.source.running

    @property
    def runner(self) -> Runner | None:
        """The engine's runner while a live run goes."""
        return self.source.runner if isinstance(self.source, LiveSource) else None

    def start_run(self, retry_errors: bool = False) -> None:
        self.run_state = "starting"
        if not self.source.writes:
            self.bridge.reset()  # a replay starts again from the session's first event
        self.source.start(retry_errors=retry_errors)

    async def prepare_run(self, store: Store, emit: Sink, retry_errors: bool) -> SessionRun:
        """The live source's plan: the session prepared on the source's own store connection."""
        config = self.config or await self.app.run_config_for(self.session_id)
        return await prepare(store, self.session_id, emit, config=config, retry_errors=retry_errors)

    async def on_run_ended(self, message: RunEnded) -> None:
        status = message.status
        self.pace.end(self.app.clock())
        if self.source.writes:
            self.exit_code = await self.run_exit_code(status)
        if self.after_stop == "quit":
            self.app.exit(self.exit_code, return_code=self.exit_code)
            return
        if self.after_stop == "back":
            self.dismiss()
            return
        if self.source.writes:
            self.session_status = (await queries.stored_session(self.app.store, self.session_id)).status
            await self.reload()  # the store is the truth: final glyphs and scores come from it, not events
            state = status if status in ("done", "cancelled", "failed") else self.idle_state()
        else:  # a replay's numbers are its events' own (nothing was written): drawn now, not at the next tick
            self.query_one(Navigator).flush()
            self._update_scores()
            state = "replayed" if status == "done" else "stopped"
        if status == "done" and self.pinned is None and self.st.order:
            await self.pin(self.st.order[-1])  # nothing left to follow: show the last item, from its top
        self._flush(everything=True)  # the lanes show the end now, not at the next tick: a finished screen is complete
        self.run_state = state
        self._tick()
        if status == "cancelled" and self.source.writes:
            self.notify(f"Run cancelled. Press space to resume, or run "
                        f"`{resume_command(self.session_id, self.app.db)}`.", markup=False)

    async def run_exit_code(self, status: str) -> int:
        """What `run --headless` would exit with after this run: 130 interrupted, 3 when conversations
        ended with an error or answers are unscored (every judge failed), else 0."""
        if status == "interrupted":
            return 130
        errored = (await queries.status_counts(self.app.store, self.session_id)).get("error", 0)
        unscored = unscored_answers(await queries.answer_rows(self.app.store, self.session_id))
        return 3 if errored + unscored else 0

    def idle_state(self) -> str:
        # a session left "running" by a crash (or never started) is simply stopped when no runner is going
        return "stopped" if self.session_status in ("running", "pending") else self.session_status

    # ------------------------------------------------------------ actions

    def action_toggle_pause(self) -> None:
        source = self.source
        if source.ready:
            if source.paused:
                source.resume()
                self.pace.resume(self.app.clock())
                self.run_state = "running"
            else:
                source.pause()
                self.pace.pause(self.app.clock())  # elapsed stops with the run
                self.run_state = "paused"
                if source.writes:
                    self.notify("Paused: streaming answers finish, no new turn starts. Space resumes.")
        elif source.running:
            pass  # still preparing
        elif not source.writes or self.session_status != "done":
            self.start_run()  # a replay: from the beginning again
        else:
            self.notify("This session is finished (r reruns its errors).")
        self._tick()

    def action_cancel_run(self) -> None:
        if not self.source.running:
            self.notify("No run is going." if self.source.writes else "The replay has ended: space replays it again.")
            return
        if not self.source.writes:
            self.source.cancel()  # nothing is lost: space replays it again
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_run()

        self.app.push_screen(ConfirmScreen("Cancel the run? Finished conversations are kept and the session "
                                           "can be resumed later.", yes="Cancel run"), answered)

    def stop_run(self) -> None:
        self.run_state = "cancelling"
        self.source.cancel(interrupt=self.after_stop is not None)  # leaving: the session stays interrupted
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
            self.app.exit(130, return_code=130)  # the run was stopped: interrupted, as Ctrl+C leaves a headless one

    def action_back(self) -> None:
        if self.running:
            self.confirm_stop("back")
        elif len(self.app.screen_stack) > 2:
            self.dismiss()

    def action_retry_errors(self) -> None:
        if not self.source.can_retry:
            self.notify("A replay never calls a model: rerun errors from the session's run screen.")
        elif self.running:
            self.notify("Errored conversations can be rerun once the run has ended.")
        elif not any(FAILED in m for m in self.st.glyphs.values()):
            self.notify("No errored conversations to rerun.")
        else:
            self.start_run(retry_errors=True)

    def action_speed(self, step: int) -> None:
        """Slower or faster (×1, ×2, ×10, instant); only bound where the source can_speed."""
        self.source.set_speed(next_speed(self.source.speed, step))
        self._tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.source.can_speed if action == "speed" else True

    def action_export(self) -> None:
        export_flow(self, self.session_id, human=self.human)
