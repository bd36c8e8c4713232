"""The Textual app: owns the read connection to the store and, when needed, the demo server."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen

from scsafety_tui.config import Config
from scsafety_tui.store import queries
from scsafety_tui.store.db import Store
from scsafety_tui.tui.screen_commands import ScreenCommands
from scsafety_tui.tui.screens.home import HomeScreen
from scsafety_tui.tui.screens.run import RunScreen
from scsafety_tui.tui.session_commands import SessionCommands


def _freeze_startup_objects() -> None:
    """Move what startup allocated (modules, Textual, Rich, the stylesheet: ~75k objects) out of the
    collector's reach. A full collection scans every tracked object; with streaming's garbage it ran about
    every 2 s and took 100+ ms, the app's longest pauses. Frozen objects are never scanned again. Once
    per process: later apps (tests run many) would freeze their predecessors' garbage."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


_frozen = False


class ScSafetyApp(App[int]):
    CSS_PATH = "scsafety.tcss"
    TITLE = "scsafety-tui"
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {ScreenCommands, SessionCommands}

    def __init__(self, *, db: str, config: Config | None = None, session_id: int | None = None,
                 start: bool = True, run_config: Config | None = None, demo: Any = None,
                 clock: Callable[[], float] = time.monotonic, retry_errors: bool = False) -> None:
        """session_id opens that session's run screen (start=True runs it; retry_errors reruns its errored
        conversations, as `resume --retry-errors`); run_config is what prepare()
        gets for it (the demo's, say); demo is a started DemoServerThread the caller owns; clock is
        injectable so snapshots can freeze elapsed time."""
        super().__init__()
        self.db = db
        self.config = config
        self.clock = clock
        self._open = (session_id, start, run_config)
        self._retry_errors = retry_errors
        self._demo = demo
        self._own_demo = False
        self.store: Store

    async def on_mount(self) -> None:
        self.store = await Store.open(self.db)
        if self.config and self.config.ui.theme in self.available_themes:
            self.theme = self.config.ui.theme
        await self.push_screen(HomeScreen())
        session_id, start, run_config = self._open
        if session_id is not None:
            self.open_session(session_id, start=start, config=run_config, retry_errors=self._retry_errors)
        self.call_after_refresh(_freeze_startup_objects)

    async def on_unmount(self) -> None:
        await self.store.close()
        if self._own_demo and self._demo is not None:
            self._demo.stop()

    def open_session(self, session_id: int, *, start: bool, config: Config | None = None,
                     pin: str | None = None, retry_errors: bool = False) -> None:
        screen = RunScreen(session_id, start=start, config=config, pin=pin)
        screen.retry_first = retry_errors
        self.push_screen(screen)

    # ------------------------------------------------------------ saved sessions

    def action_sessions(self) -> None:
        """The sessions screen (home screen key o; command palette "Sessions")."""
        from scsafety_tui.tui.screens.sessions import SessionsScreen

        if not isinstance(self.screen, SessionsScreen):
            self.push_screen(SessionsScreen())

    def open_menu(self, session_id: int) -> None:
        """What can be done with a saved session: leaderboard, replay, resume..."""
        from scsafety_tui.tui.screens.session_menu import SessionMenu

        def chosen(action: str | None) -> None:
            if action:
                self.session_action(session_id, action)

        self.push_screen(SessionMenu(session_id), chosen)

    def session_action(self, session_id: int, action: str) -> None:
        if action in ("resume", "view"):
            self.open_session(session_id, start=action == "resume")
        elif action == "leaderboard":
            self.open_leaderboard(session_id)
        elif action in ("replay", "replay-instant"):
            self.open_replay(session_id, None if action == "replay-instant" else 1.0)
        elif action == "export":
            from scsafety_tui.tui.screens.export_dialog import export_flow

            export_flow(self.screen, session_id)

    def open_replay(self, session_id: int, speed: float | None = 1.0) -> None:
        from scsafety_tui.tui.screens.replay import ReplayScreen

        self.push_screen(ReplayScreen(session_id, speed=speed))

    def open_leaderboard(self, session_id: int) -> None:
        from scsafety_tui.tui.screens.leaderboard import LeaderboardScreen

        self.push_screen(LeaderboardScreen(session_id))

    # ------------------------------------------------------------ demo server

    def demo_url(self) -> str:
        """The loopback demo server's URL, starting one (in a background thread) on first use."""
        if self._demo is None:
            from scsafety_tui.demo.launch import DemoServerThread
            from scsafety_tui.demo_profile import SPEEDS

            first, per_token = SPEEDS["realistic"]
            self._demo = DemoServerThread(first_token_delay=first, token_delay=per_token)
            self._demo.start()
            self._own_demo = True
        return self._demo.url

    async def run_config_for(self, session_id: int) -> Config:
        """The config a stored session runs with, by the core's one rule (engine/resume.py): the app's
        config is ambient, so it counts only for a session whose targets it names; a demo session runs
        against this app's demo server (started on first use; its port changes between launches)."""
        from scsafety_tui.engine.resume import needs_demo_server, session_config

        stored = (await queries.stored_session(self.store, session_id)).config
        url = self.demo_url() if needs_demo_server(stored, self.config, ambient=True) else None
        return session_config(stored, self.config, demo_url=url, ambient=True)

    # ------------------------------------------------------------ help

    def action_help(self) -> None:
        """? and F1 on every screen: that screen's keys from the keymap (again closes it)."""
        from scsafety_tui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss()
        else:
            self.push_screen(HelpScreen(self.screen))

    # ------------------------------------------------------------ quitting

    async def action_quit(self) -> None:
        run = next((s for s in self.screen_stack if isinstance(s, RunScreen) and s.running), None)
        if run is not None and run.after_stop is None:
            run.confirm_stop("quit")
        else:  # the exit code a headless run would give: 3 after a run that left errors
            code = max((s.exit_code for s in self.screen_stack if isinstance(s, RunScreen)), default=0)
            self.exit(code, return_code=code)

    # ------------------------------------------------------------ spot checks

    def action_spot(self) -> None:
        """The spot screen (home screen key s; command palette "Spot check")."""
        from scsafety_tui.tui.screens.spot import SpotScreen

        if not isinstance(self.screen, SpotScreen):
            self.push_screen(SpotScreen())

    def action_judge_evals(self) -> None:
        """Stored judge evaluations and their disagreements (command palette "Judge evaluations")."""
        from scsafety_tui.tui.screens.judge_evals import JudgeEvalScreen

        if not isinstance(self.screen, JudgeEvalScreen):
            self.push_screen(JudgeEvalScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Spot check", "One prompt (and a follow-up) against the chosen models, judged",
                            self.action_spot)
        yield SystemCommand("Sessions", "Saved sessions: search, leaderboards, replay, compare, labels",
                            self.action_sessions)
        yield SystemCommand("Judge evaluations", "Stored `judge eval` runs: each judge's disagreements with the"
                            " gold labels, and each conversation", self.action_judge_evals)
